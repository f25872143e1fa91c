"""Charging-key integration fixtures: the table in moto, its stream, and the simulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from backbone.keys.aws import KeyStore
from backbone.keys.settings import KeyReconcileSettings, KeySyncSettings
from backbone.keys.wiring import key_reconcile_dependencies, key_store, key_sync_dependencies
from backbone.observability import metrics
from backbone.partners.factory import plugsurfing_client
from backbone.settings import load_settings
from simulator import DEFAULT_API_KEY, PlugsurfingSimulator


@pytest.fixture
def keys(resources: dict[str, str]) -> KeyStore:
    return KeyStore.for_table(resources["ChargingKeysTable"])


@pytest.fixture
def stream(aws: boto3.Session, resources: dict[str, str]) -> Callable[[], dict[str, Any]]:
    """`stream()` returns the table's stream records written since the last call, as the Lambda
    event the stream event source would deliver."""
    table = aws.client("dynamodb").describe_table(TableName=resources["ChargingKeysTable"])["Table"]
    arn = table["LatestStreamArn"]
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
        records = []
        for record in answer["Records"]:
            record["dynamodb"].pop("ApproximateCreationDateTime", None)  # a datetime, not JSON
            records.append({**record, "eventSourceARN": arn})
        return {"Records": records}

    return read


@pytest.fixture
def simulator() -> Iterator[PlugsurfingSimulator]:
    with PlugsurfingSimulator(port=0, seed=7) as sim:
        yield sim


def _clear_caches() -> None:
    parameters.clear_caches()
    load_settings.cache_clear()
    for cached in (key_store, key_sync_dependencies, key_reconcile_dependencies):
        cached.cache_clear()
    plugsurfing_client.cache_clear()


@pytest.fixture
def function_env(
    monkeypatch: pytest.MonkeyPatch, aws: boto3.Session, resources: dict[str, str]
) -> Iterator[Callable[..., None]]:
    """`function_env(base_url, mode=..., api_key=...)`: the key functions' environment (as the
    template sets it) pointed at a partner base URL; the API key goes into the moto secret."""

    def configure(base_url: str, mode: str = "emp", api_key: str = DEFAULT_API_KEY) -> None:
        secret = resources["PlugsurfingApiKeySecret"]
        aws.client("secretsmanager").put_secret_value(SecretId=secret, SecretString=api_key)
        for name, value in {
            "CHARGING_KEYS_TABLE": resources["ChargingKeysTable"],
            "DRIVE_API_BASE_URL": base_url,
            "PLUGSURFING_API_KEY_SECRET": secret,
            "PARTNER_MODE": mode,
            "KEY_SYNC_MAX_ATTEMPTS": "2",
            "KEY_LIST_PAGE_SIZE": "10",
            "POWERTOOLS_SERVICE_NAME": "key-tests",
            "POWERTOOLS_METRICS_NAMESPACE": "PlugsurfingBackbone",
        }.items():
            monkeypatch.setenv(name, value)
        _clear_caches()
        monkeypatch.setattr(metrics, "namespace", "PlugsurfingBackboneTest")  # Metrics was built at import
        # Settings are validated here so a typo fails the test setup, not the handler.
        load_settings(KeySyncSettings)
        load_settings(KeyReconcileSettings)

    yield configure
    _clear_caches()
