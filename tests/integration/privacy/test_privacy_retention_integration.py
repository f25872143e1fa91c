"""Retention on the template's tables (moto): the TTL attribute every writer sets, and the daily
PrivacyPurgeFunction (items past retention pseudonymised or blanked, younger ones untouched,
billing fields unchanged, a second run changes nothing). docs/privacy.md, "Retention"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import handler_privacy_purge
import pytest

from backbone.aws.attributes import from_attributes
from backbone.cdr.aws import DynamoCdrStore
from backbone.cdr.models import Cdr, CdrStatus, Cost, Driver, DriverType
from backbone.observability import metrics
from backbone.orders.models import DriveOrderRecord, DriveRequestState, KeyOrder, KeyOrderState
from backbone.privacy.pseudonym import pseudonym
from backbone.privacy.retention import accounting_expiry, expires_after
from backbone.privacy.wiring import purge_dependencies
from backbone.sessions.aws import DynamoSessionStore
from backbone.sessions.models import SessionRecord
from backbone.settings import load_settings
from backbone.timeutil import to_storage, utc_now
from backbone.whitelist.aws import AuditStore
from backbone.whitelist.models import PushAttempt

PARTNER = "acme-cpo"
ADDRESS = {
    "firstName": "Erika",
    "lastName": "Mustermann",
    "addressLine1": "Hauptstr. 1",
    "postalCode": "10115",
    "city": "Berlin",
    "country": "DE",
}


@pytest.fixture
def env(aws: boto3.Session, resources: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    client = aws.client("dynamodb")
    for name, logical in {
        "CDR_TABLE": "CdrTable",
        "ORDERS_TABLE": "OrdersTable",
        "DRIVE_ORDERS_TABLE": "DriveOrdersTable",
        "PRIVACY_PURGE_TABLE": "PrivacyPurgeTable",
        "PRIVACY_PEPPER_SECRET": "PrivacyPepperSecret",
    }.items():
        monkeypatch.setenv(name, resources[logical])
    monkeypatch.setattr(metrics, "namespace", "PlugsurfingBackboneTest")
    for cached in (load_settings, purge_dependencies):
        cached.cache_clear()
    pepper = aws.client("secretsmanager").get_secret_value(SecretId=resources["PrivacyPepperSecret"])
    yield client, resources, pepper["SecretString"]
    for cached in (load_settings, purge_dependencies):
        cached.cache_clear()


def cdr(session_id: str, received_at: datetime, uid: str, pepper: str | None, raw: str = "{}") -> Cdr:
    key = f"rfid#{uid}"
    return Cdr(
        partner_id=PARTNER,
        session_id=session_id,
        source="oioi",
        status=CdrStatus.FINAL,
        started_at=received_at - timedelta(hours=6),
        stopped_at=received_at - timedelta(hours=1),
        energy_kwh=Decimal("16.5"),
        cost=Cost(amount=Decimal("14.32"), currency="EUR"),
        driver=Driver(type=DriverType.RFID, id=uid, pseudonym=pseudonym(pepper, key) if pepper else None),
        evse_id="DE*8PS*ETABCD*1",
        received_at=received_at,
        payload_hash=f"hash-{session_id}",
        raw=raw,
    )


def store_cdr(client: Any, table: str, record: Cdr, *, indexed: bool) -> None:
    """As ingestion stores it; `indexed`: as pseudonymisation at write and the billing export
    lay it out (driverKey `<type>#<pseudonym>`, billingDay)."""
    DynamoCdrStore(client, table).put_if_advances(record)
    if not indexed:  # as stored before pseudonymisation at write: the raw id in the index key
        assert record.driver is not None
        client.update_item(
            TableName=table,
            Key={"pk": {"S": record.pk}, "sk": {"S": "CDR"}},
            UpdateExpression="SET driverKey = :key",
            ExpressionAttributeValues={":key": {"S": record.driver.key}},
        )
    if indexed:
        assert record.driver is not None
        assert record.driver.pseudonym is not None
        client.update_item(
            TableName=table,
            Key={"pk": {"S": record.pk}, "sk": {"S": "CDR"}},
            UpdateExpression="SET billingDay = :day, driverKey = :key",
            ExpressionAttributeValues={
                ":day": {"S": record.received_at.date().isoformat()},
                ":key": {"S": f"rfid#{record.driver.pseudonym}"},
            },
        )


def item(client: Any, table: str, key: dict[str, str]) -> dict[str, Any]:
    raw = client.get_item(TableName=table, Key={k: {"S": v} for k, v in key.items()}, ConsistentRead=True)
    return from_attributes(raw["Item"])


def store_orders(aws: boto3.Session, resources: dict[str, str], now: datetime) -> None:
    old, young = now - timedelta(days=91), now - timedelta(days=30)
    orders = aws.resource("dynamodb").Table(resources["OrdersTable"])
    for order_id, at in (("old", old), ("young", young)):
        orders.put_item(
            Item=KeyOrder(
                order_id=order_id,
                address=dict(ADDRESS),
                created_at=at - timedelta(days=2),
                received_at=at - timedelta(days=2),
                updated_at=at,
                state=KeyOrderState.ASSIGNED,
                version=4,
            ).to_item()
        )
    drive = aws.resource("dynamodb").Table(resources["DriveOrdersTable"])
    for request_id, at, state in (
        ("old-closed", old, DriveRequestState.CLOSED),
        ("old-ordered", old, DriveRequestState.ORDERED),  # not final: its address is still needed
    ):
        drive.put_item(
            Item=DriveOrderRecord(
                request_id=request_id,
                user_id="user-1",
                address=dict(ADDRESS),
                taxation_country="DE",
                state=state,
                created_at=at - timedelta(days=1),
                updated_at=at,
                version=2,
            ).to_item()
        )


def test_given_data_past_retention_then_the_purge_pseudonymises_and_blanks_it_and_a_rerun_changes_nothing(
    env: Any, aws: boto3.Session, lambda_context: Any
) -> None:
    client, resources, pepper = env
    table = resources["CdrTable"]
    now = utc_now()
    old = cdr("S-old", now - timedelta(days=91), "04523022AA4881", pepper)
    young = cdr("S-young", now - timedelta(days=89), "04523022AA4882", pepper)
    legacy_raw = '{"session-id":"S-legacy","user":{"identifier-type":"rfid","identifier":"04523022AA4883"}}'
    legacy = cdr("S-legacy", now - timedelta(days=200), "04523022AA4883", None, legacy_raw)
    store_cdr(client, table, old, indexed=True)
    store_cdr(client, table, young, indexed=True)
    store_cdr(client, table, legacy, indexed=False)
    store_orders(aws, resources, now)
    before = {s: item(client, table, {"pk": f"{PARTNER}#{s}", "sk": "CDR"}) for s in ("S-old", "S-young")}

    report = handler_privacy_purge.handler({}, lambda_context)

    assert (report["cdrs_pseudonymised"], report["legacy_migrated"], report["addresses_blanked"]) == (1, 1, 2)
    after_old = item(client, table, {"pk": f"{PARTNER}#S-old", "sk": "CDR"})
    assert after_old["driverId"] == after_old["driverHash"] == pseudonym(pepper, "rfid#04523022AA4881")
    assert "pseudonymisedAt" in after_old
    unchanged = {k: v for k, v in before["S-old"].items() if k not in ("driverId", "driverHash")}
    assert {k: after_old[k] for k in unchanged} == unchanged  # billing fields, hash, TTL untouched
    assert item(client, table, {"pk": f"{PARTNER}#S-young", "sk": "CDR"}) == before["S-young"]
    after_legacy = item(client, table, {"pk": f"{PARTNER}#S-legacy", "sk": "CDR"})
    legacy_hash = pseudonym(pepper, "rfid#04523022AA4883")
    assert (after_legacy["driverKey"], after_legacy["driverHash"], after_legacy["driverId"]) == (
        f"rfid#{legacy_hash}",
        legacy_hash,
        legacy_hash,
    )
    assert after_legacy["costAmount"] == Decimal("14.32")
    assert "04523022AA4883" not in after_legacy["raw"]  # the payload redacted as at write
    assert legacy_hash in after_legacy["raw"]
    assert item(client, resources["OrdersTable"], {"pk": "ORDER#old"})["address"] == {"country": "DE"}
    assert item(client, resources["OrdersTable"], {"pk": "ORDER#old"})["version"] == 5
    assert item(client, resources["OrdersTable"], {"pk": "ORDER#young"})["address"] == ADDRESS
    drive = resources["DriveOrdersTable"]
    assert item(client, drive, {"requestId": "old-closed"})["address"] == {"country": "DE"}
    assert item(client, drive, {"requestId": "old-ordered"})["address"] == ADDRESS

    snapshot = {
        name: sorted(
            json.dumps(i, sort_keys=True, default=str)
            for i in aws.resource("dynamodb").Table(name).scan()["Items"]
        )
        for name in (table, resources["OrdersTable"], drive)
    }
    again = handler_privacy_purge.handler({}, lambda_context)

    assert (again["cdrs_pseudonymised"], again["legacy_migrated"], again["addresses_blanked"]) == (0, 0, 0)
    assert snapshot == {
        name: sorted(
            json.dumps(i, sort_keys=True, default=str)
            for i in aws.resource("dynamodb").Table(name).scan()["Items"]
        )
        for name in snapshot
    }


def test_given_records_written_then_each_carries_the_ttl_of_its_retention_rule(
    aws: boto3.Session, resources: dict[str, str]
) -> None:
    client = aws.client("dynamodb")
    received = datetime(2026, 3, 1, 10, tzinfo=UTC)
    record = cdr("S-ttl", received, "04523022AA4881", "p" * 40)
    DynamoCdrStore(client, resources["CdrTable"], accounting_years=8).put_if_advances(record)
    stored = item(client, resources["CdrTable"], {"pk": f"{PARTNER}#S-ttl", "sk": "CDR"})
    assert (
        stored["expiresAt"]
        == accounting_expiry(received, 8)
        == int(datetime(2035, 1, 1, tzinfo=UTC).timestamp())
    )

    sessions = DynamoSessionStore(
        aws.resource("dynamodb").Table(resources["SessionsTable"]), retention_days=30
    )
    at = datetime(2026, 3, 1, 10, tzinfo=UTC)
    session = SessionRecord.model_validate(
        {
            "request_id": "r-1",
            "mode": "drive",
            "connector_id": "c-1",
            "execution_arn": "arn:aws:states:eu-west-1:123456789012:execution:sm:r-1",
            "created_at": at,
            "updated_at": at,
            "status_since": at,
        }
    )
    sessions.put_new(session)
    saved = sessions.save(session.model_copy(update={"updated_at": at + timedelta(days=2)}))
    assert item(client, resources["SessionsTable"], {"requestId": "r-1"})["expiresAt"] == expires_after(
        saved.updated_at, 30
    )

    audit = AuditStore(aws.resource("dynamodb").Table(resources["WhitelistAuditTable"]), retention_days=90)
    attempt = PushAttempt.model_validate(
        {
            "key": f"{to_storage(at)}#a1",
            "at": at,
            "attemptId": "a1",
            "trigger": "schedule",
            "outcome": "SENT",
            "message": "sent",
            "count": 2,
            "sha256": "x",
        }
    )
    audit.record_sent(attempt, ["04523022AA4881", "04523022AA4882"])
    items = aws.resource("dynamodb").Table(resources["WhitelistAuditTable"]).scan()["Items"]
    by_pk = {(i["pk"], i["sk"]): i for i in items}
    assert by_pk[("PUSH", attempt.key)]["expiresAt"] == expires_after(at, 90)
    assert by_pk[(f"LIST#{attempt.key}", "0000")]["expiresAt"] == expires_after(at, 90)
    assert "expiresAt" not in by_pk[("LAST", "SENT")]  # the guards compare every push with it

    for table in ("CdrTable", "SessionsTable", "WhitelistAuditTable"):
        ttl = client.describe_time_to_live(TableName=resources[table])["TimeToLiveDescription"]
        assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expiresAt"), table
