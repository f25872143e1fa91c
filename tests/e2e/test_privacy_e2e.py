"""A data-subject request end to end on the local stack: a driver with a key (`bbctl keys import`
and `assign`), CDRs (session-post over real HTTP, through CdrQueue and ingestion), a session and a
Drive key order is found with `bbctl privacy find` by a sloppy spelling of the UID, erased with
`bbctl privacy erase --apply`; afterwards find sees only pseudonymised records, the partner's CDR
billing totals are unchanged and a second erase changes nothing. docs/privacy.md, "Data-subject
requests", as a test."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import RunningStack
from oioimessages import session_post
from waiting import eventually

from backbone.oioi.identifiers import uid_to_key_identifier

pytestmark = pytest.mark.e2e

PARTNER_IDENTIFIER = "privacy-e2e-partner-identifier-0001"


def bbctl(stack: RunningStack, *argv: str) -> str:
    return str(stack.bbctl(*argv).stdout)


def cdr_items(stack: RunningStack, partner_id: str, session_ids: list[str]) -> list[dict[str, Any]]:
    """The current record of each session, read whole from CdrTable."""
    db = stack.boto3_client("dynamodb")
    keys = [{"pk": {"S": f"{partner_id}#{session}"}, "sk": {"S": "CDR"}} for session in session_ids]
    found = [
        db.get_item(TableName=stack.ref("CdrTable"), Key=key, ConsistentRead=True).get("Item") for key in keys
    ]
    return [item for item in found if item]


def billing_totals(items: list[dict[str, Any]]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for item in items:
        currency = item["costCurrency"]["S"]
        totals[currency] = totals.get(currency, Decimal(0)) + Decimal(item["costAmount"]["N"])
    return totals


def driver_items(stack: RunningStack, request_ids: list[str], uid: str) -> dict[str, Any]:
    """Everything of the driver outside CdrTable, as stored now."""
    db = stack.boto3_client("dynamodb")
    return {
        "key": db.get_item(TableName=stack.ref("ChargingKeysTable"), Key={"uid": {"S": uid}}).get("Item"),
        "session": db.get_item(
            TableName=stack.ref("SessionsTable"), Key={"requestId": {"S": request_ids[0]}}
        ).get("Item"),
        "order": db.get_item(
            TableName=stack.ref("DriveOrdersTable"), Key={"requestId": {"S": request_ids[1]}}
        ).get("Item"),
    }


def test_given_a_driver_with_key_cdrs_session_and_order_when_erased_then_only_pseudonyms_remain(
    stack: RunningStack, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:10].upper()
    uid, user = f"04{run}AA", f"privacy-user-{run.lower()}"
    sloppy = uid.lower().lstrip("0")  # as a partner or an operator might write it
    keys_file = tmp_path / "keys.csv"
    keys_file.write_text(f"uid,visual_number\n{uid},VN-{run}\n", encoding="utf-8")
    bbctl(stack, "keys", "import", str(keys_file))
    bbctl(stack, "keys", "assign", uid, "--user", user)
    created = bbctl(
        stack,
        "partners", "create", "--name", f"Privacy e2e {run}", "--partner-identifier", PARTNER_IDENTIFIER,
        "--messages", "session-post", "--force-shared-identifier", "--json",
    )  # fmt: skip
    api_key, partner_id = json.loads(created)["apiKey"], json.loads(created)["partnerId"]
    sessions = [f"privacy-{run}-{number}" for number in range(2)]
    for session_id, cost in zip(sessions, ("14.32", "3.10"), strict=True):
        answer = httpx.post(
            f"{stack.api_url}/api/v4/request",
            content=session_post(session_id, PARTNER_IDENTIFIER, identifier=sloppy, cost=cost),
            headers={"Authorization": f"key={api_key}", "Content-Type": "application/json"},
            timeout=60,
        )
        assert (answer.status_code, answer.json()["result"]["code"]) == (200, 0)
    before = eventually(
        lambda: (found := cdr_items(stack, partner_id, sessions)) and len(found) == 2 and found, "CDRs"
    )
    # A settled session of the key and a settled Drive key order of its user, as their functions
    # leave them (starting and ordering for real needs Drive mode and minutes of polling).
    request_ids = [f"privacy-session-{run}", f"privacy-order-{run}"]
    db = stack.boto3_client("dynamodb")
    db.put_item(
        TableName=stack.ref("SessionsTable"),
        Item={
            "requestId": {"S": request_ids[0]},
            "mode": {"S": "emp"},
            "keyIdentifier": {"S": uid_to_key_identifier(uid)},
            "status": {"S": "COMPLETE"},
            "balanceStatus": {"S": "PAID"},
            "evseId": {"S": "DE*8PS*ETABCD*1"},
        },
    )
    db.put_item(
        TableName=stack.ref("DriveOrdersTable"),
        Item={
            "requestId": {"S": request_ids[1]},
            "userId": {"S": user},
            "address": {"M": {"firstName": {"S": "Ada"}, "addressLine1": {"S": "Main St 1"}}},
            "taxationCountry": {"S": "DE"},
            "state": {"S": "CLOSED"},
            "createdAt": {"S": "2026-02-01T00:00:00.000Z"},
        },
    )

    found = json.loads(bbctl(stack, "privacy", "find", "--uid", sloppy, "--json"))
    assert sorted((r["table"], r["action"]) for r in found["records"] if r["table"] != "CdrTable") == [
        ("ChargingKeysTable", "delete"),
        ("DriveOrdersTable", "blank"),
        ("SessionsTable", "delete"),
    ]
    assert [r["action"] for r in found["records"] if r["table"] == "CdrTable"] == ["pseudonymise"] * 2
    assert any(f"delete user {user}" in request for request in found["plugsurfing"])

    dry = bbctl(stack, "privacy", "erase", "--uid", sloppy)
    assert "dry run: 5 record(s) would change" in dry
    assert cdr_items(stack, partner_id, sessions) == before

    bbctl(stack, "privacy", "erase", "--uid", sloppy, "--apply")

    after = cdr_items(stack, partner_id, sessions)
    assert billing_totals(after) == billing_totals(before) == {"EUR": Decimal("17.42")}
    assert not any(sloppy in json.dumps(item).lower() for item in after), "no trace of the UID in any CDR"
    assert all(item["driverId"]["S"].startswith("h1:") for item in after)
    rest = driver_items(stack, request_ids, uid)
    assert rest["key"] is None
    assert rest["session"] is None
    assert rest["order"]["address"] == {"M": {}}
    assert rest["order"]["userId"]["S"].startswith("h1:")
    again = json.loads(bbctl(stack, "privacy", "find", "--uid", sloppy, "--json"))
    assert {(r["table"], r["action"]) for r in again["records"]} == {
        ("CdrTable", "done"),
        ("DriveOrdersTable", "done"),
    }

    erased = (after, driver_items(stack, request_ids, uid))
    assert "nothing left to erase" in bbctl(stack, "privacy", "erase", "--uid", sloppy, "--apply")
    assert (cdr_items(stack, partner_id, sessions), driver_items(stack, request_ids, uid)) == erased
