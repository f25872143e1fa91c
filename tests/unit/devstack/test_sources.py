"""Event sources: SQS/DynamoDB event records, partial batch responses, filters, schedules."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest

from devstack.functions import Invocation
from devstack.sources import (
    Cron,
    EventSource,
    Schedule,
    Scheduler,
    UnsupportedCron,
    failed_item_ids,
    next_fire,
    parse_rate,
    passes_filters,
    scheduled_event,
    sqs_record,
    stream_record,
)

QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:work"
UTC = dt.UTC


def outcome(ok: bool, payload: object) -> Invocation:
    return Invocation("Fn", "test", "req", ok, payload, 1.0, False)


def test_given_received_message_when_building_record_then_it_matches_lambdas_sqs_record() -> None:
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "rh-1",
        "Body": '{"a": 1}',
        "MD5OfBody": "md5",
        "Attributes": {
            "ApproximateReceiveCount": "2",
            "SentTimestamp": "1700000000000",
            "SenderId": "AID",
            "ApproximateFirstReceiveTimestamp": "1700000000001",
            "Other": "dropped",
        },
        "MessageAttributes": {
            "kind": {"StringValue": "cdr", "DataType": "String"},
            "blob": {"BinaryValue": b"\x01\x02", "DataType": "Binary"},
        },
    }

    record = sqs_record(message, QUEUE_ARN, "eu-west-1")

    assert record["messageId"] == "m-1"
    assert record["receiptHandle"] == "rh-1"
    assert record["body"] == '{"a": 1}'
    assert record["attributes"]["ApproximateReceiveCount"] == "2"
    assert "Other" not in record["attributes"]
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "cdr",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AQI="
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == (
        "aws:sqs",
        QUEUE_ARN,
        "eu-west-1",
    )
    assert record["md5OfBody"] == "md5"


def test_given_boto3_stream_record_when_building_lambda_record_then_dates_and_bytes_are_json() -> None:
    raw = {
        "eventID": "e1",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": dt.datetime(2026, 1, 1, tzinfo=UTC),
            "Keys": {"pk": {"S": "k"}},
            "NewImage": {"pk": {"S": "k"}, "blob": {"B": b"\x00"}},
            "SequenceNumber": "100",
        },
    }

    record = stream_record(raw, "arn:stream", "eu-west-1")

    assert record["dynamodb"]["ApproximateCreationDateTime"] == 1767225600
    assert record["dynamodb"]["NewImage"]["blob"] == {"B": "AA=="}
    assert (record["awsRegion"], record["eventSourceARN"], record["eventVersion"]) == (
        "eu-west-1",
        "arn:stream",
        "1.1",
    )


@pytest.mark.parametrize(
    ("ok", "payload", "report", "expected"),
    [
        (True, {"batchItemFailures": [{"itemIdentifier": "b"}]}, True, {"b"}),
        (True, {"batchItemFailures": []}, True, set()),
        (True, None, True, set()),
        (True, {"batchItemFailures": [{"itemIdentifier": "b"}]}, False, set()),  # not reported: ignored
        (True, {"batchItemFailures": [{"itemIdentifier": "zzz"}]}, True, {"a", "b", "c"}),  # invalid: all
        (True, {"batchItemFailures": [{"itemIdentifier": ""}]}, True, {"a", "b", "c"}),
        (False, {"errorType": "ValueError"}, True, {"a", "b", "c"}),  # an error fails the batch
    ],
)
def test_given_function_outcome_when_reading_batch_failures_then_failed_ids_follow_lambda_rules(
    ok: bool, payload: object, report: bool, expected: set[str]
) -> None:
    assert failed_item_ids(outcome(ok, payload), report, ["a", "b", "c"]) == expected


def test_given_filter_patterns_when_matching_records_then_json_bodies_and_operators_apply() -> None:
    record = {"body": '{"type": "cdr", "kwh": 12.5, "site": "DE-123"}', "attributes": {}}

    assert passes_filters([], record, "body")
    assert passes_filters([{"body": {"type": ["cdr"]}}], record, "body")
    assert not passes_filters([{"body": {"type": ["session"]}}], record, "body")
    assert passes_filters([{"body": {"site": [{"prefix": "DE-"}]}}], record, "body")
    assert passes_filters([{"body": {"kwh": [{"numeric": [">", 10, "<=", 20]}]}}], record, "body")
    assert passes_filters([{"body": {"missing": [{"exists": False}]}}], record, "body")
    assert passes_filters([{"body": {"type": [{"anything-but": ["session"]}]}}], record, "body")
    assert passes_filters([{"body": {"type": ["x"]}}, {"body": {"type": ["cdr"]}}], record, "body")  # any


def test_given_stream_event_name_filter_when_matching_then_only_listed_events_pass() -> None:
    patterns = [{"eventName": ["INSERT", "MODIFY"]}]

    assert passes_filters(patterns, {"eventName": "INSERT"}, None)
    assert not passes_filters(patterns, {"eventName": "REMOVE"}, None)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("rate(1 minute)", dt.timedelta(minutes=1)),
        ("rate(5 minutes)", dt.timedelta(minutes=5)),
        ("rate(2 hours)", dt.timedelta(hours=2)),
        ("rate(1 day)", dt.timedelta(days=1)),
    ],
)
def test_given_rate_expression_when_parsed_then_interval(expression: str, expected: dt.timedelta) -> None:
    assert parse_rate(expression) == expected


@pytest.mark.parametrize(
    "expression", ["rate(0 minutes)", "rate(5 weeks)", "rate(minutes)", "cron(* * * * ? *)"]
)
def test_given_invalid_rate_when_parsed_then_value_error(expression: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        parse_rate(expression)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 10 * * ? *)", dt.datetime(2026, 3, 1, 9, 59), dt.datetime(2026, 3, 1, 10, 0)),
        ("cron(0 10 * * ? *)", dt.datetime(2026, 3, 1, 10, 0), dt.datetime(2026, 3, 2, 10, 0)),
        ("cron(0/15 * * * ? *)", dt.datetime(2026, 3, 1, 9, 16), dt.datetime(2026, 3, 1, 9, 30)),
        (
            "cron(30 2 ? * MON-FRI *)",
            dt.datetime(2026, 3, 7, 0, 0),
            dt.datetime(2026, 3, 9, 2, 30),
        ),  # Sat -> Mon
        ("cron(0 0 1 JAN ? *)", dt.datetime(2026, 3, 1), dt.datetime(2027, 1, 1)),
        ("cron(0 12 ? * 1 *)", dt.datetime(2026, 3, 2), dt.datetime(2026, 3, 8, 12, 0)),  # 1 = Sunday
    ],
)
def test_given_cron_expression_when_computing_next_fire_then_aws_semantics(
    expression: str, after: dt.datetime, expected: dt.datetime
) -> None:
    assert next_fire(expression, after.replace(tzinfo=UTC)) == expected.replace(tzinfo=UTC)


def test_given_cron_with_timezone_when_computing_next_fire_then_local_time_is_used() -> None:
    after = dt.datetime(2026, 7, 1, 0, 0, tzinfo=UTC)

    assert next_fire("cron(0 9 * * ? *)", after, "Europe/Berlin") == dt.datetime(2026, 7, 1, 7, 0, tzinfo=UTC)


def test_given_cron_with_last_day_marker_when_parsed_then_unsupported() -> None:
    with pytest.raises(UnsupportedCron):
        Cron.parse("cron(0 0 L * ? *)")


def test_given_at_expression_when_computing_next_fire_then_once_in_the_future_only() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=UTC)

    assert next_fire("at(2026-01-02T03:04:05)", now) == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert next_fire("at(2025-01-02T03:04:05)", now) is None


def test_given_schedule_without_input_when_fired_then_eventbridge_scheduled_event() -> None:
    rule = "arn:aws:events:eu-west-1:123456789012:rule/stk-FnDaily"
    schedule = Schedule(EventSource("Fn", "Daily", "Schedule", {"Schedule": "rate(1 day)"}), rule)

    event = schedule.payload("123456789012", "eu-west-1")

    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"] == [rule]
    assert event["detail"] == {}
    assert event["account"] == "123456789012"


def test_given_schedule_with_input_or_override_when_fired_then_that_payload() -> None:
    with_input = Schedule(EventSource("Fn", "Daily", "Schedule", {"Input": '{"mode": "full"}'}), "arn")

    assert with_input.payload("1", "eu-west-1") == {"mode": "full"}
    assert with_input.payload("1", "eu-west-1", override={"mode": "manual"}) == {"mode": "manual"}
    assert Schedule(EventSource("Fn", "V2", "ScheduleV2", {}), "arn").payload("1", "r") == {}


def test_given_fixed_time_when_building_scheduled_event_then_time_is_iso_utc() -> None:
    event = scheduled_event("arn", "1", "eu-west-1", dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC))

    assert event["time"] == "2026-05-06T07:08:09Z"


def test_given_a_due_schedule_when_its_rule_is_disabled_then_it_does_not_fire_until_enabled() -> None:
    # The local stack passes the State of the schedule's rule in the emulator as `enabled`.
    schedule = Schedule(
        EventSource("Fn", "Daily", "Schedule", {"Schedule": "rate(1 day)"}),
        "arn:aws:events:eu-west-1:123456789012:rule/stk-FnDaily",
    )
    fired: list[str] = []
    states = {"stk-FnDaily": False}

    def fire(due: Schedule, override: Any) -> None:
        fired.append(due.source.label)

    scheduler = Scheduler([schedule], fire, threading.Event(), enabled=lambda due: states[due.rule_name])

    assert scheduler.fire_if_enabled(schedule) is False
    states["stk-FnDaily"] = True
    assert scheduler.fire_if_enabled(schedule) is True
    assert fired == ["Fn/Daily"]
    assert scheduler.fire_now("Fn/Daily") is None  # on demand fires whatever the State
    assert fired == ["Fn/Daily", "Fn/Daily"]
