"""Key-order integration fixtures: moto (tables, stream, queues, secret), the simulator over real
HTTP, Lambda's SQS poller and the keys table stream played by small helpers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import handler_key_sync
import pytest
from aws_lambda_powertools.utilities import parameters

from backbone.aws import clients
from backbone.keys.aws import KeyStore
from backbone.keys.settings import KeySyncSettings
from backbone.keys.wiring import key_store
from backbone.observability import metrics
from backbone.orders.aws import DynamoDriveOrderStore, DynamoOrderStore
from backbone.orders.settings import DriveOrderSettings, OrderCrawlSettings, OrderFulfilSettings
from backbone.orders.wiring import (
    drive_order_dependencies,
    order_crawl_dependencies,
    order_fulfil_dependencies,
)
from backbone.partners.factory import plugsurfing_client
from backbone.settings import load_settings
from simulator import DEFAULT_API_KEY, PlugsurfingSimulator


@pytest.fixture
def simulator() -> Iterator[PlugsurfingSimulator]:
    with PlugsurfingSimulator(port=0, seed=11) as sim:
        yield sim


@pytest.fixture
def orders(aws: boto3.Session, resources: dict[str, str]) -> DynamoOrderStore:
    return DynamoOrderStore(aws.resource("dynamodb").Table(resources["OrdersTable"]))


@pytest.fixture
def drive_orders(aws: boto3.Session, resources: dict[str, str]) -> DynamoDriveOrderStore:
    return DynamoDriveOrderStore(aws.resource("dynamodb").Table(resources["DriveOrdersTable"]))


@pytest.fixture
def keys(resources: dict[str, str]) -> KeyStore:
    return KeyStore.for_table(resources["ChargingKeysTable"])


def _clear_caches() -> None:
    parameters.clear_caches()
    for cached in (
        load_settings,
        key_store,
        order_crawl_dependencies,
        order_fulfil_dependencies,
        drive_order_dependencies,
        plugsurfing_client,
    ):
        cached.cache_clear()
    clients.reset()
    metrics.clear_metrics()


@pytest.fixture
def function_env(
    monkeypatch: pytest.MonkeyPatch, aws: boto3.Session, resources: dict[str, str]
) -> Iterator[Callable[[str], None]]:
    """`function_env(base_url)`: the environment the template gives the order functions (and
    KeySyncFunction), pointed at a partner base URL. Waiting messages come back at once."""

    def configure(base_url: str) -> None:
        secret = resources["PlugsurfingApiKeySecret"]
        aws.client("secretsmanager").put_secret_value(SecretId=secret, SecretString=DEFAULT_API_KEY)
        for name, value in {
            "ORDERS_TABLE": resources["OrdersTable"],
            "DRIVE_ORDERS_TABLE": resources["DriveOrdersTable"],
            "CHARGING_KEYS_TABLE": resources["ChargingKeysTable"],
            "ORDER_QUEUE_URL": resources["OrderQueue"],
            "DRIVE_ORDER_QUEUE_URL": resources["DriveOrderQueue"],
            "DRIVE_API_BASE_URL": base_url,
            "PLUGSURFING_API_KEY_SECRET": secret,
            "PARTNER_MODE": "emp",
            "QUEUE_RETRY_BASE_SECONDS": "0",
            "ORDER_CRAWL_MARGIN_MS": "1000",
            "ORDER_CRAWL_PAGE_SIZE": "10",
            # Parameter OrderCrawlStartDate: the tests' orders are dated from 2026-01 on.
            "ORDER_CRAWL_START": "2026-01-01T00:00:00Z",
            "KEY_LIST_PAGE_SIZE": "10",
            "POWERTOOLS_SERVICE_NAME": "order-tests",
            "POWERTOOLS_METRICS_NAMESPACE": "PlugsurfingBackbone",
        }.items():
            monkeypatch.setenv(name, value)
        _clear_caches()
        monkeypatch.setattr(metrics.provider, "namespace", "PlugsurfingBackbone")
        for model in (OrderCrawlSettings, OrderFulfilSettings, DriveOrderSettings, KeySyncSettings):
            load_settings(model)  # a typo fails the setup, not the handler

    yield configure
    _clear_caches()


@dataclass
class Delivery:
    """One poll of a queue by "Lambda": the records handed over and those reported failed."""

    records: list[dict[str, Any]]
    failed: list[str]

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(record["body"]) for record in self.records]


@pytest.fixture
def deliver(aws: boto3.Session) -> Callable[[str, Callable[..., Any], Any], Delivery]:
    """`deliver(queue_url, handler, context)`: what Lambda's SQS poller does: receive a batch,
    invoke, delete what succeeded; failed records stay on the queue with the visibility the
    function gave them."""
    sqs = aws.client("sqs")

    def run(queue_url: str, handler: Callable[..., Any], context: Any) -> Delivery:
        answer = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        )
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": m["Attributes"]["ApproximateReceiveCount"]},
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:queue",
                "awsRegion": "eu-west-1",
            }
            for m in answer.get("Messages", [])
        ]
        if not records:
            return Delivery([], [])
        result = handler({"Records": records}, context)
        failed = [item["itemIdentifier"] for item in result["batchItemFailures"]]
        for record in records:
            if record["messageId"] not in failed:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=record["receiptHandle"])
        return Delivery(records, failed)

    return run


@pytest.fixture
def key_stream(aws: boto3.Session, resources: dict[str, str], lambda_context: Any) -> Callable[[], int]:
    """`key_stream()`: hand the keys table's new stream records to KeySyncFunction (what the
    DynamoDB event source does); returns how many records it delivered."""
    table = aws.client("dynamodb").describe_table(TableName=resources["ChargingKeysTable"])["Table"]
    arn = table["LatestStreamArn"]
    streams = aws.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    state = {
        "iterator": streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
    }

    def pump() -> int:
        answer = streams.get_records(ShardIterator=state["iterator"])
        state["iterator"] = answer["NextShardIterator"]
        records = []
        for record in answer["Records"]:
            record["dynamodb"].pop("ApproximateCreationDateTime", None)
            records.append({**record, "eventSourceARN": arn})
        if records:
            result = handler_key_sync.handler({"Records": records}, lambda_context)
            assert result["batchItemFailures"] == [], result
        return len(records)

    return pump
