"""rfid-verify, session-post and connector-post-status: what each answers and what it writes."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from receiverfakes import (
    INACTIVE_UID,
    NOW,
    OTHER_CALLER,
    UNKNOWN_UID,
    VALID_UID,
    FakeBackends,
    FakeCdrQueue,
    FakeChargingKeys,
    result,
    seed_json,
    seed_text,
    send,
    staging_keys,
)

from backbone.cdr.envelope import CdrEnvelope
from backbone.keys.models import ChargingKey, KeyState
from backbone.receiver.access import Caller


def verify(uid: str, backends: FakeBackends | None = None, **kwargs: Any) -> tuple[int, int]:
    return result(send(backends or FakeBackends(), {"rfid-verify": {"rfid": uid}}, **kwargs))


# --- rfid-verify --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uid", "code"),
    [(VALID_UID, 0), (INACTIVE_UID, 192), (UNKNOWN_UID, 191)],
    ids=["active", "inactive", "unknown"],
)
def test_given_the_staging_test_uids_when_verified_then_0_192_191(uid: str, code: int) -> None:
    assert verify(uid) == (200, code)


def _key(**fields: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "uid": "0011223344556677889A",
        "keyIdentifier": "9a78563412",
        "visualNumber": "DE-8PS-000009-9",
        "enabled": True,
        "state": KeyState.ACTIVE,
    }
    return ChargingKey(**(defaults | fields)).to_item()


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({}, 0),
        ({"hasPaymentMethod": False}, 193),
        ({"enabled": False}, 192),
        ({"state": KeyState.LOST}, 192),
        ({"state": KeyState.DISABLED, "enabled": False}, 192),
        ({"validTo": NOW - timedelta(seconds=1)}, 192),
        ({"validFrom": NOW + timedelta(days=1)}, 192),
        ({"validFrom": NOW - timedelta(days=1), "validTo": NOW + timedelta(days=1)}, 0),
    ],
    ids=["usable", "no-payment", "disabled", "lost", "blocked", "expired", "not-yet-valid", "in-window"],
)
def test_given_a_key_when_verified_then_its_state_and_validity_decide(
    fields: dict[str, Any], code: int
) -> None:
    backends = FakeBackends(charging_keys=FakeChargingKeys([_key(**fields)]))
    assert verify("0011223344556677889A", backends) == (200, code)


@pytest.mark.parametrize("written", ["04523022aa4881", " 04523022AA4881 ", "4523022AA4881"])
def test_given_a_uid_in_lax_form_then_it_is_normalised_before_the_lookup(written: str) -> None:
    assert verify(written) == (200, 0)


def test_when_verifying_then_exactly_one_lookup_is_made() -> None:
    backends = FakeBackends()
    verify(VALID_UID, backends)
    assert backends.charging_keys.calls == 1


def test_given_the_keys_table_fails_then_5xx_code_100_never_a_yes() -> None:
    backends = FakeBackends(charging_keys=FakeChargingKeys(staging_keys(), fail=True))
    answer = send(backends, {"rfid-verify": {"rfid": VALID_UID}})
    assert result(answer) == (503, 100)
    assert answer.headers["Retry-After"]


def test_given_a_corrupt_key_item_then_500_code_100_fail_closed() -> None:
    broken = {**_key(), "state": "SOMETHING_NEW"}
    backends = FakeBackends(charging_keys=FakeChargingKeys([broken]))
    assert verify("0011223344556677889A", backends) == (500, 100)


# --- session-post -------------------------------------------------------------------------------


def test_given_the_session_post_example_then_its_exact_text_is_queued_for_the_caller() -> None:
    backends = FakeBackends()
    text = seed_text("session-post")
    assert result(send(backends, text)) == (200, 0)
    [envelope] = backends.cdr_queue.sent
    assert (envelope.source, envelope.partner_id, envelope.received_at) == ("oioi", "acme-cpo", NOW)
    assert envelope.raw in text  # verbatim: indentation, offsets and number formats as sent
    assert json.loads(envelope.raw) == seed_json("session-post")["session-post"]
    assert CdrEnvelope.model_validate_json(envelope.to_message()) == envelope


def test_given_an_ongoing_session_without_stop_then_it_is_queued_too() -> None:
    document = seed_json("session-post")
    del document["session-post"]["session-interval"]["stop"]
    del document["session-post"]["charging-interval"]
    backends = FakeBackends()
    assert result(send(backends, document)) == (200, 0)
    assert len(backends.cdr_queue.sent) == 1


def test_given_a_partner_identifier_of_someone_else_then_403_code_211_and_nothing_queued() -> None:
    document = seed_json("session-post")
    document["session-post"]["partner-identifier"] = "other-identifier-000001"
    backends = FakeBackends()
    answer = send(backends, document)
    assert result(answer) == (403, 211)
    assert "session-post.partner-identifier" in answer.body["error"]
    assert backends.cdr_queue.sent == []


def test_given_the_queue_fails_then_5xx_code_100_so_the_partner_retries() -> None:
    backends = FakeBackends(cdr_queue=FakeCdrQueue(fail=True))
    answer = send(backends, seed_text("session-post"))
    assert result(answer) == (503, 100)
    assert answer.headers["Retry-After"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (("session-interval", "stop"), "2010-01-01T10:00:00+00:00"),  # before start
        (("calculated-cost", "currency"), "eur"),
        (("calculated-cost", "amount"), "0.68"),
        (("connector-id",), "DE8PS*E123456"),
        (("energy-consumed",), "1e999999"),
    ],
)
def test_given_a_sloppy_but_billable_session_post_then_0_and_it_is_queued(
    field: tuple[str, ...], value: str
) -> None:
    document = seed_json("session-post")
    *path, last = field
    parent = document["session-post"]
    for name in path:
        parent = parent[name]
    parent[last] = value
    backends = FakeBackends()
    assert result(send(backends, document)) == (200, 0)
    assert len(backends.cdr_queue.sent) == 1


@pytest.mark.parametrize(
    ("session_id", "reason"),
    [
        ("   ", "must not be empty"),
        ("S\x00", "control characters"),
        ("é" * 300, "512 bytes"),
        (None, "a string"),
    ],
)
def test_given_no_usable_session_id_then_400_code_230_names_it_and_nothing_is_queued(
    session_id: str | None, reason: str
) -> None:
    document = seed_json("session-post")
    document["session-post"]["session-id"] = session_id
    backends = FakeBackends()
    answer = send(backends, document)
    assert result(answer) == (400, 230)
    assert "session-post.session-id" in answer.body["error"]
    assert reason in answer.body["error"]
    assert backends.cdr_queue.sent == []


# --- connector-post-status ----------------------------------------------------------------------


def _station(deleted: bool = False) -> dict[str, Any]:
    document = seed_json("station-post")
    document["station-post"]["station"]["deleted"] = deleted
    return document


def _status(status: str = "Occupied", evse_id: str = "DE*8PS*E123456", partner_identifier: str = "1") -> Any:
    return {
        "connector-post-status": {
            "connector-id": evse_id,
            "status": status,
            "partner-identifier": partner_identifier,
        }
    }


@pytest.mark.parametrize("status", ["Available", "Occupied", "Offline", "Reserved", "Unknown"])
def test_given_a_pushed_station_when_a_status_arrives_then_it_is_recorded_with_its_time(status: str) -> None:
    backends = FakeBackends()
    send(backends, _station())
    assert result(send(backends, _status(status), now=NOW + timedelta(minutes=1))) == (200, 0)
    connector = backends.stations.connectors["DE*8PS*E123456"]
    assert (connector.status, connector.status_received_at) == (status, NOW + timedelta(minutes=1))


def test_given_an_unknown_connector_then_404_code_181() -> None:
    answer = send(FakeBackends(), _status())
    assert result(answer) == (404, 181)
    assert "station-post first" in answer.body["error"]


def test_given_another_partners_connector_then_181_and_its_status_is_untouched() -> None:
    backends = FakeBackends()
    send(backends, _station())
    other = Caller(OTHER_CALLER.partner_id, OTHER_CALLER.key_id, OTHER_CALLER.messages, frozenset({"1"}))
    assert result(send(backends, _status(), caller=other)) == (404, 181)
    assert backends.stations.connectors["DE*8PS*E123456"].status == "Unknown"


def test_given_a_deleted_station_then_its_connectors_take_no_status() -> None:
    backends = FakeBackends()
    send(backends, _station())
    send(backends, _station(deleted=True))
    assert result(send(backends, _status())) == (404, 181)


def test_given_a_foreign_partner_identifier_then_403_code_211() -> None:
    backends = FakeBackends()
    send(backends, _station())
    assert result(send(backends, _status(partner_identifier="other-identifier-000001"))) == (403, 211)


def test_given_an_older_request_arriving_late_then_it_does_not_overwrite_the_newer_status() -> None:
    backends = FakeBackends()
    send(backends, _station())
    send(backends, _status("Occupied"), now=NOW + timedelta(minutes=2))
    assert result(send(backends, _status("Available"), now=NOW + timedelta(minutes=1))) == (200, 0)
    assert backends.stations.connectors["DE*8PS*E123456"].status == "Occupied"
