"""CdrReconcileFunction: SessionsTable and CdrTable in moto, the Drive API mocked with respx.
Missing CDRs are put on CdrQueue as drive-api envelopes, ingestion stores them, and the next run
finds nothing missing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import httpx
import pytest
import respx
from cdrfactory import drive, drive_session_text
from cdrfakes import pseudonymise_for_tests
from cdrtable import CdrTable
from emfcapture import emitted
from handler_cdr_ingest import handler as ingest_handler
from handler_cdr_reconcile import handler

from backbone.cdr.envelope import CdrEnvelope
from backbone.cdr.ingest import ingest
from backbone.cdr.models import Driver, DriverType
from backbone.cdr.parse import parse_cdr
from backbone.timeutil import to_storage, utc_now

pytestmark = pytest.mark.usefixtures("cdr_env")
DRIVE_BASE_URL = "https://drive.test/drive"  # DRIVE_API_BASE_URL of the cdr_env fixture
Drain = Callable[[str], list[dict[str, Any]]]


def session_json(session_id: str, ended_minutes_ago: int) -> dict[str, Any]:
    start = utc_now() - timedelta(minutes=ended_minutes_ago + 30)
    text = drive_session_text(session_id, start=to_storage(start), duration="PT30M")
    return dict(json.loads(text))


def poller_record(
    table: Any, request_id: str, user_id: str, session_id: str, completed_minutes_ago: int
) -> None:
    completed = to_storage(utc_now() - timedelta(minutes=completed_minutes_ago))
    table.put_item(
        Item={
            "requestId": request_id,
            "mode": "drive",
            "connectorId": "abcJd/vR5fvzBa0X/gxaXA==",
            "userId": user_id,
            "sessionId": session_id,
            "status": "COMPLETE",
            "completedAt": completed,
            "createdAt": completed,
        }
    )


def test_given_completed_sessions_without_cdr_when_reconciling_then_they_are_enqueued_and_then_stored(
    aws: boto3.Session,
    resources: dict[str, str],
    cdr_store: CdrTable,
    queue_messages: Drain,
    load_event: Callable[[str], Any],
    lambda_context: Any,
) -> None:
    sessions = aws.resource("dynamodb").Table(resources["SessionsTable"])
    poller_record(sessions, "r-a", "u1", "A", completed_minutes_ago=60)  # CDR missing
    poller_record(sessions, "r-b", "u1", "B", completed_minutes_ago=60)  # CDR present
    poller_record(sessions, "r-d", "u1", "D", completed_minutes_ago=4)  # too recent: may be on its way
    poller_record(sessions, "r-e", "u2", "E", completed_minutes_ago=90)  # CDR missing, history fails
    history_u1 = [session_json("A", 60), session_json("B", 60), session_json("C", 120), session_json("D", 4)]
    ingest(parse_cdr(drive(json.dumps(history_u1[1]))), cdr_store)

    with respx.mock(base_url=DRIVE_BASE_URL, assert_all_called=True) as partner:
        history = partner.post("/v1/users/u1/sessions/history").respond(json={"sessions": history_u1})
        partner.post("/v1/users/u2/sessions/history").respond(404, json={"message": "user not found"})
        partner.get("/v1/users/u2/sessions/E").respond(json=session_json("E", 90))
        report = handler(load_event("cdr/event-schedule-reconcile.json"), lambda_context)

    assert json.loads(history.calls[0].request.content) == {"sessionStatus": ["COMPLETE"], "limit": 50}
    assert report == {
        "checked": 4,  # A, B, C (history only), E
        "missing": 3,
        "reenqueued": 3,
        "errors": 1,  # u2's history
        "reenqueuedSessions": ["A", "C", "E"],
    }
    messages = queue_messages(resources["CdrQueue"])
    envelopes = {CdrEnvelope.model_validate_json(m["Body"]).raw: m for m in messages}
    sent = sorted((CdrEnvelope.model_validate_json(m["Body"]) for m in messages), key=lambda e: e.raw)
    assert {(e.source, e.partner_id) for e in sent} == {("drive-api", "plugsurfing")}
    assert {json.loads(e.raw)["sessionId"]: e.user_id for e in sent} == {"A": "u1", "C": "u1", "E": "u2"}
    assert json.dumps(history_u1[0], separators=(",", ":")) in envelopes  # the partner's values

    ingest_handler({"Records": [_record(m) for m in messages]}, lambda_context)
    with respx.mock(base_url=DRIVE_BASE_URL) as partner:
        partner.post("/v1/users/u1/sessions/history").respond(json={"sessions": history_u1})
        partner.post("/v1/users/u2/sessions/history").respond(json={"sessions": [session_json("E", 90)]})
        again = handler(load_event("cdr/event-schedule-reconcile.json"), lambda_context)

    assert (again["checked"], again["missing"], again["reenqueued"]) == (4, 0, 0)
    u1 = Driver(type=DriverType.DRIVE_USER, id="u1")
    assert cdr_store.by_driver(u1, pseudonymise_for_tests)[0].cdr.session_id in {"A", "B", "C"}


def test_given_the_partner_unreachable_when_reconciling_then_it_reports_errors_and_enqueues_nothing(
    aws: boto3.Session, resources: dict[str, str], queue_messages: Drain, lambda_context: Any
) -> None:
    sessions = aws.resource("dynamodb").Table(resources["SessionsTable"])
    poller_record(sessions, "r-a", "u1", "A", completed_minutes_ago=60)

    with respx.mock(base_url=DRIVE_BASE_URL) as partner:
        partner.post("/v1/users/u1/sessions/history").mock(side_effect=httpx.ConnectError("down"))
        partner.get("/v1/users/u1/sessions/A").mock(side_effect=httpx.ConnectError("down"))
        report = handler({}, lambda_context)

    assert (report["checked"], report["missing"], report["reenqueued"], report["errors"]) == (1, 1, 0, 2)
    assert queue_messages(resources["CdrQueue"]) == []


def test_given_a_reconciliation_run_then_each_plugsurfing_call_is_counted_as_a_partner_call_metric(
    aws: boto3.Session, resources: dict[str, str], lambda_context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions = aws.resource("dynamodb").Table(resources["SessionsTable"])
    poller_record(sessions, "r-a", "u1", "A", completed_minutes_ago=60)
    poller_record(sessions, "r-b", "u2", "B", completed_minutes_ago=60)

    with respx.mock(base_url=DRIVE_BASE_URL) as partner:
        partner.post("/v1/users/u1/sessions/history").respond(json={"sessions": [session_json("A", 60)]})
        partner.post("/v1/users/u2/sessions/history").respond(404, json={"message": "user not found"})
        partner.get("/v1/users/u2/sessions/B").respond(json=session_json("B", 60))
        handler({}, lambda_context)

    calls = [metric for metric in emitted(capsys.readouterr().out) if metric.name == "PartnerCalls"]
    outcomes = sorted(call.dimensions["outcome"] for call in calls for _ in range(int(call.value)))
    assert outcomes == ["client_error", "ok", "ok"]
    assert {call.dimensions["api"] for call in calls} == {"drive"}


def _record(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "0",
            "SenderId": "x",
            "ApproximateFirstReceiveTimestamp": "0",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:CdrQueue",
        "awsRegion": "eu-west-1",
    }
