"""BillingEventsFunction against the template's CdrTable stream and BillingEventBus in moto:
CDRs ingested by CdrIngestFunction become exactly the billing events a billing system needs,
each valid against its schema; what the bus refuses is reported back, never skipped."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from billingfactory import cdr_item
from cdrfactory import oioi, session_post_text
from handler_billing_events import handler
from handler_cdr_ingest import handler as ingest_handler
from jsonschema import Draft4Validator

from backbone.billing.aws import EventBridgeBillingBus
from backbone.billing.wiring import billing_events_dependencies
from backbone.cdr.envelope import CdrEnvelope
from backbone.settings import load_settings
from bbctl.ops_billing import republish, stored_between

pytestmark = pytest.mark.usefixtures("billing_env")
Stream = Callable[[], dict[str, Any]]
Tap = Callable[[], list[dict[str, Any]]]
SCHEMAS = Path(__file__).resolve().parents[3] / "schemas" / "billing"


def ingest(*envelopes: CdrEnvelope, context: Any) -> None:
    event = {
        "Records": [
            {
                "messageId": f"m-{n}",
                "receiptHandle": f"r-{n}",
                "body": envelope.to_message(),
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
            for n, envelope in enumerate(envelopes)
        ]
    }
    assert ingest_handler(event, context) == {"batchItemFailures": []}


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(event["detail-type"], event["detail"]["sessionId"]) for event in events]


def assert_valid(events: list[dict[str, Any]]) -> None:
    for event in events:
        schema = json.loads((SCHEMAS / f"{event['detail-type']}-v1.json").read_text())
        assert list(Draft4Validator(schema).iter_errors(event)) == [], event


def test_given_a_session_ongoing_then_final_then_redelivered_then_corrected_then_one_event_each(
    lambda_context: Any, stream: Stream, tap: Tap
) -> None:
    ingest(
        oioi(session_post_text("S-1", stop=None, charging_stop=None, energy="3.1", cost="2.00"), 1),
        context=lambda_context,
    )
    assert handler(stream(), lambda_context) == {"batchItemFailures": []}
    assert tap() == []  # an ongoing update is not billing news

    final = oioi(session_post_text("S-1"), 5)
    ingest(final, context=lambda_context)
    assert handler(stream(), lambda_context) == {"batchItemFailures": []}
    (finalized,) = tap()
    assert summary([finalized]) == [("CdrFinalized", "S-1")]
    assert (finalized["detail"]["energyKwh"], finalized["detail"]["costAmount"]) == ("16.5", "14.32")
    assert finalized["detail"]["startedAt"] == "2026-03-01T10:00:00.000Z"  # 11:00+01:00 in UTC

    ingest(final, context=lambda_context)  # redelivery: DUPLICATE, nothing written
    assert handler(stream(), lambda_context) == {"batchItemFailures": []}
    assert tap() == []

    ingest(oioi(session_post_text("S-1", cost="15.10"), 9), context=lambda_context)
    assert handler(stream(), lambda_context) == {"batchItemFailures": []}
    (corrected,) = tap()
    assert summary([corrected]) == [("CdrCorrected", "S-1")]
    assert corrected["detail"]["costAmount"] == "15.10"
    assert corrected["detail"]["eventId"] != finalized["detail"]["eventId"]
    assert_valid([finalized, corrected])


def test_given_a_flagged_final_then_it_is_finalized_and_flagged(
    lambda_context: Any, stream: Stream, tap: Tap
) -> None:
    ingest(oioi(session_post_text("S-2", currency="XXX1")), context=lambda_context)
    assert handler(stream(), lambda_context) == {"batchItemFailures": []}
    events = tap()
    assert sorted(summary(events)) == [("CdrFinalized", "S-2"), ("CdrFlagged", "S-2")]
    assert all(event["detail"]["needsReview"] for event in events)
    assert_valid(events)


def test_given_a_stream_batch_delivered_twice_then_the_events_carry_the_same_ids(
    lambda_context: Any, stream: Stream, tap: Tap
) -> None:
    ingest(oioi(session_post_text("S-3")), context=lambda_context)
    batch = stream()
    handler(batch, lambda_context)
    handler(batch, lambda_context)  # the stream retries a batch: at least once
    first, second = tap()
    assert first["detail"]["eventId"] == second["detail"]["eventId"]


def test_given_more_records_than_one_put_events_call_takes_then_every_one_is_published(
    lambda_context: Any, aws: boto3.Session, resources: dict[str, str], stream: Stream, tap: Tap
) -> None:
    table = aws.resource("dynamodb").Table(resources["CdrTable"])
    for number in range(23):
        table.put_item(Item=cdr_item(session=f"S-{number}"))
    assert handler(stream(), lambda_context) == {"batchItemFailures": []}
    assert sorted(summary(tap())) == sorted(("CdrFinalized", f"S-{n}") for n in range(23))


def test_given_the_bus_refuses_the_events_then_their_records_are_reported_back(
    lambda_context: Any, monkeypatch: pytest.MonkeyPatch, resources: dict[str, str], stream: Stream, tap: Tap
) -> None:
    ingest(
        oioi(session_post_text("S-4", stop=None, charging_stop=None)),
        oioi(session_post_text("S-5")),
        context=lambda_context,
    )
    batch = stream()
    sequence = [record["dynamodb"]["SequenceNumber"] for record in batch["Records"]]

    use_bus(monkeypatch, "no-such-bus")
    assert handler(batch, lambda_context) == {"batchItemFailures": [{"itemIdentifier": sequence[1]}]}

    use_bus(monkeypatch, resources["BillingEventBus"])  # the stream delivers the batch again
    assert handler(batch, lambda_context) == {"batchItemFailures": []}
    assert summary(tap()) == [("CdrFinalized", "S-5")]


def use_bus(monkeypatch: pytest.MonkeyPatch, bus: str) -> None:
    monkeypatch.setenv("BILLING_EVENT_BUS", bus)
    load_settings.cache_clear()
    billing_events_dependencies.cache_clear()


def test_given_stored_cdrs_then_republishing_sends_the_events_again_with_their_ids(
    lambda_context: Any, aws: boto3.Session, resources: dict[str, str], stream: Stream, tap: Tap
) -> None:
    ingest(
        oioi(session_post_text("S-6")),
        oioi(session_post_text("S-6", cost="1.00"), 3),
        oioi(session_post_text("S-7", stop=None, charging_stop=None)),
        context=lambda_context,
    )
    handler(stream(), lambda_context)
    published = {event["detail"]["eventId"]: event["detail-type"] for event in tap()}
    assert sorted(published.values()) == ["CdrCorrected", "CdrFinalized"]

    table = aws.resource("dynamodb").Table(resources["CdrTable"])
    bus = EventBridgeBillingBus(aws.client("events"), resources["BillingEventBus"])
    report = republish(
        stored_between(table, "2026-03-01T00:00:00.000Z", "2026-03-02T00:00:00.000Z", None), bus
    )

    assert (report.records, report.events, report.failed) == (3, {"CdrCorrected": 1, "CdrFinalized": 1}, [])
    assert {event["detail"]["eventId"]: event["detail-type"] for event in tap()} == published
