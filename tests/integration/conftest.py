"""Integration tier: AWS emulated by moto in-process; tables and queues built from template.yaml,
so tests and infrastructure cannot drift."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.decode.cfn_yaml import load
from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler

TEMPLATE: Any = load(str(Path(__file__).resolve().parents[2] / "template.yaml"))
REGION = "eu-west-1"
_TABLE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "StreamSpecification",
    "BillingMode",
)


class TemplateResources(dict[str, str]):
    """Logical id -> physical id (table name, queue URL, secret ARN, bus name, topic ARN)."""


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _resources(kind: str) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in TEMPLATE["Resources"].items() if r["Type"] == kind}


def create_template_resources(session: boto3.Session) -> TemplateResources:
    """Create every table, queue, secret, event bus, topic and usage plan the template declares."""
    created = TemplateResources()
    dynamodb, sqs = session.client("dynamodb"), session.client("sqs")
    for name, resource in _resources("AWS::DynamoDB::Table").items():
        props = _plain(resource.get("Properties", {}))
        args = {key: props[key] for key in _TABLE_KEYS if key in props}
        if "StreamSpecification" in args:
            args["StreamSpecification"] = {"StreamEnabled": True, **args["StreamSpecification"]}
        dynamodb.create_table(TableName=name, **args)
        if ttl := props.get("TimeToLiveSpecification"):
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        created[name] = name
    queues = _resources("AWS::SQS::Queue")
    # Dead-letter queues first: a redrive policy names its DLQ by ARN.
    for name, resource in sorted(
        queues.items(), key=lambda item: "RedrivePolicy" in item[1].get("Properties", {})
    ):
        props = _plain(resource.get("Properties", {}))
        attributes = {
            key: str(value)
            for key, value in props.items()
            if key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds")
        }
        if redrive := props.get("RedrivePolicy"):
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            dlq_arn = sqs.get_queue_attributes(QueueUrl=created[target], AttributeNames=["QueueArn"])
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"],
                    "maxReceiveCount": redrive["maxReceiveCount"],
                }
            )
        created[name] = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    secrets = session.client("secretsmanager")
    for name in _resources("AWS::SecretsManager::Secret"):
        created[name] = secrets.create_secret(Name=name, SecretString=f"test-{name}")["ARN"]
    for name in _resources("AWS::Events::EventBus"):
        session.client("events").create_event_bus(Name=name)
        created[name] = name
    for name in _resources("AWS::SNS::Topic"):
        created[name] = session.client("sns").create_topic(Name=name)["TopicArn"]
    for name in _resources("AWS::ApiGateway::UsagePlan"):
        stages = [{"apiId": "oioi000000", "stage": "staging"}]  # the API of events/oioi/*.json
        created[name] = session.client("apigateway").create_usage_plan(
            name=name, apiStages=stages, throttle={"rateLimit": 50.0, "burstLimit": 100}
        )["id"]
    return created


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    """moto in-process with fake credentials; yields a boto3 session."""
    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.Session(region_name=REGION)


@pytest.fixture
def resources(aws: boto3.Session) -> TemplateResources:
    """Every template table/queue/secret/bus/topic, created in moto; logical id -> physical id."""
    return create_template_resources(aws)


@pytest.fixture
def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB checks a condition, writes and returns the old item as one step per request;
    moto takes no lock (its response layer reads the ALL_OLD item before the backend writes,
    its queries iterate dicts other threads change). Serialise moto's DynamoDB requests, whole,
    so concurrency tests measure our code's races and not moto's."""
    lock = threading.Lock()
    original = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> Any:
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", call_action)
