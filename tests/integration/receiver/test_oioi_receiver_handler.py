"""The receiver handler with API Gateway events against the template's tables and queue (moto):
the spec's answers, what gets written, and nothing written for a refused request."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from handler_oioi_receiver import handler
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oioiworld import STAGING_UIDS, World, seed_response, seed_text

from backbone.cdr.envelope import CdrEnvelope
from backbone.oioi.models import OIOI_MESSAGE_NAMES
from backbone.receiver.access import Caller

EventLoader = Callable[[str], Any]


def invoke(event: dict[str, Any], context: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    response = handler(event, context)
    headers = dict(response.get("headers") or {})
    headers |= {name: values[0] for name, values in (response.get("multiValueHeaders") or {}).items()}
    return response["statusCode"], json.loads(response["body"]), headers


def with_body(event: dict[str, Any], document: Any) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    changed["body"] = document if isinstance(document, str) else json.dumps(document)
    changed["isBase64Encoded"] = False
    return changed


def live_station() -> dict[str, Any]:
    document = json.loads(seed_text("station-post"))
    document["station-post"]["station"]["deleted"] = False
    return document


# --- The spec's examples ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["rfid-verify", "rfid-verify-base64", "session-post", "station-post"])
def test_given_a_spec_example_event_then_the_spec_answer(
    name: str, world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    status, body, headers = invoke(load_event(f"oioi/{name}.json"), lambda_context)
    assert (status, body) == (200, seed_response(name.removesuffix("-base64")))
    assert headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(("uid", "code"), sorted(STAGING_UIDS.items()))
def test_given_the_staging_test_uids_then_0_192_191(
    uid: str, code: int, world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    event = with_body(load_event("oioi/rfid-verify.json"), {"rfid-verify": {"rfid": uid}})
    status, body, _ = invoke(event, lambda_context)
    assert (status, body["result"]["code"]) == (200, code)


def test_given_the_session_post_example_then_the_cdr_is_on_the_queue_verbatim(
    world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    invoke(load_event("oioi/session-post.json"), lambda_context)
    [message] = world.receive_cdrs()
    envelope = CdrEnvelope.model_validate_json(message)
    assert (envelope.source, envelope.partner_id) == ("oioi", "acme-cpo")
    assert envelope.raw in seed_text("session-post")
    assert json.loads(envelope.raw)["session-id"] == "abcdef-123456-abc123-456def"


def test_given_a_station_then_its_connector_status_example_is_recorded(
    world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    status, _, _ = invoke(with_body(load_event("oioi/station-post.json"), live_station()), lambda_context)
    assert status == 200
    status, body, _ = invoke(load_event("oioi/connector-post-status.json"), lambda_context)
    assert (status, body) == (200, seed_response("connector-post-status"))
    connector = world.table("StationsTable").get_item(Key={"pk": "CONNECTOR#DE*8PS*E123456"})["Item"]
    assert (connector["status"], connector["stationId"], connector["partnerId"]) == (
        "Available",
        "abcdef-12345",
        "acme-cpo",
    )
    assert connector["statusReceivedAt"]
    station = world.table("StationsTable").get_item(Key={"pk": "STATION#abcdef-12345"})["Item"]
    assert (station["version"], station["deleted"], station["station"]["cpo-id"]) == (1, False, "DE*8PS")


def test_given_a_station_posted_twice_then_the_stored_status_survives_and_the_version_moves(
    world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    station_event = with_body(load_event("oioi/station-post.json"), live_station())
    invoke(station_event, lambda_context)
    invoke(load_event("oioi/connector-post-status.json"), lambda_context)
    assert invoke(station_event, lambda_context)[0] == 200
    table = world.table("StationsTable")
    assert table.get_item(Key={"pk": "CONNECTOR#DE*8PS*E123456"})["Item"]["status"] == "Available"
    assert table.get_item(Key={"pk": "CONNECTOR#DE*8PS*E123457"})["Item"]["status"] == "Unknown"
    assert table.get_item(Key={"pk": "STATION#abcdef-12345"})["Item"]["version"] == 2


def test_given_changed_connectors_or_a_foreign_station_then_refused_and_unchanged(
    world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    station_event = with_body(load_event("oioi/station-post.json"), live_station())
    invoke(station_event, lambda_context)
    before = world.snapshot()
    changed = live_station()
    changed["station-post"]["station"]["connectors"].pop()
    status, body, _ = invoke(with_body(station_event, changed), lambda_context)
    assert (status, body["result"]["code"]) == (400, 230)
    foreign = copy.deepcopy(station_event)
    foreign["requestContext"]["authorizer"] = Caller(
        "other-cpo", "ffeeddccbbaa", frozenset({"station-post"}), frozenset({"1"})
    ).to_context()
    status, body, _ = invoke(foreign, lambda_context)
    assert (status, body["result"]["code"]) == (403, 211)
    assert world.snapshot() == before


@pytest.mark.parametrize("spelling", ["DE*8PSE123456", "de*8ps*e123456", "DE8PSE123456"])
def test_given_another_spelling_of_a_held_evse_id_then_another_partner_can_neither_claim_nor_address_it(
    spelling: str, world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    station_event = with_body(load_event("oioi/station-post.json"), live_station())
    invoke(station_event, lambda_context)
    before = world.snapshot()
    other = Caller(
        "other-cpo", "ffeeddccbbaa", frozenset({"station-post", "connector-post-status"}), frozenset({"1"})
    )
    claim = live_station()
    claim["station-post"]["station"]["id"] = "other-station"
    claim["station-post"]["station"]["connectors"] = [
        {**claim["station-post"]["station"]["connectors"][0], "id": spelling}
    ]
    claim_event = with_body(station_event, claim)
    claim_event["requestContext"]["authorizer"] = other.to_context()
    status_event = with_body(
        load_event("oioi/connector-post-status.json"),
        {"connector-post-status": {"connector-id": spelling, "status": "Offline", "partner-identifier": "1"}},
    )
    status_event["requestContext"]["authorizer"] = other.to_context()

    assert invoke(claim_event, lambda_context)[:1] == (400,)
    assert invoke(status_event, lambda_context)[0] == 404
    assert world.snapshot() == before


def test_given_deleted_true_then_the_connectors_stop_taking_status(
    world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    invoke(with_body(load_event("oioi/station-post.json"), live_station()), lambda_context)
    invoke(load_event("oioi/station-post.json"), lambda_context)  # the example: deleted true
    status, body, _ = invoke(load_event("oioi/connector-post-status.json"), lambda_context)
    assert (status, body["result"]["code"]) == (404, 181)
    connector = world.table("StationsTable").get_item(Key={"pk": "CONNECTOR#DE*8PS*E123456"})["Item"]
    assert (connector["deleted"], connector["status"]) == (True, "Unknown")


# --- Refusals -----------------------------------------------------------------------------------

ERRORS = [
    ("error-bad-json", 400, 230),
    ("error-two-messages", 400, 230),
    ("error-repeated-message", 400, 230),
    ("error-unknown-message", 400, 230),
    ("error-not-accepted", 400, 220),
    ("error-not-allowed", 403, 220),
    ("error-bad-uid", 400, 230),
    ("error-invalid-session-post", 400, 230),
    ("error-foreign-partner-identifier", 403, 211),
    ("error-not-utf8", 400, 230),
    ("error-message-not-object", 400, 230),
    ("error-empty-body", 400, 230),
    ("error-no-authorizer-context", 401, 210),
]


@pytest.mark.parametrize(("name", "status", "code"), ERRORS, ids=[e[0] for e in ERRORS])
def test_given_an_error_event_then_status_code_and_nothing_written(
    name: str, status: int, code: int, world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    before = world.snapshot()
    answered, body, _ = invoke(load_event(f"oioi/{name}.json"), lambda_context)
    assert (answered, body["result"]["code"]) == (status, code), body
    assert body["error"]
    assert world.snapshot() == before


def test_given_an_unknown_connector_then_404_code_181(
    world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    status, body, _ = invoke(load_event("oioi/connector-post-status.json"), lambda_context)
    assert (status, body["result"]["code"]) == (404, 181)
    assert world.items("StationsTable") == []


def test_given_another_route_then_an_oioi_shaped_404(
    world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    event = load_event("oioi/rfid-verify.json")
    event.update(httpMethod="GET", path="/api/v4/other", resource="/api/v4/other")
    status, body, _ = invoke(event, lambda_context)
    assert status == 404
    assert "POST /api/v4/request" in body["error"]


def test_given_the_queue_is_gone_then_session_post_answers_503_code_100_with_retry_after(
    world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    world.sqs.delete_queue(QueueUrl=world.resources["CdrQueue"])
    status, body, headers = invoke(load_event("oioi/session-post.json"), lambda_context)
    assert (status, body["result"]["code"]) == (503, 100)
    assert headers["Retry-After"] == "5"


def test_given_the_keys_table_is_gone_then_rfid_verify_fails_closed_with_503_code_100(
    world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    world.session.client("dynamodb").delete_table(TableName=world.resources["ChargingKeysTable"])
    status, body, _ = invoke(load_event("oioi/rfid-verify.json"), lambda_context)
    assert (status, body["result"]["code"]) == (503, 100)


# --- Values DynamoDB cannot hold, bodies nested without end ---------------------------------------


@pytest.mark.parametrize(
    ("place", "literal", "named"),
    [
        ("speed", "1e200", "station-post.station.connectors[0].speed"),
        ("total-parking", "1" + "0" * 100, "station-post.station.total-parking"),
        ("latitude", "1e-200", "station-post.station.latitude"),
        ("x-extra", "1e400", "station-post.station.x-extra"),
        ("x-extra", "1e999999", "station-post.station.x-extra"),
        ("floor-level", "1E+38", "station-post.station.floor-level"),  # an int of 39 digits once read
        ("x-extra", "0E-200", "station-post.station.x-extra"),
        ("id", '"' + "s" * 50_000 + '"', "station-post.station.id"),
        ("x-extra", "0." + "1" * 40, "station-post.station.x-extra"),
        ("name", '"\\ud800"', "station-post.station.name"),
    ],
)
def test_given_a_station_value_dynamodb_cannot_hold_then_400_code_230_names_it_and_nothing_is_written(
    place: str, literal: str, named: str, world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    station = live_station()
    target = station["station-post"]["station"]
    if place == "speed":
        target["connectors"][0]["speed"] = "@@"
    else:
        target[place] = "@@"
    body = json.dumps(station).replace('"@@"', literal)
    before = world.snapshot()

    status, answer, _ = invoke(with_body(load_event("oioi/station-post.json"), body), lambda_context)

    assert (status, answer["result"]["code"]) == (400, 230)
    assert named in answer["error"]
    assert world.snapshot() == before


@pytest.mark.parametrize("message", ["session-post", "station-post", "rfid-verify", "connector-post-status"])
def test_given_a_body_nested_1000_deep_then_400_code_230_says_so_and_nothing_is_written(
    message: str, world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    body = '{"' + message + '": {"x": ' + "[" * 1000 + "]" * 1000 + "}}"
    before = world.snapshot()

    status, answer, _ = invoke(with_body(load_event("oioi/rfid-verify.json"), body), lambda_context)

    assert (status, answer["result"]["code"]) == (400, 230)
    assert "nested" in answer["error"]
    assert world.snapshot() == before


# --- Fuzz through the handler -------------------------------------------------------------------


@given(data=st.data())
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_given_any_body_or_headers_then_no_5xx_and_no_write_unless_accepted(
    data: st.DataObject, world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    event = load_event("oioi/rfid-verify.json")
    raw = data.draw(
        st.binary(max_size=200)
        | st.builds(
            lambda name, payload: json.dumps({name: payload}).encode(),
            st.sampled_from(sorted(OIOI_MESSAGE_NAMES)) | st.text(max_size=20),
            st.dictionaries(st.text(max_size=12), st.text(max_size=12) | st.integers(), max_size=4),
        )
    )
    event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
    event["headers"] = data.draw(
        st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=40), max_size=5)
    )
    before = world.snapshot()
    status, body, _ = invoke(event, lambda_context)
    assert status < 500, body
    if status != 200:
        assert body["error"]
        assert world.snapshot() == before
