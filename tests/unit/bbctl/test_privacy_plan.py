"""The erasure plan of `bbctl privacy` (pure): which record holds a driver, and what erasing does
to it. Items are shaped as the tables store them (docs/cdr-ingestion.md, docs/charging-keys.md,
docs/session-poller.md, docs/key-orders.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from backbone.cdr.models import DriverType
from backbone.oioi.identifiers import uid_to_key_identifier
from backbone.privacy.pseudonym import pseudonym
from bbctl.privacy_plan import (
    Action,
    Operation,
    Subject,
    driver_key,
    plan_audit_attempt,
    plan_audit_list,
    plan_cdr,
    plan_drive_order,
    plan_emp_order,
    plan_key,
    plan_session,
    plugsurfing_requests,
    redact,
)

PEPPER = "p" * 40
UID = "04523022AA4881"
OTHER_UID = "0477BD22AA4880"
AT = "2026-06-01T00:00:00.000Z"
ALIAS = pseudonym(PEPPER, f"rfid#{UID}")


def subject(*keys: str) -> Subject:
    return Subject.of(PEPPER, keys or (f"rfid#{UID}",))


def cdr_item(*, driver_id: str = UID, legacy: bool = False, **extra: Any) -> dict[str, Any]:
    """A FINAL CDR as ingestion stores it: after pseudonymisation at write by default (driverKey
    and raw hold the pseudonym), or as stored before it (`legacy`: raw id everywhere)."""
    shown = driver_id if legacy else pseudonym(PEPPER, f"rfid#{driver_id}")
    item = {
        "pk": "cpo-1#S-1",
        "sk": "CDR",
        "kind": "CDR",
        "status": "FINAL",
        "partnerId": "cpo-1",
        "sessionId": "S-1",
        "payloadHash": "abc",
        "costAmount": Decimal("14.32"),
        "costCurrency": "EUR",
        "energyKwh": Decimal("16.5"),
        "driverType": "rfid",
        "driverId": driver_id,
        "driverKey": f"rfid#{shown}",
        "raw": f'{{"session-post": {{"user": {{"identifier": "{shown.lower() if legacy else shown}"}}}}}}',
    }
    if not legacy:
        item["driverHash"] = pseudonym(PEPPER, f"rfid#{driver_id}")
    return item | extra


@pytest.mark.parametrize("spelling", [UID, UID.lower(), UID.lstrip("0"), f" {UID.lower().lstrip('0')} "])
def test_given_a_uid_in_any_spelling_ingestion_accepts_then_it_names_the_same_driver(spelling: str) -> None:
    assert Subject.of(PEPPER, [driver_key(DriverType.RFID, spelling)]).pseudonyms == {ALIAS}


def test_given_a_contract_id_with_or_without_separators_then_it_names_the_same_driver() -> None:
    assert driver_key(DriverType.EVCO_ID, "de-8ps-c0cd0c002-q") == driver_key(
        DriverType.EVCO_ID, "DE8PSC0CD0C002Q"
    )


def test_given_a_cdr_pseudonymised_at_write_then_erase_replaces_only_the_driver_id() -> None:
    step = plan_cdr(cdr_item(), subject(), AT)

    assert step is not None
    assert (step.action, step.operation) == (Action.PSEUDONYMISE, Operation.UPDATE)
    assert step.update is not None
    touched = set(step.update["ExpressionAttributeNames"].values())
    assert touched == {"driverId", "driverHash", "pseudonymisedAt"}  # billing fields and payloadHash stay
    assert step.update["ExpressionAttributeValues"][":pseudonym"] == {"S": ALIAS}


def test_given_a_cdr_stored_before_pseudonymisation_then_index_key_and_payload_lose_the_uid_too() -> None:
    item = cdr_item(
        legacy=True, raw=f'{{"user": {{"identifier": "{UID.lower().lstrip("0")}"}}, "other": "{UID}"}}'
    )

    step = plan_cdr(item, subject(), AT)

    assert step is not None
    assert step.update is not None
    names, values = step.update["ExpressionAttributeNames"], step.update["ExpressionAttributeValues"]
    written = {names[f"#legacy{n}"]: values[f":legacy{n}"]["S"] for n in range(2)}
    assert written["driverKey"] == f"rfid#{ALIAS}"
    assert UID.lstrip("0").lower() not in written["raw"].lower()
    assert written["raw"].count(ALIAS) == 2


def test_given_a_cdr_already_pseudonymised_then_it_is_found_and_left_alone() -> None:
    item = cdr_item() | {"driverId": ALIAS, "pseudonymisedAt": AT}

    step = plan_cdr(item, subject(), AT)

    assert step is not None
    assert step.action is Action.DONE
    assert not step.changes


def test_given_a_cdr_of_another_driver_then_it_is_not_the_subjects() -> None:
    assert plan_cdr(cdr_item(driver_id=OTHER_UID), subject(), AT) is None
    assert plan_cdr(cdr_item(driver_id=OTHER_UID, legacy=True), subject(), AT) is None


def test_given_only_the_ledgers_pseudonyms_then_the_same_records_are_found_as_with_the_uid() -> None:
    """What replay has after a restore: no raw identifier, only the pseudonyms."""
    from_ledger = Subject(PEPPER, frozenset({ALIAS}))

    for item in (cdr_item(), cdr_item(legacy=True)):
        assert plan_cdr(item, from_ledger, AT) == plan_cdr(item, subject(), AT)
    assert plan_key({"uid": UID}, from_ledger) is not None


def test_given_a_key_owned_by_the_user_then_it_is_deleted_whichever_identifier_was_named() -> None:
    key = {"uid": OTHER_UID, "ownerId": "user-7", "ownerType": "user", "contractId": "DE-8PS-C0CD0C002-Q"}

    by_user = plan_key(key, subject("drive-user#user-7"))
    by_contract = plan_key(key, subject(driver_key(DriverType.EVCO_ID, "de8psc0cd0c002q")))

    assert by_user is not None
    assert (by_user.action, by_user.operation) == (Action.DELETE, Operation.DELETE)
    assert by_contract is not None
    assert (
        plan_key(key | {"ownerType": "fleet"}, subject("drive-user#user-7")) is None
    )  # a fleet is not the user


@pytest.mark.parametrize(
    ("status", "balance", "action"),
    [
        ("STARTED", None, Action.WAIT),
        ("COMPLETE", "PROCESSING", Action.WAIT),
        ("COMPLETE", "PAID", Action.DELETE),
    ],
)
def test_given_a_session_then_it_is_deleted_once_settled_and_waits_while_running(
    status: str, balance: str | None, action: Action
) -> None:
    # EMP sessions name the key little-endian (keyIdentifier), as Plugsurfing's API does.
    item = {"requestId": "r-1", "keyIdentifier": uid_to_key_identifier(UID), "status": status}
    if balance:
        item["balanceStatus"] = balance

    step = plan_session(item, subject())

    assert step is not None
    assert step.action is action
    assert step.changes is (action is Action.DELETE)


def test_given_a_drive_order_then_address_is_blanked_once_settled_and_the_order_kept() -> None:
    order = {
        "requestId": "req-1",
        "userId": "user-7",
        "address": {"firstName": "Ada", "addressLine1": "Main St 1"},
        "paymentOptionId": "pay-1",
        "state": "ORDERED",
    }
    driver = subject("drive-user#user-7")

    waiting = plan_drive_order(order, driver, AT)
    blanked = plan_drive_order(order | {"state": "CLOSED"}, driver, AT)
    erased = {"requestId": "req-1", "userId": pseudonym(PEPPER, "drive-user#user-7"), "address": {}}
    done = plan_drive_order(erased | {"state": "CLOSED"}, driver, AT)

    assert waiting is not None
    assert waiting.action is Action.WAIT
    assert not waiting.changes
    assert blanked is not None
    assert blanked.action is Action.BLANK
    assert blanked.update is not None
    assert blanked.update["ExpressionAttributeValues"][":blank"] == {"M": {}}
    assert "REMOVE #payment" in blanked.update["UpdateExpression"]
    assert done is not None
    assert done.action is Action.DONE


def test_given_an_emp_order_then_the_address_is_blanked_only_when_every_key_is_the_drivers() -> None:
    own = {"pk": "ORDER#o-1", "orderId": "o-1", "address": {"name": "Ada"}, "keys": [{"uid": UID}]}
    shared = own | {"keys": [{"uid": UID}, {"uid": OTHER_UID}]}

    alone = plan_emp_order(own, subject(), AT)
    fleet = plan_emp_order(shared, subject(), AT)

    assert alone is not None
    assert alone.action is Action.BLANK
    assert alone.update is not None
    assert "#address = :blank" in alone.update["UpdateExpression"]
    assert fleet is not None
    assert fleet.action is Action.PSEUDONYMISE
    assert fleet.update is not None
    assert "#address" not in fleet.update["UpdateExpression"]
    keys = fleet.update["ExpressionAttributeValues"][":keys"]["L"]
    assert [key["M"]["uid"]["S"] for key in keys] == [ALIAS, OTHER_UID]


def test_given_whitelist_audit_lists_then_the_uid_is_removed_in_any_spelling_and_others_kept() -> None:
    step = plan_audit_list("2026-05-01T00:00:00.000Z#a1", [OTHER_UID, UID, "AABBCCDD"], subject())
    untouched = plan_audit_list("2026-05-01T00:00:00.000Z#a2", [OTHER_UID], subject())
    attempt = plan_audit_attempt(
        {"pk": "PUSH", "sk": "k", "skipped": [{"uid": UID.lower(), "kind": "duplicate", "reason": "r"}]},
        subject(),
    )

    assert step is not None
    assert step.uids == (OTHER_UID, "AABBCCDD")
    assert untouched is None
    assert attempt is not None
    assert attempt.update is not None
    assert attempt.update["ExpressionAttributeValues"][":kept"] == {"L": []}


def test_given_findings_then_plugsurfing_is_asked_for_the_user_the_keys_and_its_cdr_copies() -> None:
    steps = [step for step in [plan_cdr(cdr_item(), subject(), AT)] if step]
    keys = [{"uid": UID, "keyIdentifier": "8148aa22305204", "visualNumber": "V-1"}]

    requests = plugsurfing_requests(steps, keys, ["user-7"])

    assert any("delete user user-7" in request for request in requests)
    assert any("8148aa22305204" in request and "V-1" in request for request in requests)
    assert any("cpo-1#S-1" in request for request in requests)


@pytest.mark.parametrize(
    ("kind", "identifier", "text", "expected"),
    [
        (
            DriverType.RFID,
            UID,
            '{"id": "4523022aa4881", "evse": "DE*8PS*E04523022AA48810"}',
            '{"id": "A", "evse": "DE*8PS*E04523022AA48810"}',
        ),
        (DriverType.EVCO_ID, "DE8PSC0CD0C002Q", '{"id": "de-8ps-c0cd0c002-q"}', '{"id": "A"}'),
        (
            DriverType.USERNAME,
            "bob",
            '{"identifier": "bob", "note": "bobcat"}',
            '{"identifier": "A", "note": "bobcat"}',
        ),
    ],
)
def test_given_a_stored_payload_then_only_the_identifier_in_its_spellings_is_replaced(
    kind: DriverType, identifier: str, text: str, expected: str
) -> None:
    assert redact(text, kind, identifier, "A") == expected
