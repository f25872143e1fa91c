"""CDR ingestion: CdrIngestFunction's handler against a raw BatchWriteItem of the same items.

10,000 distinct final CDRs (OIOI session-posts) go through the real handler (Powertools batch
processor, envelope and payload validation, hashing, the batch decided in memory and written in
one TransactWriteItems with the per-record conditions) in SQS batches of 10 and of 100.
Baselines, built outside the timing from the very same items:

- BatchWriteItem, grouped as the handler receives them (one call per 10 records, four per 100:
  at most 25 per call). Target: handler <= 1.5x this.
- one conditional PutItem per item, issued directly: the previous design's floor (it wrote each
  CDR with its own conditional PutItem); it does not depend on the SQS batch size.

Two backends, each table measured in the same run:

1. moto in-process, CPU seconds of this process (everything is in-process Python; CPU time
   does not move with the load of a shared machine as wall time does);
2. the same moto behind a fixed 5 ms per call (every AWS request sleeps 5 ms before moto
   answers it), wall seconds: on DynamoDB a call costs milliseconds of network, not moto's CPU.

Each run writes to its own fresh CdrTable built from template.yaml. Then all 10,000 are delivered
again (batches of 10): 0 new items and 0 changed items is the contract (the table is compared
item by item).

moto as the local stack runs it (`devstack.moto_patches.transactions_check_first`): moto's own
TransactWriteItems deep-copies every table it touches to roll back, about 1.8 s per call at
1,000 items, a cost DynamoDB does not have. And moto parses a condition expression from its text
at every use (~0.5 ms, twice per conditional write); here each distinct one is parsed once, for
every conditional call alike (`--parse-every-time` leaves it). See docs/cdr-ingestion.md,
"Performance".

Usage: .venv/bin/python benchmarks/cdr_ingest.py [--quick] [--count N] [--backend both|cpu|delayed]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

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
from moto.core.botocore_stubber import BotocoreStubber  # noqa: E402
from moto.dynamodb import comparisons as moto_comparisons  # noqa: E402
from moto.dynamodb import responses as moto_responses  # noqa: E402

from backbone.aws.attributes import to_attributes  # noqa: E402
from backbone.cdr.aws import ADVANCES_CONDITION  # noqa: E402
from backbone.cdr.envelope import CdrEnvelope  # noqa: E402
from backbone.cdr.parse import parse_cdr  # noqa: E402
from backbone.cdr.pseudonymise import pseudonymised  # noqa: E402
from backbone.cdr.wiring import cdr_ingest_dependencies  # noqa: E402
from backbone.privacy.pseudonym import pseudonymiser  # noqa: E402
from backbone.settings import load_settings  # noqa: E402
from devstack.moto_patches import transactions_check_first  # noqa: E402
from devstack.template import Template  # noqa: E402

warnings.filterwarnings("ignore", message="No application metrics")

TARGET = 1.5
PEPPER = "bench-pepper-" + "0" * 32  # PrivacyPepperSecret's value here; items are written pseudonymised
DELAY = 0.005  # seconds per AWS call in the second table
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


class Calls:
    """Every AWS call goes through moto's stubber: count them by operation, and make each cost
    `delay` seconds of wall time first (a network round trip)."""

    delay = 0.0
    counted: ClassVar[Counter[str]] = Counter()
    _call = BotocoreStubber.__call__

    @classmethod
    def install(cls) -> None:
        def call(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
            if stubber.enabled:
                cls.counted[str(request.headers.get("X-Amz-Target", b"?"), "ascii").split(".")[-1]] += 1
                if cls.delay:
                    time.sleep(cls.delay)
            return cls._call(stubber, event_name, request, **kwargs)

        BotocoreStubber.__call__ = call  # type: ignore[method-assign]


class _Parsed:
    """A condition expression moto parsed once: `parse()` gives the same tree every time."""

    def __init__(self, parser: Any) -> None:
        self.tree = parser.parse()
        self.names = list(parser.expr_attr_names_found)

    def parse(self) -> Any:
        return self.tree

    @property
    def expr_attr_names_found(self) -> list[str]:
        return list(self.names)  # a copy: moto extends it in place


def conditions_parsed_once() -> None:
    """moto parses a condition expression from its text every time it meets it (twice per
    conditional write, ~0.5 ms each): for every conditional operation alike (the conditional
    PutItem baseline too; BatchWriteItem has none), parse each distinct expression with its
    names and values once."""
    parsed: dict[str, _Parsed] = {}
    create = moto_comparisons.create_condition_expression_parser

    def create_once(expression: Any, names: Any, values: Any) -> Any:
        key = json.dumps([expression, names, values], sort_keys=True)
        if key not in parsed:
            if len(parsed) > 10_000:
                parsed.clear()
            parsed[key] = _Parsed(create(expression, names, values))
        return parsed[key]

    moto_comparisons.create_condition_expression_parser = create_once  # type: ignore[assignment]
    moto_responses.create_condition_expression_parser = create_once  # type: ignore[attr-defined]


def chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for offset in range(0, len(values), size):
        yield values[offset : offset + size]


@dataclass
class Backend:
    title: str
    unit: str  # what the seconds are
    delay: float
    clock: Callable[[], float]


BACKENDS = (
    Backend("moto in-process", "CPU s", 0.0, time.process_time),
    Backend(f"moto behind {DELAY * 1000:g} ms per call", "wall s", DELAY, time.perf_counter),
)


@dataclass
class Row:
    batch: int
    handler: float
    raw: float
    put: float
    calls: float  # DynamoDB calls of the handler per 100 CDRs
    raw_calls: float


class Bench:
    def __init__(self, backend: Backend) -> None:
        props = Template(REPO / "template.yaml", {"Stage": "local"}).properties("CdrTable")
        self.table_args = {key: props[key] for key in _TABLE_KEYS}
        self.table_args["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        self.dynamodb = boto3.client("dynamodb")
        self.dlq = boto3.client("sqs").create_queue(QueueName="CdrDeadLetterQueue")["QueueUrl"]
        secrets = boto3.client("secretsmanager")
        self.pepper = secrets.create_secret(Name="privacy-pepper", SecretString=PEPPER)["ARN"]
        self.handler = handler
        self.backend = backend

    def table(self, name: str) -> str:
        self.dynamodb.create_table(TableName=name, **self.table_args)
        return name

    def use_table(self, name: str) -> None:
        os.environ["CDR_TABLE"] = name
        os.environ["CDR_DEAD_LETTER_QUEUE_URL"] = self.dlq
        os.environ["PRIVACY_PEPPER_SECRET"] = self.pepper
        load_settings.cache_clear()
        cdr_ingest_dependencies.cache_clear()

    @contextlib.contextmanager
    def timed(self, into: list[float]) -> Iterator[None]:
        """Time the block on this backend's clock, its AWS calls delayed; `into` gets the seconds."""
        Calls.delay, started = self.backend.delay, self.backend.clock()
        try:
            yield
        finally:
            into.append(self.backend.clock() - started)
            Calls.delay = 0.0

    def through_handler(self, events: list[dict[str, Any]]) -> float:
        took: list[float] = []
        with self.timed(took), contextlib.redirect_stdout(io.StringIO()):  # EMF lines
            for event in events:
                failures = self.handler(event, Context())["batchItemFailures"]
                if failures:
                    raise SystemExit(f"handler reported failures: {failures[:3]}")
        return took[0]

    def conditional_puts(self, table: str, items: list[dict[str, Any]]) -> float:
        took: list[float] = []
        with self.timed(took):
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
        return took[0]

    def batch_write(self, table: str, items: list[dict[str, Any]], batch: int) -> float:
        took: list[float] = []
        with self.timed(took):
            for delivery in chunks(items, batch):
                for call in chunks(delivery, 25):
                    request = {table: [{"PutRequest": {"Item": item}} for item in call]}
                    while request:
                        request = (
                            self.dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
                        )
        return took[0]

    def snapshot(self, table: str) -> dict[tuple[str, str], Any]:
        items = {}
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                items[(item["pk"]["S"], item["sk"]["S"])] = item
        return items


def dynamodb_calls(count: int, run: Callable[..., float], *args: Any) -> tuple[float, float]:
    """`run(*args)`'s seconds and its DynamoDB calls per 100 of `count` CDRs."""
    Calls.counted.clear()
    took = run(*args)
    return took, 100 * sum(Calls.counted.values()) / count


def measure(backend: Backend, sent: list[CdrEnvelope], items: list[dict[str, Any]]) -> tuple[list[Row], str]:
    count = len(sent)
    tag = "d" if backend.delay else "c"
    bench = Bench(backend)
    put_time = bench.conditional_puts(bench.table(f"put-{tag}"), items)
    rows = []
    for batch in (10, 100):
        raw_time, raw_calls = dynamodb_calls(
            count, bench.batch_write, bench.table(f"raw-{tag}{batch}"), items, batch
        )
        handled = bench.table(f"handler-{tag}{batch}")
        bench.use_table(handled)
        handler_time, calls = dynamodb_calls(count, bench.through_handler, sqs_events(sent, batch))
        if len(bench.snapshot(handled)) != count:
            raise SystemExit("the handler did not store every CDR")
        rows.append(Row(batch, handler_time, raw_time, put_time, calls, raw_calls))
    before = bench.snapshot(f"handler-{tag}10")
    bench.use_table(f"handler-{tag}10")
    again, again_calls = dynamodb_calls(count, bench.through_handler, sqs_events(sent, 10))
    after = bench.snapshot(f"handler-{tag}10")
    new = len(after.keys() - before.keys())
    changed = sum(1 for key in before.keys() & after.keys() if before[key] != after[key])
    if new or changed:
        raise SystemExit(f"re-delivery changed the table: {new} new, {changed} changed")
    redelivery = (
        f"Re-delivery of all {count:,} (batches of 10): {again:.2f} {backend.unit}, "
        f"{again_calls:g} DynamoDB calls per 100 CDRs, {new} new items, {changed} changed items"
    )
    return rows, redelivery


def table(backend: Backend, count: int, rows: list[Row], redelivery: str) -> str:
    unit = backend.unit
    lines = [
        f"\n{count:,} CDRs, {backend.title} ({unit}; calls = DynamoDB calls per 100 CDRs)\n",
        f"| SQS batch | handler {unit} (ms/CDR) | calls | BatchWriteItem {unit} (ms/CDR) | calls "
        f"| handler / BatchWriteItem | target | conditional PutItem {unit} (ms/CDR) | handler / PutItem |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        ratio = row.handler / row.raw
        verdict = "met" if ratio <= TARGET else "missed"
        lines.append(
            f"| {row.batch} | {row.handler:.2f} ({1000 * row.handler / count:.2f}) | {row.calls:g} "
            f"| {row.raw:.2f} ({1000 * row.raw / count:.2f}) | {row.raw_calls:g} | {ratio:.2f}x "
            f"| <= {TARGET}x: {verdict} | {row.put:.2f} ({1000 * row.put / count:.2f}) "
            f"| {row.handler / row.put:.2f}x |"
        )
    return "\n".join([*lines, "", redelivery])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 CDRs instead of 10,000")
    parser.add_argument("--count", type=int, help="number of CDRs (default 10,000)")
    parser.add_argument(
        "--backend", choices=("both", "cpu", "delayed"), default="both", help="which table (default both)"
    )
    parser.add_argument(
        "--parse-every-time", action="store_true", help="leave moto's condition parsing as it is"
    )
    args = parser.parse_args()
    count = args.count or (1_000 if args.quick else 10_000)
    sent = envelopes(count)
    pseudonymise = pseudonymiser(lambda: PEPPER)
    items = [to_attributes(pseudonymised(parse_cdr(envelope), pseudonymise).to_item()) for envelope in sent]
    Calls.install()
    transactions_check_first()
    if not args.parse_every_time:
        conditions_parsed_once()
    print(f"\nCDR ingestion (Python {sys.version.split()[0]})")
    chosen = {"both": BACKENDS, "cpu": BACKENDS[:1], "delayed": BACKENDS[1:]}[args.backend]
    for backend in chosen:
        with mock_aws():
            rows, redelivery = measure(backend, sent, items)
        print(table(backend, count, rows, redelivery), flush=True)


if __name__ == "__main__":
    main()
