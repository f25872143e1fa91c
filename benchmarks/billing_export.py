"""The daily billing export: what one day of CDRs costs BillingExportFunction.

A day of final CDRs (and a correction every 20th) over 5 partners and 2 currencies is put into
CdrTable (from template.yaml, with ByBillingDay) on moto in-process; then, in CPU seconds:
the pure export of those records (CSV rendering, exact totals, sha256), and the whole handler
(index query through moto, export, S3 puts), run twice to show the re-run writes the same bytes.
No target: the function runs once a night with a 15-minute timeout; the numbers say how far a
day's volume is from it (on real DynamoDB the query pages cost network time, not moto's CPU).

Usage: .venv/bin/python benchmarks/billing_export.py [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "layers" / "shared"), str(REPO / "functions" / "billing_export")]
for name, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    "POWERTOOLS_METRICS_DISABLED": "true",
}.items():
    os.environ.setdefault(name, value)
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3  # noqa: E402
from cfnlint.decode.cfn_yaml import load  # noqa: E402
from handler_billing_export import handler  # noqa: E402
from moto import mock_aws  # noqa: E402

from backbone.aws.attributes import to_attributes  # noqa: E402
from backbone.billing.aws import DynamoBillingDays  # noqa: E402
from backbone.billing.export import export_day  # noqa: E402
from backbone.cdr.models import Cdr, CdrStatus, Cost, Driver, DriverType, RecordKind  # noqa: E402

DAY = date(2026, 3, 1)
PARTNERS = ("acme-cpo", "beta-cpo", "gamma-cpo", "delta-cpo", "plugsurfing")


class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:bench"
    aws_request_id = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 900_000


def cdrs(count: int) -> list[dict[str, Any]]:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    items = []
    for n in range(count):
        received = start + timedelta(seconds=n * 86_000 // count)
        cdr = Cdr(
            partner_id=PARTNERS[n % len(PARTNERS)],
            session_id=f"S-{n:06d}",
            source="oioi",
            status=CdrStatus.FINAL,
            started_at=received - timedelta(hours=2),
            stopped_at=received - timedelta(minutes=1),
            energy_kwh=Decimal(f"{n % 80}.{n % 1000:03d}"),
            cost=Cost(amount=Decimal(f"{n % 60}.{n % 100:02d}"), currency="EUR" if n % 7 else "NOK"),
            driver=Driver(type=DriverType.RFID, id=f"04{n:012X}", pseudonym=f"h1:{n:032x}"),
            evse_id="DE*8PS*ETABCD*1",
            received_at=received,
            payload_hash=f"{n:064x}",
            raw="{}",
        )
        items.append(cdr.to_item(RecordKind.CORRECTION if n % 20 == 19 else RecordKind.CDR))
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 CDRs instead of 5,000")
    count = 1_000 if parser.parse_args().quick else 5_000
    with mock_aws():
        template: Any = load(str(REPO / "template.yaml"))
        props = json.loads(json.dumps(template["Resources"]["CdrTable"]["Properties"]))
        table_args = {k: props[k] for k in ("AttributeDefinitions", "KeySchema", "BillingMode")}
        table_args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(TableName="CdrTable", **table_args)
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="export", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_bucket_versioning(Bucket="export", VersioningConfiguration={"Status": "Enabled"})
        items = cdrs(count)
        for start in range(0, len(items), 25):
            chunk = items[start : start + 25]
            requests = [{"PutRequest": {"Item": to_attributes(item)}} for item in chunk]
            dynamodb.batch_write_item(RequestItems={"CdrTable": requests})
        os.environ |= {"CDR_TABLE": "CdrTable", "BILLING_EXPORT_BUCKET": "export"}
        started = time.process_time()
        records = list(DynamoBillingDays(dynamodb, "CdrTable").records(DAY))
        query_s = time.process_time() - started
        started = time.process_time()
        export = export_day(DAY, records)
        pure_s = time.process_time() - started
        runs = []
        for _ in range(2):
            started = time.process_time()
            with contextlib.redirect_stdout(io.StringIO()):
                handler({"day": DAY.isoformat()}, Context())
            runs.append(time.process_time() - started)
            runs_bytes = {
                obj["Key"]: s3.get_object(Bucket="export", Key=obj["Key"])["Body"].read()
                for obj in s3.list_objects_v2(Bucket="export")["Contents"]
            }
            if len(runs) == 1:
                first_bytes = runs_bytes
        same = runs_bytes == first_bytes
    size = sum(len(file.body) for file in export.files)
    print(f"billing export of one day: {count:,} CDRs ({export.rows:,} rows), {len(PARTNERS)} partners")
    print("| step | CPU s | ms per CDR |")
    print("|---|---:|---:|")
    print(f"| ByBillingDay query (moto) + BillingRecord | {query_s:.2f} | {query_s * 1000 / count:.3f} |")
    print(f"| export_day (CSV, totals, sha256), pure | {pure_s:.2f} | {pure_s * 1000 / count:.3f} |")
    for number, run in enumerate(runs, 1):
        print(f"| handler, run {number} (query, export, S3 puts) | {run:.2f} | {run * 1000 / count:.3f} |")
    print(f"files: {len(export.files)}, {size / 1024:.0f} KiB; re-run wrote the same bytes: {same}")


if __name__ == "__main__":
    main()
