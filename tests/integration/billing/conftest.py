"""Billing integration fixtures: CdrTable, its stream, BillingEventBus and a tap on it, and
BillingExportBucket, all from template.yaml in moto; the functions' environment as the template
sets it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.dynamodb.models import DynamoDBBackend

from backbone.aws import clients
from backbone.billing.wiring import billing_events_dependencies, billing_export_dependencies
from backbone.cdr.wiring import cdr_ingest_dependencies
from backbone.observability import metrics
from backbone.settings import load_settings
from bbctl.ops_billing import BillingEventTap
from devstack import moto_patches
from devstack.sources import stream_record

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "cdr"))  # cdrfactory
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "billing"))  # billingfactory


def _clear_caches() -> None:
    load_settings.cache_clear()
    billing_events_dependencies.cache_clear()
    billing_export_dependencies.cache_clear()
    cdr_ingest_dependencies.cache_clear()
    clients.reset()


@pytest.fixture
def billing_env(
    monkeypatch: pytest.MonkeyPatch, aws: boto3.Session, resources: dict[str, str]
) -> Iterator[None]:
    for name, value in {
        "BILLING_EVENT_BUS": resources["BillingEventBus"],
        "CDR_TABLE": resources["CdrTable"],
        "CDR_DEAD_LETTER_QUEUE_URL": resources["CdrDeadLetterQueue"],
        "PRIVACY_PEPPER_SECRET": resources["PrivacyPepperSecret"],
        "POWERTOOLS_SERVICE_NAME": "billing-tests",
    }.items():
        monkeypatch.setenv(name, value)
    # Ingestion writes in transactions: DynamoDB's semantics, as the local stack runs moto.
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", moto_patches._transact_write_items)
    _clear_caches()
    monkeypatch.setattr(metrics, "namespace", "PlugsurfingBackboneTest")
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()
    _clear_caches()


@pytest.fixture
def stream(aws: boto3.Session, resources: dict[str, str]) -> Callable[[], dict[str, Any]]:
    """`stream()`: CdrTable's stream records written since the last call, as the Lambda event
    the stream event source delivers (converted as the local stack does)."""
    arn = aws.client("dynamodb").describe_table(TableName=resources["CdrTable"])["Table"]["LatestStreamArn"]
    streams = aws.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    state = {
        "iterator": streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
    }

    def read() -> dict[str, Any]:
        answer = streams.get_records(ShardIterator=state["iterator"])
        state["iterator"] = answer["NextShardIterator"]
        return {"Records": [stream_record(record, arn, "eu-west-1") for record in answer["Records"]]}

    return read


@pytest.fixture
def tap(aws: boto3.Session, resources: dict[str, str]) -> Callable[[], list[dict[str, Any]]]:
    """`tap()`: the billing events that reached the bus since the last call."""
    events = BillingEventTap(
        aws.client("events"), aws.client("sqs"), resources["BillingEventBus"], "test-tap"
    )
    queue_url = events.attach()

    def read() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while batch := events.read(queue_url):
            found.extend(batch)
        return found

    return read


@pytest.fixture
def export_env(
    monkeypatch: pytest.MonkeyPatch, aws: boto3.Session, resources: dict[str, str]
) -> Iterator[None]:
    for name, value in {
        "CDR_TABLE": resources["CdrTable"],
        "BILLING_EXPORT_BUCKET": resources["BillingExportBucket"],
        "POWERTOOLS_SERVICE_NAME": "billing-export-tests",
    }.items():
        monkeypatch.setenv(name, value)
    _clear_caches()
    monkeypatch.setattr(metrics, "namespace", "PlugsurfingBackboneTest")
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()
    _clear_caches()
