"""Pseudonymisation at write: what CdrTable holds about a driver (docs/privacy.md,
"Pseudonymisation"; docs/cdr-ingestion.md, table schema). Real-shaped payloads of both sources:
OIOI session-post (seed 002, `user` with an optional `token`) and Drive/EMP sessions (seeds 000,
001, 003) with the fields that can name a driver or their key."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from cdrfactory import drive, drive_session_text, oioi, session_post_text
from cdrfakes import TEST_PEPPER, InMemoryCdrStore, pseudonymise_for_tests

from backbone.cdr.ingest import Outcome, ingest_message
from backbone.cdr.models import Cdr, DriverType
from backbone.cdr.parse import parse_cdr
from backbone.cdr.ports import IngestDependencies
from backbone.cdr.pseudonymise import json_text, legacy_rewrite, pseudonymised
from backbone.oioi.wire import json_value
from backbone.privacy.cdr import is_pseudonymised
from backbone.privacy.pseudonym import is_pseudonym, pseudonym

UID = "04523022AA4881"
CONTRACT = "DE-8PS-C0CD0C002-Q"
TOKEN = "s3cr3t-login-token"


def stored(envelope: Any) -> dict[str, Any]:
    return pseudonymised(parse_cdr(envelope), pseudonymise_for_tests).to_item()


def strings(value: Any) -> list[str]:
    """Every string in an item, member names included, `raw` also parsed."""
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in (key, *strings(item))]
    if isinstance(value, list):
        return [text for item in value for text in strings(item)]
    return [value] if isinstance(value, str) else []


def holds(item: dict[str, Any], *identifiers: str) -> list[str]:
    """Where (outside `driverId`) an identifier appears in any spelling (case, separators)."""

    def squashed(text: str) -> str:
        return text.replace("-", "").replace("*", "").upper().lstrip("0")

    others = {name: value for name, value in item.items() if name != "driverId"}
    texts = strings(others) + strings(json.loads(item["raw"]))
    return [text for text in texts for ident in identifiers if squashed(ident) in squashed(text)]


def test_given_an_oioi_session_post_then_the_item_holds_the_identifier_only_in_driver_id() -> None:
    raw = session_post_text(uid=UID, energy="16.50", extra={"user-note": None})
    raw = raw.replace('"identifier-type": "rfid"}', f'"identifier-type": "rfid", "token": "{TOKEN}"}}')

    item = stored(oioi(raw))

    expected = pseudonym(TEST_PEPPER, f"rfid#{UID}")
    assert (item["driverId"], item["driverHash"], item["driverKey"]) == (UID, expected, f"rfid#{expected}")
    assert holds(item, UID, TOKEN) == []
    user = json.loads(item["raw"])["user"]
    assert user == {"identifier": expected, "identifier-type": "rfid"}  # the token is never stored
    assert '"energy-consumed":16.50' in item["raw"]  # the partner's number spelling is kept
    assert '"user-note":null' in item["raw"]


@pytest.mark.parametrize(
    ("one", "other", "kind"),
    [
        ("04523022AA4881", "4523022aa4881", "rfid"),
        (CONTRACT, "de8psc0cd0c002q", "evco-id"),
    ],
)
def test_given_one_driver_in_two_spellings_then_both_cdrs_get_one_pseudonym(
    one: str, other: str, kind: str
) -> None:
    first = stored(oioi(session_post_text("S-1", uid=one, identifier_type=kind)))
    second = stored(oioi(session_post_text("S-2", uid=other, identifier_type=kind)))

    assert first["driverHash"] == second["driverHash"]
    assert first["driverKey"] == second["driverKey"] == f"{kind}#{first['driverHash']}"
    assert json.loads(first["raw"])["user"]["identifier"] == first["driverHash"]


def test_given_the_whole_request_body_as_raw_then_the_identifier_inside_is_replaced() -> None:
    wrapped = '{"session-post": ' + session_post_text(uid=UID) + "}"

    item = stored(oioi(wrapped))

    assert holds(item, UID) == []
    assert json.loads(item["raw"])["session-post"]["user"]["identifier"] == item["driverHash"]


def test_given_a_drive_session_then_the_user_id_is_only_in_driver_id_and_key_fields_are_replaced() -> None:
    # A Drive/EMP session names no user by itself (seeds 000/001); partners add key data, and
    # whatever names the driver or their key is replaced wherever it appears.
    session = json.loads(drive_session_text())
    session |= {
        "userId": "ourTestUser",
        "keyIdentifier": "3633e0e0",
        "chargingKey": {"uid": "E0E03336", "visualNumber": "VN-1234-5678", "contract_id": CONTRACT},
        "emaid": "DE8PSC0CD0C002Q",
    }

    item = stored(drive(json.dumps(session), user_id="ourTestUser"))

    expected = pseudonym(TEST_PEPPER, "drive-user#ourTestUser")
    assert (item["driverType"], item["driverId"], item["driverHash"]) == (
        "drive-user",
        "ourTestUser",
        expected,
    )
    assert item["driverKey"] == f"drive-user#{expected}"
    assert holds(item, "ourTestUser", "3633e0e0", "E0E03336", "VN-1234-5678", CONTRACT) == []
    kept = json.loads(item["raw"])
    assert kept["chargingKey"] == {"uid": expected, "visualNumber": expected, "contract_id": expected}
    assert kept["charger"]["evseId"] == "NO*XXX*EZzZ220218114136937169*1"  # not personal: kept


def test_given_a_drive_session_without_a_user_then_key_fields_are_still_replaced_and_nothing_indexed() -> (
    None
):
    session = json.loads(drive_session_text()) | {"keyIdentifier": "3633e0e0"}

    item = stored(drive(json.dumps(session), user_id=None))

    assert not {"driverId", "driverKey", "driverHash"} & item.keys()
    assert holds(item, "3633e0e0") == []
    assert is_pseudonym(json.loads(item["raw"])["keyIdentifier"])


@pytest.mark.parametrize(
    "user",
    [
        {"identifier": UID, "identifier-type": "fingerprint"},  # unknown type: flagged, no driver
        {"identifier": "x" * 1100, "identifier-type": "rfid"},  # too long for an index key
        UID,  # not an object
    ],
)
def test_given_a_driver_intake_cannot_read_then_raw_still_holds_no_identifier(user: Any) -> None:
    raw = json.loads(session_post_text()) | {"user": user}

    cdr = parse_cdr(oioi(json.dumps(raw)))
    item = pseudonymised(cdr, pseudonymise_for_tests).to_item()

    assert cdr.driver is None
    assert cdr.needs_review
    assert "driverKey" not in item
    assert holds(item, UID, "x" * 1100) == []


def test_given_pseudonymisation_then_the_payload_hash_and_billing_fields_are_the_parsers() -> None:
    parsed = parse_cdr(oioi(session_post_text(uid=UID)))

    written = pseudonymised(parsed, pseudonymise_for_tests)

    assert written.payload_hash == parsed.payload_hash
    assert written.model_dump(exclude={"raw", "driver"}) == parsed.model_dump(exclude={"raw", "driver"})
    assert written.driver is not None
    assert parsed.driver is not None
    assert (written.driver.type, written.driver.id) == (DriverType.RFID, UID)


def test_given_a_stored_cdr_when_redelivered_then_duplicate_also_after_the_retention_purge(
    store: InMemoryCdrStore, deps: IngestDependencies
) -> None:
    envelope = oioi(session_post_text(uid=UID))
    assert ingest_message(envelope, deps, "m-1") is Outcome.CREATED
    assert ingest_message(envelope, deps, "m-2") is Outcome.DUPLICATE

    [item] = store.items.values()
    item["driverId"] = item["driverHash"]  # backbone.privacy.cdr.pseudonymise_update
    assert is_pseudonymised(item)

    assert ingest_message(envelope, deps, "m-3") is Outcome.DUPLICATE
    assert store.writes == 1


def test_given_the_pepper_unavailable_then_the_record_fails_and_nothing_is_stored(
    store: InMemoryCdrStore, deps: IngestDependencies
) -> None:
    def unavailable(identifier: str) -> str:
        raise ConnectionError("secrets manager unreachable")

    broken = IngestDependencies(store=store, dead_letters=deps.dead_letters, pseudonymise=unavailable)

    with pytest.raises(ConnectionError):  # SQS delivers it again; never stored in the clear
        ingest_message(oioi(session_post_text()), broken, "m-1")
    assert store.items == {}


@pytest.mark.parametrize(
    "text",
    [
        '{"a":16.50,"b":1E+2,"c":-0,"d":[1,2.0,null,true],"e":"Zoë"}',
        '{"z":1,"a":{"nested":"\\u00e9"}}',
    ],
)
def test_json_text_keeps_member_order_and_number_spelling(text: str) -> None:
    value = json_value(text)

    written = json_text(value)

    assert json_value(written) == value
    assert list(json.loads(written, parse_float=Decimal)) == list(value)
    assert "16.50" in written or '"z":1' in written


def test_json_text_escapes_a_lone_surrogate_so_the_item_stays_storable() -> None:
    written = json_text(json_value('{"note":"\\ud800"}'))

    assert written == '{"note":"\\ud800"}'
    written.encode("utf-8")


def test_a_cdr_without_a_pseudonym_has_no_driver_key() -> None:
    parsed: Cdr = parse_cdr(oioi(session_post_text(uid=UID)))

    item = parsed.to_item()

    assert "driverKey" not in item  # never a raw id in the ByDriver index


def legacy_item(raw: str) -> dict[str, Any]:
    """An item as ingestion wrote it before pseudonymisation at write."""
    cdr = parse_cdr(oioi(raw))
    item = cdr.to_item()
    if cdr.driver is not None:
        item["driverKey"] = cdr.driver.key
    return item


def applied(item: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    names, values = update["ExpressionAttributeNames"], update["ExpressionAttributeValues"]
    sets = update["UpdateExpression"].removeprefix("SET ").split(", ")
    return item | {names[name]: values[value]["S"] for name, value in (part.split(" = ") for part in sets)}


def test_given_a_legacy_item_then_its_rewrite_leaves_the_raw_id_only_in_driver_id_and_is_done_once() -> None:
    raw = session_post_text(uid=UID).replace(
        '"identifier-type": "rfid"}', f'"identifier-type": "rfid", "token": "{TOKEN}"}}'
    )
    legacy = legacy_item(raw)
    assert holds(legacy, UID) != []

    update = legacy_rewrite(legacy, pseudonymise_for_tests)
    assert update is not None
    rewritten = applied(legacy, update)

    assert rewritten == stored(oioi(raw))  # as if written today
    assert holds(rewritten, UID, TOKEN) == []
    assert set(update["ExpressionAttributeNames"].values()) == {
        "driverHash",
        "driverKey",
        "raw",
        "payloadHash",
    }
    assert legacy_rewrite(rewritten, pseudonymise_for_tests) is None


def test_given_an_item_written_today_or_without_a_driver_then_there_is_nothing_to_rewrite() -> None:
    assert legacy_rewrite(stored(oioi(session_post_text())), pseudonymise_for_tests) is None
    flagged = json.loads(session_post_text()) | {
        "user": {"identifier": UID, "identifier-type": "fingerprint"}
    }
    written_today = stored(oioi(json.dumps(flagged)))
    assert legacy_rewrite(written_today, pseudonymise_for_tests) is None  # redacting twice changes nothing
