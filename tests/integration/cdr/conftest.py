"""CDR integration fixtures: CdrTable and the CDR queues from template.yaml in moto, the
functions' environment, and DynamoDB's per-item atomicity for concurrency tests."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto.dynamodb.models import DynamoDBBackend

from backbone.aws import clients
from backbone.cdr.wiring import cdr_ingest_dependencies, cdr_reconcile_dependencies
from backbone.observability import metrics
from backbone.partners.factory import plugsurfing_client
from backbone.settings import load_settings
from devstack import moto_patches

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit"))  # emfcapture
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "cdr"))  # cdrfactory

from cdrfakes import TEST_PEPPER
from cdrtable import CdrTable

DRIVE_BASE_URL = "https://drive.test/drive"
API_KEY = "test-plugsurfing-key"


def _clear_caches() -> None:
    parameters.clear_caches()
    load_settings.cache_clear()
    cdr_ingest_dependencies.cache_clear()
    cdr_reconcile_dependencies.cache_clear()
    clients.reset()
    plugsurfing_client.cache_clear()


@pytest.fixture(autouse=True)
def _transactions_as_the_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's TransactWriteItems as the local stack runs it: conditions checked before any
    write, so a cancelled batch write leaves the table (and its stream) as it was."""
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", moto_patches._transact_write_items)


@pytest.fixture
def cdr_env(monkeypatch: pytest.MonkeyPatch, aws: boto3.Session, resources: dict[str, str]) -> Iterator[None]:
    """Both CDR functions' environment as the template sets it (Drive mode)."""
    secret = resources["PlugsurfingApiKeySecret"]
    aws.client("secretsmanager").put_secret_value(SecretId=secret, SecretString=API_KEY)
    pepper = resources["PrivacyPepperSecret"]
    aws.client("secretsmanager").put_secret_value(SecretId=pepper, SecretString=TEST_PEPPER)
    for name, value in {
        "CDR_TABLE": resources["CdrTable"],
        "CDR_QUEUE_URL": resources["CdrQueue"],
        "CDR_DEAD_LETTER_QUEUE_URL": resources["CdrDeadLetterQueue"],
        "SESSIONS_TABLE": resources["SessionsTable"],
        "CDR_PARTNER_ID": "plugsurfing",
        "PARTNER_MODE": "drive",
        "DRIVE_API_BASE_URL": DRIVE_BASE_URL,
        "PLUGSURFING_API_KEY_SECRET": secret,
        "PRIVACY_PEPPER_SECRET": pepper,
        "POWERTOOLS_SERVICE_NAME": "cdr-tests",
    }.items():
        monkeypatch.setenv(name, value)
    _clear_caches()
    monkeypatch.setattr(metrics, "namespace", "PlugsurfingBackboneTest")  # Metrics was built at import
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()
    _clear_caches()


@pytest.fixture
def cdr_store(aws: boto3.Session, resources: dict[str, str]) -> CdrTable:
    return CdrTable(aws.client("dynamodb"), resources["CdrTable"])


@pytest.fixture
def table_items(aws: boto3.Session, resources: dict[str, str]) -> Callable[[], dict[tuple[str, str], Any]]:
    """`table_items()`: every item of CdrTable, by (pk, sk), as DynamoDB holds it."""
    client = aws.client("dynamodb")

    def scan() -> dict[tuple[str, str], Any]:
        items = {}
        for page in client.get_paginator("scan").paginate(
            TableName=resources["CdrTable"], ConsistentRead=True
        ):
            for item in page["Items"]:
                items[(item["pk"]["S"], item["sk"]["S"])] = item
        return items

    return scan


@pytest.fixture
def queue_messages(aws: boto3.Session) -> Callable[[str], list[dict[str, Any]]]:
    """`queue_messages(url)`: receive (and delete) everything on a queue, with attributes."""
    sqs = aws.client("sqs")

    def drain(url: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while messages := sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                found.append(message)
        return found

    return drain


@pytest.fixture
def stream(aws: boto3.Session, resources: dict[str, str]) -> Callable[[], list[dict[str, Any]]]:
    """`stream()`: CdrTable's stream records written since the last call (what billing sees)."""
    table = aws.client("dynamodb").describe_table(TableName=resources["CdrTable"])["Table"]
    streams = aws.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=table["LatestStreamArn"])["StreamDescription"]["Shards"][0]
    state = {
        "iterator": streams.get_shard_iterator(
            StreamArn=table["LatestStreamArn"], ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
    }

    def read() -> list[dict[str, Any]]:
        answer = streams.get_records(ShardIterator=state["iterator"])
        state["iterator"] = answer["NextShardIterator"]
        return list(answer["Records"])

    return read
