"""The intake contract, end to end in moto: whatever the receiver answers 0 for, ingestion stores.

Hostile and sloppy session-posts (hypothesis, over extreme JSON text the way partners really
send it) go through the receiver handler, then their queue message through the ingest handler:
every post gets a 4xx (and nothing is queued) or is stored; never a 5xx, never a dead letter
or a failed batch record for a post we answered 0.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from handler_cdr_ingest import handler as ingest_handler
from handler_oioi_receiver import handler as receiver_handler
from hypothesis import HealthCheck, given, settings
from oioijson import session_posts
from oioiworld import World

from backbone.cdr.wiring import cdr_ingest_dependencies
from backbone.settings import load_settings
from bbctl.ops_cdr import CdrRecords

PARTNER = "acme-cpo"


@pytest.fixture
def ingest_env(monkeypatch: pytest.MonkeyPatch, resources: dict[str, str]) -> Iterator[None]:
    monkeypatch.setenv("CDR_TABLE", resources["CdrTable"])
    monkeypatch.setenv("CDR_DEAD_LETTER_QUEUE_URL", resources["CdrDeadLetterQueue"])
    monkeypatch.setenv("PRIVACY_PEPPER_SECRET", resources["PrivacyPepperSecret"])
    load_settings.cache_clear()
    cdr_ingest_dependencies.cache_clear()
    yield
    load_settings.cache_clear()
    cdr_ingest_dependencies.cache_clear()


def queued_messages(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return list(messages)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=session_posts())
@pytest.mark.usefixtures("ingest_env")
def test_given_any_session_post_then_it_is_refused_with_a_4xx_or_stored_never_lost(
    body: str,
    world: World,
    aws: boto3.Session,
    resources: dict[str, str],
    load_event: Any,
    lambda_context: Any,
) -> None:
    sqs = aws.client("sqs")
    event = copy.deepcopy(load_event("oioi/session-post.json"))
    event |= {"body": body, "isBase64Encoded": False}

    response = receiver_handler(event, lambda_context)
    answer = json.loads(response["body"])
    messages = queued_messages(sqs, resources["CdrQueue"])

    assert response["statusCode"] < 500, answer
    if response["statusCode"] != 200:
        assert answer["result"]["code"] == 230
        assert answer["error"]
        assert messages == []
        return
    assert answer["result"]["code"] == 0
    [message] = messages
    records = {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1",
                    "SenderId": "x",
                    "ApproximateFirstReceiveTimestamp": "1",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:CdrQueue",
                "awsRegion": "eu-west-1",
            }
        ]
    }
    assert ingest_handler(records, lambda_context) == {"batchItemFailures": []}
    assert queued_messages(sqs, resources["CdrDeadLetterQueue"]) == []
    session_id = json.loads(json.loads(message["Body"])["raw"])["session-id"]
    store = CdrRecords(aws.client("dynamodb"), resources["CdrTable"])
    assert store.history(PARTNER, str(session_id).strip()), "answered 0 but not stored"
