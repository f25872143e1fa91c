"""The endpoint's contract, body in, answer out (in-memory data access): the spec's examples get
the spec's answers; every malformed, unknown, unaccepted or unauthorised body gets the right
status and code and writes nothing."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from receiverfakes import (
    CALLER,
    FakeBackends,
    FakeChargingKeys,
    result,
    seed_json,
    seed_response,
    seed_text,
    send,
    staging_keys,
)

from backbone.keys.models import ChargingKey, KeyState
from backbone.oioi.models import OIOI_MESSAGE_NAMES
from backbone.oioi.wire import MalformedMessage
from backbone.receiver.access import Caller
from backbone.receiver.dispatch import ACCEPTED_MESSAGES, MAX_BODY_BYTES, event_body, member_text
from backbone.receiver.responses import error_answer

SEED_UID = "12345678ABCDEF"  # the rfid-verify example's UID


def live_seed_station() -> dict[str, Any]:
    """The station-post example as a live station (the example itself deletes it)."""
    document = seed_json("station-post")
    document["station-post"]["station"]["deleted"] = False
    return document


def with_seed_uid() -> FakeBackends:
    seed_key = ChargingKey(
        uid=SEED_UID, keyIdentifier="efcdab78563412", visualNumber="DE-8PS-000003-5", enabled=True,
        state=KeyState.ACTIVE,
    )  # fmt: skip
    return FakeBackends(charging_keys=FakeChargingKeys([*staging_keys(), seed_key.to_item()]))


# --- The spec's examples ------------------------------------------------------------------------


@pytest.mark.parametrize("message", ["rfid-verify", "session-post", "station-post"])
def test_given_the_spec_example_when_received_then_the_answer_is_the_spec_example_response(
    message: str,
) -> None:
    answer = send(with_seed_uid(), seed_text(message))
    assert answer.status == 200
    assert answer.body == seed_response(message)


def test_given_the_example_station_pushed_when_its_connector_status_example_arrives_then_success() -> None:
    backends = FakeBackends()
    assert result(send(backends, live_seed_station())) == (200, 0)
    answer = send(backends, seed_text("connector-post-status"))
    assert (answer.status, answer.body) == (200, seed_response("connector-post-status"))
    assert backends.stations.connectors["DE*8PS*E123456"].status == "Available"


def test_given_extra_fields_anywhere_then_they_are_accepted() -> None:
    """The spec: new optional fields may be added at any time; receivers must accept them."""
    document = seed_json("session-post")
    document["session-post"]["x-future"] = {"nested": [1, 2.5]}
    document["session-post"]["user"]["x-future"] = True
    assert result(send(FakeBackends(), document)) == (200, 0)


# --- Refusals -----------------------------------------------------------------------------------

REFUSALS: list[tuple[str, Any, int, int, str]] = [
    ("not JSON", '{"rfid-verify": {"rfid": "04523022AA4881"}', 400, 230, "not valid JSON"),
    ("empty body", "", 400, 230, "not valid JSON"),
    ("JSON array", "[]", 400, 230, "exactly one message"),
    ("no message", "{}", 400, 230, "exactly one message"),
    (
        "two messages",
        {"rfid-verify": {"rfid": "04523022AA4881"}, **seed_json("session-post")},
        400, 230, "exactly one message",
    ),
    (
        "one message twice",
        '{"rfid-verify": {"rfid": "0477BD22AA4AAA"}, "rfid-verify": {"rfid": "04523022AA4881"}}',
        400, 230, "exactly one message",
    ),
    ("unknown message", {"rfid-check": {"rfid": "04523022AA4881"}}, 400, 230, "unknown message 'rfid-check'"),
    ("message not an object", {"rfid-verify": "04523022AA4881"}, 400, 230, "must be a JSON object"),
    ("missing field", {"rfid-verify": {}}, 400, 230, "rfid-verify.rfid"),
    ("wrong type", {"rfid-verify": {"rfid": 4523022}}, 400, 230, "rfid-verify.rfid"),
    ("bad UID", {"rfid-verify": {"rfid": "04523022AA48ZZ"}}, 400, 230, "rfid-verify.rfid"),
    ("UID too long", {"rfid-verify": {"rfid": "0" * 21}}, 400, 230, "rfid-verify.rfid"),
    ("bad EVSE ID", {"connector-post-status": {**seed_json("connector-post-status")["connector-post-status"],
                                              "connector-id": "1356"}}, 400, 230, "connector-id"),
    ("bad status", {"connector-post-status": {**seed_json("connector-post-status")["connector-post-status"],
                                             "status": "Charging"}}, 400, 230, "status"),
    ("NaN", '{"session-post": {"energy-consumed": NaN}}', 400, 230, "not valid JSON"),
    ("BOM", "\ufeff" + seed_text("rfid-verify"), 400, 230, "not valid JSON"),
    ("not UTF-8", b'{"rfid-verify": {"rfid": "\xff04523022AA4881"}}', 400, 230, "not UTF-8"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "request_body", "status", "code", "error"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_given_a_bad_body_then_400_code_230_names_the_problem_and_nothing_is_written(
    case: str, request_body: Any, status: int, code: int, error: str
) -> None:
    backends = FakeBackends()
    before = backends.snapshot()
    answer = send(backends, request_body)
    assert result(answer) == (status, code), answer.body
    assert error in answer.body["error"]
    assert answer.body["result"]["message"]
    assert backends.snapshot() == before


@pytest.mark.parametrize(
    "message", ["rfid-post", "session-start", "session-stop", "user-verify", "station-get-by-ids"]
)
def test_given_a_message_we_do_not_receive_then_400_code_220_says_it_is_not_accepted(message: str) -> None:
    request_body = (
        seed_text(message) if message in ("rfid-post", "session-start", "session-stop") else {message: {}}
    )
    answer = send(FakeBackends(), request_body)
    assert result(answer) == (400, 220)
    assert f"{message} is not accepted by this endpoint" in answer.body["error"]


def test_given_a_key_not_allowed_the_message_then_403_code_220_and_nothing_is_written() -> None:
    backends = FakeBackends()
    before = backends.snapshot()
    session_only = Caller(
        CALLER.partner_id, CALLER.key_id, frozenset({"session-post"}), CALLER.partner_identifiers
    )
    answer = send(backends, seed_text("rfid-verify"), caller=session_only)
    assert result(answer) == (403, 220)
    assert "rfid-verify" in answer.body["error"]
    assert backends.charging_keys.calls == 0
    assert backends.snapshot() == before


def test_given_no_authenticated_caller_then_401_code_210() -> None:
    backends = FakeBackends()
    assert result(send(backends, seed_text("rfid-verify"), caller=None)) == (401, 210)
    assert backends.charging_keys.calls == 0


def test_given_a_body_over_the_limit_then_413_and_nothing_is_written() -> None:
    document = seed_json("session-post")
    document["session-post"]["padding"] = "x" * MAX_BODY_BYTES
    backends = FakeBackends()
    answer = send(backends, document)
    assert result(answer) == (413, 230)
    assert backends.cdr_queue.sent == []


def test_given_an_unexpected_error_then_500_code_100_with_retry_after_and_no_internals() -> None:
    answer = error_answer(KeyError("secret-table-name"))
    assert result(answer) == (500, 100)
    assert answer.headers["Retry-After"]
    assert "secret-table-name" not in json.dumps(answer.body)


# --- Body plumbing ------------------------------------------------------------------------------


def test_given_a_base64_event_body_then_the_exact_bytes_are_read() -> None:
    raw = b'{"rfid-verify": {"rfid": "\xff"}}'
    assert event_body(base64.b64encode(raw).decode(), True) == raw
    with pytest.raises(MalformedMessage):
        event_body("not base64!", True)
    with pytest.raises(MalformedMessage, match="not UTF-8"):
        event_body('{"x": "\ud800"}', False)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(value=JSON, indent=st.sampled_from([None, 0, 2, "\t"]), key=st.text(max_size=20))
@settings(max_examples=200, deadline=None)
def test_given_any_one_member_object_then_member_text_is_the_exact_source_of_its_value(
    value: Any, indent: Any, key: str
) -> None:
    text = json.dumps({key: value}, indent=indent, ensure_ascii=False)
    inner = member_text(text)
    assert json.loads(inner) == value
    assert inner in text


# --- Fuzz: no 5xx, no exception, no write for a refused request ---------------------------------


def _mutated(data: st.DataObject) -> Any:
    """A spec example with one value replaced or removed, at any depth."""
    message = data.draw(st.sampled_from(sorted(ACCEPTED_MESSAGES | {"rfid-post", "session-start"})))
    document = copy.deepcopy(seed_json(message))
    node: Any = document
    while isinstance(node, dict | list) and node and data.draw(st.booleans()):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        child = data.draw(st.sampled_from(keys))
        if not isinstance(node[child], dict | list) or data.draw(st.booleans()):
            if isinstance(node, dict) and data.draw(st.booleans()):
                del node[child]
            else:
                node[child] = data.draw(JSON)
            break
        node = node[child]
    return document


@given(data=st.data())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_given_any_body_then_no_5xx_no_exception_and_no_write_unless_accepted(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(["bytes", "json", "mutated", "named"]))
    if kind == "bytes":
        request_body: Any = data.draw(st.binary(max_size=300))
    elif kind == "json":
        request_body = data.draw(JSON)
    elif kind == "named":
        names = st.sampled_from(sorted(OIOI_MESSAGE_NAMES)) | st.text(max_size=30)
        request_body = {data.draw(names): data.draw(JSON)}
    else:
        request_body = _mutated(data)
    backends = with_seed_uid()
    before = backends.snapshot()
    answer = send(backends, request_body)
    assert answer.status < 500, answer.body
    assert isinstance(answer.body["result"]["code"], int)
    if answer.status != 200:
        assert answer.body["error"]
        assert backends.snapshot() == before
