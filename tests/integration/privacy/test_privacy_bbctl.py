"""`bbctl privacy find|erase|replay` against moto, across every table a driver can be in: a
driver with a key, CDRs (stored before and after pseudonymisation at write), sessions, a Drive and
an EMP key order and a whitelist push, beside another driver who must not be touched."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from boto3.dynamodb.conditions import Key

from backbone.aws.attributes import from_attributes
from backbone.aws.secrets import get_pepper
from backbone.billing.models import BillingRecord
from backbone.cdr.models import Cdr, CdrStatus, Cost, Driver, DriverType, RecordKind, StoredCdr
from backbone.oioi.identifiers import uid_to_key_identifier
from backbone.privacy.pseudonym import pseudonym
from backbone.whitelist.aws import AuditStore
from backbone.whitelist.models import Outcome, PushAttempt
from bbctl import Target
from bbctl.__main__ import main as bbctl
from bbctl.ops_privacy import PrivacyTables

UID = "04523022AA4881"
OTHER_UID = "0477BD22AA4880"
USER = "user-7"
STACK = "backbone-test"
TABLES = (
    "CdrTable",
    "ChargingKeysTable",
    "SessionsTable",
    "DriveOrdersTable",
    "OrdersTable",
    "WhitelistAuditTable",
    "ErasureLedgerTable",
)
Cli = Callable[..., str]


@pytest.fixture
def cli(
    resources: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Cli:
    monkeypatch.setattr(Target, "output", lambda self, key, logical_id: resources[logical_id])

    def run(*argv: str) -> str:
        capsys.readouterr()
        assert bbctl(["privacy", *argv, "--region", "eu-west-1", "--stack-name", STACK]) == 0
        return capsys.readouterr().out

    return run


@pytest.fixture
def pepper(aws: boto3.Session) -> Iterator[str]:
    parameters.clear_caches()
    yield get_pepper(f"{STACK}/privacy-pepper", max_age=0)
    parameters.clear_caches()


def cdr(session_id: str, uid: str, amount: str, pepper: str, *, at_write: bool = False) -> dict[str, Any]:
    """A FINAL CDR item as ingestion stores it; `at_write`: as pseudonymisation at write stores it
    (driverKey and raw hold the pseudonym), else as stored before that (raw id everywhere)."""
    alias = pseudonym(pepper, f"rfid#{uid}")
    shown = alias if at_write else uid.lower().lstrip("0")
    raw = json.dumps({"session-post": {"user": {"identifier": shown, "identifier-type": "rfid"}}})
    record = Cdr(
        partner_id="cpo-1",
        session_id=session_id,
        source="oioi",
        status=CdrStatus.FINAL,
        started_at=datetime(2026, 3, 1, 10, tzinfo=UTC),
        stopped_at=datetime(2026, 3, 1, 16, tzinfo=UTC),
        energy_kwh=Decimal("16.5"),
        cost=Cost(amount=Decimal(amount), currency="EUR"),
        driver=Driver(type=DriverType.RFID, id=uid, pseudonym=alias),
        evse_id="DE*8PS*ETABCD*1",
        received_at=datetime(2026, 3, 1, 16, 5, tzinfo=UTC),
        payload_hash=f"hash-{session_id}",
        raw=raw,
    )
    item = record.to_item()
    if at_write:
        item["driverKey"] = f"rfid#{alias}"
    return item


@pytest.fixture
def stored(aws: boto3.Session, resources: dict[str, str], pepper: str) -> None:
    db = aws.resource("dynamodb")
    cdrs = db.Table(resources["CdrTable"])
    for item in (
        cdr("S-1", UID, "14.32", pepper),
        cdr("S-2", UID, "3.10", pepper, at_write=True),
        cdr("S-9", OTHER_UID, "7.00", pepper),
    ):
        cdrs.put_item(Item=item)
    correction = cdr("S-1", UID, "15.00", pepper) | {
        "sk": "CORRECTION#hash-x",
        "kind": RecordKind.CORRECTION.value,
    }
    cdrs.put_item(Item=correction)
    keys = db.Table(resources["ChargingKeysTable"])
    keys.put_item(
        Item={
            "uid": UID,
            "keyIdentifier": uid_to_key_identifier(UID),
            "visualNumber": "V-1",
            "contractId": "DE-8PS-C0CD0C002-Q",
            "ownerId": USER,
            "ownerType": "user",
            "orderId": "o-1",
            "state": "ACTIVE",
            "name": "Ada's tag",
        }
    )
    keys.put_item(Item={"uid": OTHER_UID, "visualNumber": "V-9", "state": "ACTIVE", "ownerId": "user-9"})
    sessions = db.Table(resources["SessionsTable"])
    sessions.put_item(
        Item={"requestId": "r-1", "keyIdentifier": uid_to_key_identifier(UID), "status": "COMPLETE"}
        | {"balanceStatus": "PAID", "sessionId": "S-1", "evseId": "DE*8PS*ETABCD*1"}
    )
    sessions.put_item(Item={"requestId": "r-2", "userId": USER, "status": "STARTED"})
    sessions.put_item(Item={"requestId": "r-9", "userId": "user-9", "status": "COMPLETE"})
    db.Table(resources["DriveOrdersTable"]).put_item(
        Item={
            "requestId": "req-1",
            "userId": USER,
            "address": {"firstName": "Ada", "lastName": "Lovelace", "addressLine1": "Main St 1"},
            "paymentOptionId": "pay-1",
            "taxationCountry": "DE",
            "state": "CLOSED",
            "createdAt": "2026-02-01T00:00:00.000Z",
        }
    )
    db.Table(resources["OrdersTable"]).put_item(
        Item={
            "pk": "ORDER#o-1",
            "orderId": "o-1",
            "state": "ASSIGNED",
            "address": {"name": "Ada Lovelace", "street": "Main St 1"},
            "keys": [{"uid": UID, "visualNumber": "V-1"}],
        }
    )
    audit = AuditStore(db.Table(resources["WhitelistAuditTable"]))
    attempt = PushAttempt(
        key="2026-05-01T00:00:00.000Z#a1",
        at=datetime(2026, 5, 1, tzinfo=UTC),
        attemptId="a1",
        trigger="schedule",
        outcome=Outcome.SENT,
        message="sent",
        count=2,
        sha256="x",
    )
    audit.record_sent(attempt, [OTHER_UID, UID])


def snapshot(aws: boto3.Session, resources: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    client = aws.client("dynamodb")
    return {
        table: sorted(
            (from_attributes(item) for item in client.scan(TableName=resources[table])["Items"]), key=repr
        )
        for table in TABLES
    }


def holds_identifier(text: str) -> bool:
    lowered = text.lower()
    return UID.lower().lstrip("0") in lowered or USER in lowered or "lovelace" in lowered


def totals(items: list[dict[str, Any]]) -> dict[str, Decimal]:
    result: dict[str, Decimal] = {}
    for item in items:
        record = BillingRecord.from_stored(StoredCdr.from_item(item))
        key = f"{record.partner_id} {record.kind} {record.cost_currency}"
        result[key] = result.get(key, Decimal(0)) + Decimal(record.cost_amount or 0)
    return result


def test_given_a_driver_when_found_by_a_sloppy_uid_then_every_table_is_covered(
    stored: None, cli: Cli
) -> None:
    found = json.loads(cli("find", "--uid", UID.lower().lstrip("0"), "--json"))

    by_table: dict[str, list[str]] = {}
    for record in found["records"]:
        by_table.setdefault(record["table"], []).append(record["action"])
    assert by_table == {
        "CdrTable": ["pseudonymise"] * 3,
        "SessionsTable": ["delete", "wait"],  # r-2 found through the key's owner; still running
        "DriveOrdersTable": ["blank"],
        "OrdersTable": ["blank"],
        "WhitelistAuditTable": ["rewrite"],
        "ChargingKeysTable": ["delete"],
    }
    requests = "\n".join(found["plugsurfing"])
    assert f"delete user {USER}" in requests
    assert uid_to_key_identifier(UID) in requests
    assert {queue["queue"].rsplit("-", 1)[-1] for queue in found["deadLetters"]} >= {"CdrDeadLetterQueue"}


def test_given_a_dry_run_then_nothing_changes(
    stored: None, cli: Cli, aws: boto3.Session, resources: dict[str, str]
) -> None:
    before = snapshot(aws, resources)

    printed = cli("erase", "--user-id", USER)

    assert "dry run: 8 record(s) would change" in printed
    assert snapshot(aws, resources) == before


def test_given_an_erasure_then_only_pseudonymised_records_remain_and_billing_totals_are_unchanged(
    stored: None, cli: Cli, aws: boto3.Session, resources: dict[str, str], pepper: str
) -> None:
    before = snapshot(aws, resources)

    cli("erase", "--uid", UID, "--apply")

    after = snapshot(aws, resources)
    assert totals(after["CdrTable"]) == totals(before["CdrTable"])
    theirs = [item for item in after["CdrTable"] if item["sessionId"] != "S-9"]
    alias = pseudonym(pepper, f"rfid#{UID}")
    assert {(item["driverId"], item["driverKey"]) for item in theirs} == {(alias, f"rfid#{alias}")}
    assert not any(holds_identifier(json.dumps(item, default=str)) for item in theirs)
    assert [item["uid"] for item in after["ChargingKeysTable"]] == [OTHER_UID]
    assert [item["requestId"] for item in after["SessionsTable"]] == ["r-2", "r-9"]  # r-2 still running
    [order] = after["DriveOrdersTable"]
    assert (order["address"], order["state"], "paymentOptionId" in order) == ({}, "CLOSED", False)
    [emp_order] = after["OrdersTable"]
    assert (emp_order["address"], emp_order["keys"][0]["uid"]) == ({}, alias)
    audit = AuditStore(aws.resource("dynamodb").Table(resources["WhitelistAuditTable"]))
    assert audit.list_of("2026-05-01T00:00:00.000Z#a1") == [OTHER_UID]
    [entry] = after["ErasureLedgerTable"]
    assert entry["status"] == "DONE"
    assert alias in entry["pseudonyms"]
    assert not holds_identifier(json.dumps(entry, default=str))
    untouched = [item for item in after["CdrTable"] if item["sessionId"] == "S-9"]
    assert untouched == [item for item in before["CdrTable"] if item["sessionId"] == "S-9"]

    found = json.loads(cli("find", "--uid", UID, "--json"))
    assert {(r["table"], r["action"]) for r in found["records"]} == {
        ("CdrTable", "done"),
        ("DriveOrdersTable", "done"),
        ("OrdersTable", "done"),
        ("SessionsTable", "wait"),
    }


def test_given_an_erasure_when_run_again_then_nothing_changes(
    stored: None, cli: Cli, aws: boto3.Session, resources: dict[str, str]
) -> None:
    cli("erase", "--uid", UID, "--apply")
    once = snapshot(aws, resources)

    printed = cli("erase", "--uid", UID, "--apply")

    assert "nothing left to erase" in printed
    assert snapshot(aws, resources) == once


def test_given_an_erasure_cut_short_when_run_again_then_it_finishes(
    stored: None, cli: Cli, aws: boto3.Session, resources: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    original, calls = PrivacyTables._apply, []

    def failing(self: PrivacyTables, step: Any, table: str) -> bool:
        calls.append(step)
        if len(calls) == 5:
            raise ConnectionError("network gone")
        return original(self, step, table)

    monkeypatch.setattr(PrivacyTables, "_apply", failing)
    with pytest.raises(ConnectionError):
        cli("erase", "--user-id", USER, "--apply")
    assert snapshot(aws, resources)["ErasureLedgerTable"][0]["status"] == "IN_PROGRESS"
    monkeypatch.setattr(PrivacyTables, "_apply", original)

    cli("erase", "--user-id", USER, "--apply")

    after = snapshot(aws, resources)
    assert after["ErasureLedgerTable"][0]["status"] == "DONE"
    assert [item["uid"] for item in after["ChargingKeysTable"]] == [OTHER_UID]
    theirs = [item for item in after["CdrTable"] if item["sessionId"] != "S-9"]
    assert not any(holds_identifier(json.dumps(item, default=str)) for item in theirs)


def test_given_a_table_restored_from_before_the_erasure_when_replayed_then_it_is_erased_again(
    stored: None, cli: Cli, aws: boto3.Session, resources: dict[str, str]
) -> None:
    client = aws.client("dynamodb")
    restored = {}
    for logical in ("CdrTable", "ChargingKeysTable"):
        restored[logical] = copy_table(client, resources[logical], f"{logical}-restored")
    cli("erase", "--uid", UID, "--apply")
    erased = snapshot(aws, resources)

    dry = json.loads(cli("replay", "--table", restored["CdrTable"], "--as", "CdrTable", "--json"))
    assert [r["action"] for r in dry["records"]] == ["pseudonymise"] * 3
    cli("replay", "--table", restored["CdrTable"], "--as", "CdrTable", "--apply")
    cli("replay", "--table", restored["ChargingKeysTable"], "--as", "ChargingKeysTable", "--apply")

    def scan(table: str) -> list[dict[str, Any]]:
        found = (from_attributes(item) for item in client.scan(TableName=table)["Items"])
        return sorted(({k: v for k, v in item.items() if k != "pseudonymisedAt"} for item in found), key=repr)

    assert scan(restored["CdrTable"]) == scan(resources["CdrTable"])
    assert [item["uid"] for item in scan(restored["ChargingKeysTable"])] == [OTHER_UID]
    assert erased == snapshot(aws, resources)  # the live tables were not touched by replay


def copy_table(client: Any, source: str, name: str) -> str:
    """What a point-in-time restore gives: a new table with the same schema and items."""
    described = client.describe_table(TableName=source)["Table"]
    indexes = [
        {"IndexName": index["IndexName"], "KeySchema": index["KeySchema"], "Projection": index["Projection"]}
        for index in described.get("GlobalSecondaryIndexes", [])
    ]
    client.create_table(
        TableName=name,
        AttributeDefinitions=described["AttributeDefinitions"],
        KeySchema=described["KeySchema"],
        BillingMode="PAY_PER_REQUEST",
        **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
    )
    for item in client.scan(TableName=source)["Items"]:
        client.put_item(TableName=name, Item=item)
    return name


def test_given_a_contract_id_in_another_spelling_then_the_key_and_its_cdrs_are_found(
    stored: None, cli: Cli
) -> None:
    found = json.loads(cli("find", "--contract-id", "de8psc0cd0c002q", "--json"))

    actions = sorted((r["table"], r["action"]) for r in found["records"])
    assert ("ChargingKeysTable", "delete") in actions
    assert actions.count(("CdrTable", "pseudonymise")) == 3  # the key's UID, found through the contract


def test_given_a_list_cut_to_fewer_chunks_when_rewritten_then_extra_chunks_go_and_the_counts_follow(
    aws: boto3.Session, resources: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("backbone.whitelist.aws.CHUNK_BYTES", 64)
    table = aws.resource("dynamodb").Table(resources["WhitelistAuditTable"])
    audit = AuditStore(table)
    uids = [f"04{n:010X}AA" for n in range(40)]
    attempt = PushAttempt(
        key="2026-05-02T00:00:00.000Z#a2",
        at=datetime(2026, 5, 2, tzinfo=UTC),
        attemptId="a2",
        trigger="schedule",
        outcome=Outcome.SENT,
        message="sent",
        count=len(uids),
        sha256="x",
    )
    sent = audit.record_sent(attempt, uids)
    assert sent.list_chunks > 1

    chunks = audit.rewrite_list(attempt.key, uids[:1])

    assert chunks == 1
    assert audit.list_of(attempt.key) == uids[:1]
    assert len(table.query(KeyConditionExpression=Key("pk").eq(f"LIST#{attempt.key}"))["Items"]) == 1
    assert audit.find("2026-05-02")[0].list_chunks == 1
    last = audit.last_success()
    assert last is not None
    assert last.list_chunks == 1
