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
from hypothesis import strategies as st
from oioiworld import World

from backbone.cdr.store import DynamoCdrStore
from backbone.cdr.wiring import ingest_dependencies

PARTNER = "acme-cpo"
PARTNER_IDENTIFIER = "123456-123456-abcdef-abc123-456def"


class Raw(str):
    """JSON text written as is (numbers such as `1e999999` that no Python value prints)."""


def emit(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(key)}: {emit(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(emit(item) for item in value) + "]"
    return json.dumps(value)


NUMBERS = st.sampled_from(
    [
        "16.5",
        "0",
        "-0",
        "-1",
        "1e999999",
        "-1e999999",
        "1e-200",
        "1E+400",
        "1" + "0" * 100,
        "123456789012345678901234567890123456789.5",
        "1e9",
        "999999999.999",
        "0.000001",
        "1.0e2",
        "16.50000000000000000000000000000000000000000",
        '"16.5"',
        '"1_6.5"',
        '" 16.50 "',
        '"abc"',
        '"16,5"',
        "true",
        "null",
        "[]",
        "{}",
        '""',
    ]
).map(Raw) | st.decimals(allow_nan=False, allow_infinity=False, places=3).map(lambda d: Raw(str(d)))
TEXTS = st.sampled_from(
    [
        "",
        "  ",
        "\u0000",
        "S\u0007",
        "x" * 600,
        "é" * 300,
        "A" * 50_000,
        "DE*8PS*E1",
        "DE8PSE1",
        "04523022aa4881",
    ]
) | st.text(max_size=24)
SURROGATE = st.just(Raw('"\\ud800"'))
TIMES = st.sampled_from(
    [
        "2026-03-01T11:00:00+01:00",
        "2026-03-01T17:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "1970-01-01T00:00:00Z",
        "2026-03-01T11:00:00",
        "yesterday",
        "1262343600",
        "2026-02-30T10:00:00Z",
    ]
) | st.sampled_from([Raw("1262343600"), Raw("null"), Raw("{}")])
ANY_VALUE = NUMBERS | TEXTS | TIMES | SURROGATE


@st.composite
def session_posts(draw: st.DrawFn) -> str:
    post: dict[str, Any] = {
        "user": {"identifier-type": "rfid", "identifier": "04523022AA4881"},
        "session-id": f"S-{draw(st.integers(0, 10**6))}",
        "connector-id": "DE*8PS*E123456",
        "session-interval": {"start": "2026-03-01T11:00:00+01:00", "stop": "2026-03-01T17:00:00+01:00"},
        "energy-consumed": Raw("16.5"),
        "calculated-cost": {"amount": Raw("0.68"), "currency": "EUR"},
        "partner-identifier": PARTNER_IDENTIFIER,
    }
    mutations = {
        ("session-id",): TEXTS | SURROGATE | st.integers(),
        ("connector-id",): TEXTS | SURROGATE | NUMBERS,
        ("energy-consumed",): NUMBERS,
        ("calculated-cost", "amount"): NUMBERS,
        ("calculated-cost", "currency"): st.sampled_from(["eur", " Eur", "EURO", "€", ""]) | NUMBERS,
        ("session-interval", "start"): TIMES,
        ("session-interval", "stop"): TIMES,
        ("user", "identifier"): TEXTS | SURROGATE | NUMBERS,
        ("user", "identifier-type"): st.sampled_from(["rfid", "evco-id", "username", "uid", "drive-user"]),
        ("x-extra",): st.lists(ANY_VALUE, max_size=50),
    }
    for path in draw(st.lists(st.sampled_from(sorted(mutations)), max_size=4, unique=True)):
        parent = post
        for name in path[:-1]:
            parent = parent[name]
        parent[path[-1]] = draw(mutations[path])
    for name in draw(
        st.lists(st.sampled_from(["user", "session-interval", "calculated-cost", "connector-id"]))
    ):
        post.pop(name, None)
    return emit({"session-post": post})


@pytest.fixture
def ingest_env(monkeypatch: pytest.MonkeyPatch, resources: dict[str, str]) -> Iterator[None]:
    monkeypatch.setenv("CDR_TABLE", resources["CdrTable"])
    monkeypatch.setenv("CDR_DEAD_LETTER_QUEUE_URL", resources["CdrDeadLetterQueue"])
    ingest_dependencies.cache_clear()
    yield
    ingest_dependencies.cache_clear()


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
    store = DynamoCdrStore(aws.client("dynamodb"), resources["CdrTable"])
    assert store.history(PARTNER, str(session_id).strip()), "answered 0 but not stored"
