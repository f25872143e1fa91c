"""CDR ingestion: CdrIngestFunction's handler against a raw BatchWriteItem of the same items.

10,000 distinct final CDRs (OIOI session-posts) go through the real handler (Powertools batch
processor, envelope and payload validation, hashing, one conditional PutItem per record) in SQS
batches of 10 and of 100. Baselines, built outside the timing from the very same items:

- BatchWriteItem, grouped as the handler receives them (one call per 10 records, four per 100:
  at most 25 per call). Target: handler <= 1.5x this.
- the handler's own conditional PutItem per item, issued directly: the floor of any design that
  writes each CDR conditionally (BatchWriteItem cannot carry a condition), so handler / this is
  what validation, hashing and the batch processor cost.

All run in the same process on the same backend, moto in-process, each on its own fresh CdrTable
built from template.yaml. Times are CPU seconds of this process (everything here is in-process
Python, and CPU time does not move with the load of a shared machine as wall time does).

Then all 10,000 are delivered again (batches of 10): 0 new items and 0 changed items is the
contract (the table is compared item by item).

Reading the ratios: moto spends a few ms of botocore serialisation, signing, parsing and request
dispatch per call against ~1 ms per item, so the BatchWriteItem ratio is mostly the call-count
ratio (25 items per call vs 1). See docs/cdr-ingestion.md, "Performance".

Usage: .venv/bin/python benchmarks/cdr_ingest.py [--quick] [--count N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "layers" / "shared"), str(REPO / "functions" / "cdr_ingest"), str(REPO / "tools")]
for name, value in {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "POWERTOOLS_LOG_LEVEL": "WARNING",  # one INFO line per CDR would measure stdout, not ingestion
    "POWERTOOLS_METRICS_NAMESPACE": "PlugsurfingBackboneBench",
    "POWERTOOLS_METRICS_DISABLED": "true",  # measured, not printed
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "cdr-ingest",
}.items():
    os.environ.setdefault(name, value)
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3  # noqa: E402
from handler_cdr_ingest import handler  # noqa: E402
from moto import mock_aws  # noqa: E402

from backbone.aws.attributes import to_attributes  # noqa: E402
from backbone.cdr.aws import ADVANCES_CONDITION  # noqa: E402
from backbone.cdr.envelope import CdrEnvelope  # noqa: E402
from backbone.cdr.parse import parse_cdr  # noqa: E402
from backbone.cdr.pseudonymise import pseudonymised  # noqa: E402
from backbone.cdr.wiring import cdr_ingest_dependencies  # noqa: E402
from backbone.privacy.pseudonym import pseudonymiser  # noqa: E402
from backbone.settings import load_settings  # noqa: E402
from devstack.template import Template  # noqa: E402

warnings.filterwarnings("ignore", message="No application metrics")

TARGET = 1.5
PEPPER = "bench-pepper-" + "0" * 32  # PrivacyPepperSecret's value here; items are written pseudonymised
_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")


@dataclass
class Context:
    function_name: str = "CdrIngestFunction"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:CdrIngestFunction"
    aws_request_id: str = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def envelopes(count: int) -> list[CdrEnvelope]:
    """Distinct final CDRs: 20 partners, 500 EVSEs, 2,000 drivers, a month of sessions."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    result = []
    for n in range(count):
        begin = start + timedelta(minutes=4 * n)
        plugged, charged, unplugged = ((begin + timedelta(hours=hours)).isoformat() for hours in (0, 1, 2))
        raw = (
            f'{{"user": {{"identifier": "04{n % 2000:012X}", "identifier-type": "rfid"}}, '
            f'"session-id": "bench-{n:06d}", "connector-id": "DE*8PS*EB{n % 500:04d}*1", '
            f'"session-interval": {{"start": "{plugged}", "stop": "{unplugged}"}}, '
            f'"charging-interval": {{"start": "{plugged}", "stop": "{charged}"}}, '
            f'"energy-consumed": {n % 90}.{n % 1000:03d}, '
            f'"calculated-cost": {{"amount": {n % 40}.{n % 100:02d}, "currency": "EUR"}}, '
            f'"partner-identifier": "bench-partner-identifier-{n % 20:02d}"}}'
        )
        received = begin + timedelta(hours=2, seconds=5)
        result.append(
            CdrEnvelope(source="oioi", partner_id=f"cpo-{n % 20:02d}", received_at=received, raw=raw)
        )
    return result


def sqs_events(items: list[CdrEnvelope], batch: int) -> list[dict[str, Any]]:
    events = []
    for offset in range(0, len(items), batch):
        records = [
            {
                "messageId": f"msg-{offset + i}",
                "receiptHandle": f"rh-{offset + i}",
                "body": envelope.to_message(),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "0",
                    "SenderId": "bench",
                    "ApproximateFirstReceiveTimestamp": "0",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:CdrQueue",
                "awsRegion": "eu-west-1",
            }
            for i, envelope in enumerate(items[offset : offset + batch])
        ]
        events.append({"Records": records})
    return events


def chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for offset in range(0, len(values), size):
        yield values[offset : offset + size]


class Bench:
    def __init__(self) -> None:
        props = Template(REPO / "template.yaml", {"Stage": "local"}).properties("CdrTable")
        self.table_args = {key: props[key] for key in _TABLE_KEYS}
        self.table_args["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        self.dynamodb = boto3.client("dynamodb")
        self.dlq = boto3.client("sqs").create_queue(QueueName="CdrDeadLetterQueue")["QueueUrl"]
        secrets = boto3.client("secretsmanager")
        self.pepper = secrets.create_secret(Name="privacy-pepper", SecretString=PEPPER)["ARN"]
        self.handler = handler

    def table(self, name: str) -> str:
        self.dynamodb.create_table(TableName=name, **self.table_args)
        return name

    def use_table(self, name: str) -> None:
        os.environ["CDR_TABLE"] = name
        os.environ["CDR_DEAD_LETTER_QUEUE_URL"] = self.dlq
        os.environ["PRIVACY_PEPPER_SECRET"] = self.pepper
        load_settings.cache_clear()
        cdr_ingest_dependencies.cache_clear()

    def through_handler(self, events: list[dict[str, Any]]) -> float:
        started = time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):  # EMF lines (metrics flush at 100 values)
            for event in events:
                failures = self.handler(event, Context())["batchItemFailures"]
                if failures:
                    raise SystemExit(f"handler reported failures: {failures[:3]}")
        return time.process_time() - started

    def conditional_puts(self, table: str, items: list[dict[str, Any]]) -> float:
        started = time.process_time()
        for item in items:
            self.dynamodb.put_item(
                TableName=table,
                Item=item,
                ConditionExpression=ADVANCES_CONDITION,
                ExpressionAttributeNames={"#status": "status", "#progress": "progress"},
                ExpressionAttributeValues={":ongoing": {"S": "ONGOING"}, ":progress": item["progress"]},
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        return time.process_time() - started

    def batch_write(self, table: str, items: list[dict[str, Any]], batch: int) -> float:
        started = time.process_time()
        for delivery in chunks(items, batch):
            for call in chunks(delivery, 25):
                request = {table: [{"PutRequest": {"Item": item}} for item in call]}
                while request:
                    request = (
                        self.dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
                    )
        return time.process_time() - started

    def snapshot(self, table: str) -> dict[tuple[str, str], Any]:
        items = {}
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                items[(item["pk"]["S"], item["sk"]["S"])] = item
        return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 CDRs instead of 10,000")
    parser.add_argument("--count", type=int, help="number of CDRs (default 10,000)")
    args = parser.parse_args()
    count = args.count or (1_000 if args.quick else 10_000)
    sent = envelopes(count)
    pseudonymise = pseudonymiser(lambda: PEPPER)
    items = [to_attributes(pseudonymised(parse_cdr(envelope), pseudonymise).to_item()) for envelope in sent]
    rows = []
    with mock_aws():
        bench = Bench()
        for batch in (10, 100):
            events = sqs_events(sent, batch)
            raw_time = bench.batch_write(bench.table(f"raw-{batch}"), items, batch)
            put_time = bench.conditional_puts(bench.table(f"put-{batch}"), items)
            handled = bench.table(f"handler-{batch}")
            bench.use_table(handled)
            handler_time = bench.through_handler(events)
            if len(bench.snapshot(handled)) != count:
                raise SystemExit("the handler did not store every CDR")
            rows.append((batch, handler_time, raw_time, put_time))
        before = bench.snapshot("handler-10")
        bench.use_table("handler-10")
        again = bench.through_handler(sqs_events(sent, 10))
        after = bench.snapshot("handler-10")
    new = len(after.keys() - before.keys())
    changed = sum(1 for key in before.keys() & after.keys() if before[key] != after[key])

    print(f"\nCDR ingestion, {count:,} CDRs, moto in-process (Python {sys.version.split()[0]})\n")
    print(
        "| SQS batch | handler s (ms/CDR) | BatchWriteItem s (ms/CDR) | handler / BatchWriteItem | target "
        "| conditional PutItem s (ms/CDR) | handler / PutItem |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for batch, handler_time, raw_time, put_time in rows:
        ratio = handler_time / raw_time
        verdict = "met" if ratio <= TARGET else "missed"
        print(
            f"| {batch} | {handler_time:.2f} ({1000 * handler_time / count:.2f}) "
            f"| {raw_time:.2f} ({1000 * raw_time / count:.2f}) | {ratio:.2f}x | <= {TARGET}x: {verdict} "
            f"| {put_time:.2f} ({1000 * put_time / count:.2f}) | {handler_time / put_time:.2f}x |"
        )
    print(f"\nRe-delivery of all {count:,} (batches of 10): {again:.2f} s CPU, ", end="")
    print(f"{new} new items, {changed} changed items")
    if new or changed:
        raise SystemExit("re-delivery changed the table")


if __name__ == "__main__":
    main()
