"""BillingExportFunction against the template's CdrTable (ByBillingDay) and BillingExportBucket
in moto: what ingestion stored for a day is in that day's files with its exact amounts, the
manifest's totals are the sums of the rows, a re-run writes the same bytes, and `bbctl cdr
export` writes the very same files."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from cdrfactory import oioi, session_post_text
from handler_billing_export import handler

from backbone.aws.attributes import from_attributes, to_attributes
from backbone.billing.aws import DynamoBillingDays
from backbone.cdr.aws import DynamoCdrStore
from backbone.cdr.parse import parse_cdr
from bbctl.ops_export import BillingDayBackfill, backfill_billing_days, export_range

pytestmark = pytest.mark.usefixtures("export_env")
DAY = date(2026, 3, 1)
PREFIX = "cdr-export/day=2026-03-01"


def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def stored(aws: boto3.Session, resources: dict[str, str]) -> DynamoCdrStore:
    """A day of CDRs as ingestion stores them: finals of two partners and two currencies, a
    correction, an ongoing session (not billable yet), and a final of the next day."""
    store = DynamoCdrStore(aws.client("dynamodb"), resources["CdrTable"])
    for envelope in (
        oioi(session_post_text("S-1", cost="14.32"), at(9)),
        oioi(session_post_text("S-2", cost="0.30000000000000004", energy="7.125"), at(10)),
        oioi(session_post_text("S-3", cost="100", currency="NOK", uid="0477BD22AA4880"), at(11)),
        oioi(session_post_text("S-4", cost="3.1"), at(12), partner="beta-cpo"),
        oioi(session_post_text("S-5", stop=None, charging_stop=None, cost=None), at(13)),
        oioi(session_post_text("S-6", cost="9.99"), at(0, 5, day=2)),
    ):
        assert store.put_if_advances(parse_cdr(envelope)).written
    assert store.put_correction(parse_cdr(oioi(session_post_text("S-1", cost="12.1"), at(23, 59))))
    return store


def bucket_files(aws: boto3.Session, bucket: str) -> dict[str, bytes]:
    s3 = aws.client("s3")
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def csv_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode(), newline="")))


@pytest.mark.usefixtures("stored")
def test_given_a_day_of_cdrs_when_exported_then_each_partner_file_has_its_finals_and_corrections_exactly(
    aws: boto3.Session, resources: dict[str, str], lambda_context: Any
) -> None:
    answer = handler({"day": "2026-03-01"}, lambda_context)

    files = bucket_files(aws, resources["BillingExportBucket"])
    assert sorted(files) == [
        f"{PREFIX}/manifest.json",
        f"{PREFIX}/partner=acme-cpo/cdrs.csv",
        f"{PREFIX}/partner=beta-cpo/cdrs.csv",
    ]
    acme = csv_rows(files[f"{PREFIX}/partner=acme-cpo/cdrs.csv"])
    assert [(row["sessionId"], row["kind"], row["costAmount"], row["costCurrency"]) for row in acme] == [
        ("S-1", "CDR", "14.32", "EUR"),
        ("S-2", "CDR", "0.30000000000000004", "EUR"),
        ("S-3", "CDR", "100", "NOK"),
        ("S-1", "CORRECTION", "12.1", "EUR"),
    ]
    assert acme[1]["energyKwh"] == "7.125"
    assert answer == {"days": [{"day": "2026-03-01", "rows": 5, "manifest": f"{PREFIX}/manifest.json"}]}


@pytest.mark.usefixtures("stored")
def test_the_export_carries_no_raw_driver_identifier(
    aws: boto3.Session, resources: dict[str, str], lambda_context: Any
) -> None:
    handler({"day": "2026-03-01"}, lambda_context)
    body = b"".join(bucket_files(aws, resources["BillingExportBucket"]).values())
    assert b"04523022AA4881" not in body
    assert b"0477BD22AA4880" not in body
    # ...and the index it reads does not hold one either (projection: template.yaml).
    [item, *_] = aws.client("dynamodb").query(
        TableName=resources["CdrTable"],
        IndexName="ByBillingDay",
        KeyConditionExpression="billingDay = :d",
        ExpressionAttributeValues={":d": {"S": "2026-03-01"}},
    )["Items"]
    assert not {"raw", "driverId", "driverKey"} & set(from_attributes(item))


@pytest.mark.usefixtures("stored")
def test_the_manifest_totals_are_the_sums_of_the_rows_and_its_checksums_those_of_the_files(
    aws: boto3.Session, resources: dict[str, str], lambda_context: Any
) -> None:
    handler({"day": "2026-03-01"}, lambda_context)
    files = bucket_files(aws, resources["BillingExportBucket"])
    manifest = json.loads(files[f"{PREFIX}/manifest.json"])

    for entry in manifest["partners"]:
        body = files[entry["key"]]
        assert entry["sha256"] == hashlib.sha256(body).hexdigest()
        sums: dict[tuple[str, str], Decimal] = {}
        for row in csv_rows(body):
            group = (row["costCurrency"], row["kind"])
            sums[group] = sums.get(group, Decimal(0)) + Decimal(row["costAmount"])
        assert {
            (total["currency"], total["kind"]): Decimal(total["costAmount"]) for total in entry["totals"]
        } == sums
    acme_eur_cdr = manifest["partners"][0]["totals"][0]
    assert (acme_eur_cdr["kind"], acme_eur_cdr["costAmount"]) == ("CDR", "14.62000000000000004")
    assert manifest["rows"] == 5


@pytest.mark.usefixtures("stored")
def test_given_a_day_exported_twice_then_the_second_run_writes_the_same_bytes(
    aws: boto3.Session, resources: dict[str, str], lambda_context: Any
) -> None:
    bucket = resources["BillingExportBucket"]
    handler({"day": "2026-03-01"}, lambda_context)
    first = bucket_files(aws, bucket)
    handler({"from": "2026-03-01", "to": "2026-03-01"}, lambda_context)

    assert bucket_files(aws, bucket) == first
    versions = aws.client("s3").list_object_versions(Bucket=bucket)["Versions"]
    assert len(versions) == 2 * len(first)  # versioned: the replaced copies are kept (and expire)


@pytest.mark.usefixtures("stored")
def test_given_the_nightly_schedule_then_the_previous_utc_day_is_exported(
    aws: boto3.Session, resources: dict[str, str], lambda_context: Any
) -> None:
    event = {"detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-03-03T01:30:00Z"}
    handler(event, lambda_context)

    files = bucket_files(aws, resources["BillingExportBucket"])
    assert sorted(files) == [
        "cdr-export/day=2026-03-02/manifest.json",
        "cdr-export/day=2026-03-02/partner=acme-cpo/cdrs.csv",
    ]
    [row] = csv_rows(files["cdr-export/day=2026-03-02/partner=acme-cpo/cdrs.csv"])
    assert (row["sessionId"], row["costAmount"]) == ("S-6", "9.99")


def test_given_a_day_without_cdrs_then_its_manifest_says_so(
    aws: boto3.Session, resources: dict[str, str], lambda_context: Any
) -> None:
    handler({"day": "2026-03-01"}, lambda_context)
    files = bucket_files(aws, resources["BillingExportBucket"])
    assert list(files) == [f"{PREFIX}/manifest.json"]
    assert json.loads(files[f"{PREFIX}/manifest.json"])["rows"] == 0


@pytest.mark.usefixtures("stored")
def test_given_bbctl_export_then_its_files_are_the_buckets_byte_for_byte(
    aws: boto3.Session, resources: dict[str, str], lambda_context: Any, tmp_path: Path
) -> None:
    handler({"from": "2026-03-01", "to": "2026-03-02"}, lambda_context)
    records = DynamoBillingDays(aws.client("dynamodb"), resources["CdrTable"])

    exports, sink = export_range(records, tmp_path, date(2026, 3, 1), date(2026, 3, 2))

    local = {str(path.relative_to(tmp_path)): path.read_bytes() for path in sink.written}
    in_bucket = bucket_files(aws, resources["BillingExportBucket"])
    assert {f"cdr-export/{key}": body for key, body in local.items()} == in_bucket
    assert [export.rows for export in exports] == [5, 1]


@pytest.mark.usefixtures("stored")
def test_given_bbctl_export_of_one_partner_as_jsonl_then_only_its_records_are_written(
    aws: boto3.Session, resources: dict[str, str], tmp_path: Path
) -> None:
    records = DynamoBillingDays(aws.client("dynamodb"), resources["CdrTable"])
    export_range(records, tmp_path, DAY, DAY, partner_id="beta-cpo", fmt="jsonl")

    [line] = (tmp_path / "day=2026-03-01" / "partner=beta-cpo" / "cdrs.jsonl").read_text().splitlines()
    assert json.loads(line)["costAmount"] == "3.1"
    assert not (tmp_path / "day=2026-03-01" / "partner=acme-cpo").exists()


def test_given_a_future_day_then_the_function_refuses_and_writes_nothing(
    aws: boto3.Session, resources: dict[str, str], lambda_context: Any
) -> None:
    with pytest.raises(ValueError, match="has not happened yet"):
        handler({"day": "2999-01-01"}, lambda_context)
    assert bucket_files(aws, resources["BillingExportBucket"]) == {}


def test_given_final_records_stored_before_billing_days_when_backfilled_then_they_are_exported(
    aws: boto3.Session, resources: dict[str, str], lambda_context: Any
) -> None:
    client, table = aws.client("dynamodb"), resources["CdrTable"]
    for envelope in (
        oioi(session_post_text("OLD-1", cost="14.32"), at(9)),
        oioi(session_post_text("OLD-2", stop=None, charging_stop=None, cost=None), at(10)),
    ):
        item = parse_cdr(envelope).to_item()
        item.pop("billingDay", None)  # as the release before stored it
        client.put_item(TableName=table, Item=to_attributes(item))
    assert handler({"day": "2026-03-01"}, lambda_context)["days"][0]["rows"] == 0

    assert backfill_billing_days(client, table, dry_run=True) == BillingDayBackfill(1, 0)
    assert backfill_billing_days(client, table) == BillingDayBackfill(1, 1)
    assert backfill_billing_days(client, table) == BillingDayBackfill(0, 0)

    assert handler({"day": "2026-03-01"}, lambda_context)["days"][0]["rows"] == 1
    files = bucket_files(aws, resources["BillingExportBucket"])
    [row] = csv_rows(files[f"{PREFIX}/partner=acme-cpo/cdrs.csv"])
    assert (row["sessionId"], row["costAmount"]) == ("OLD-1", "14.32")
