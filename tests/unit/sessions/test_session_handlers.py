"""The two handlers with sample events (events/sessions/) and in-memory dependencies: routing,
status codes, partial batch failures, and task errors surfacing under their ASL names."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import handler_session_api
import handler_session_tasks
import pytest
import yaml
from jsonschema import Draft202012Validator
from sessionfakes import ScriptedPartner, World, at, clocked, partner_session

from backbone.observability import metrics
from backbone.sessions.errors import SessionFinished
from backbone.settings import load_settings

ENV = {
    "DRIVE_API_BASE_URL": "https://drive-api-stage.plugsurfing.com/drive",
    "PLUGSURFING_API_KEY_SECRET": "backbone/plugsurfing-api-key",
    "SESSIONS_TABLE": "SessionsTable",
    "SESSION_STATE_MACHINE_ARN": "arn:aws:states:eu-west-1:123456789012:stateMachine:poller",
    "SESSION_EVENT_BUS": "sessions",
    "CDR_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/CdrQueue",
    "PARTNER_MODE": "emp",
    "CHARGING_KEYS_TABLE": "ChargingKeysTable",
}


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    load_settings.cache_clear()
    monkeypatch.setattr(metrics.provider, "namespace", "PlugsurfingBackboneTest")
    world = World(ScriptedPartner(partner_session("STARTED")))
    monkeypatch.setattr(
        handler_session_api, "session_api_dependencies", lambda settings: clocked(world.commands, at(0))
    )
    monkeypatch.setattr(
        handler_session_tasks, "session_tasks_dependencies", lambda settings: clocked(world.tasks, at(1))
    )
    yield world
    load_settings.cache_clear()


def documented(schema: str) -> Draft202012Validator:
    """A schema of openapi-internal.yaml: what the internal API promises its callers."""
    spec = yaml.safe_load((Path(__file__).resolve().parents[3] / "openapi-internal.yaml").read_text())
    return Draft202012Validator({"$ref": f"#/components/schemas/{schema}", "components": spec["components"]})


def call_api(event: dict[str, Any], context: Any) -> tuple[int, dict[str, Any]]:
    response = handler_session_api.handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def test_given_a_start_request_then_202_with_the_session_and_200_with_the_same_for_a_repeat(
    world: World, load_event: Callable[[str], Any], lambda_context: Any
) -> None:
    event = load_event("sessions/api-post-start-session.json")

    status, body = call_api(event, lambda_context)
    repeat_status, repeat = call_api(event, lambda_context)

    assert status == 202
    assert body["requestId"] == "order-4711-start"
    assert body["status"] == "REQUESTED"
    assert body["requestedBy"] == "arn:aws:sts::123456789012:assumed-role/charging-app/session"
    assert body["created"] is True
    assert repeat_status == 200
    assert repeat == {**body, "created": False}
    assert list(world.executions.started) == ["order-4711-start"]


def test_given_an_invalid_start_request_then_400_names_the_fields(
    world: World, load_event: Callable[[str], Any], lambda_context: Any
) -> None:
    status, body = call_api(load_event("sessions/api-post-start-session-invalid.json"), lambda_context)

    assert status == 400
    assert {problem["field"] for problem in body["problems"]} == {"requestId", "connectorId"}
    assert world.store.records == {}


def test_given_drive_fields_in_emp_mode_then_400_says_what_is_missing(
    world: World, load_event: Callable[[str], Any], lambda_context: Any
) -> None:
    status, body = call_api(load_event("sessions/api-post-start-session-drive.json"), lambda_context)

    assert status == 400
    assert body == {"error": "InvalidStartRequest", "message": "keyIdentifier is required in emp mode"}


def test_given_a_session_then_get_returns_status_and_history_and_404_otherwise(
    world: World, load_event: Callable[[str], Any], lambda_context: Any
) -> None:
    call_api(load_event("sessions/api-post-start-session.json"), lambda_context)
    handler_session_tasks.handler(load_event("sessions/task-start.json"), lambda_context)

    status, body = call_api(load_event("sessions/api-get-session.json"), lambda_context)
    missing = load_event("sessions/api-get-session.json") | {
        "path": "/internal/sessions/nope",
        "pathParameters": {"identifier": "nope"},
    }
    missing_status, _ = call_api(missing, lambda_context)

    assert status == 200
    assert body["status"] == "STARTING"
    assert body["sessionId"] == "LWO89J3mDJr"
    assert [entry["status"] for entry in body["history"]] == ["REQUESTED", "STARTING"]
    assert "version" not in body
    assert missing_status == 404


def test_given_a_started_session_then_stop_answers_202_and_before_the_partner_id_409(
    world: World, load_event: Callable[[str], Any], lambda_context: Any
) -> None:
    call_api(load_event("sessions/api-post-start-session.json"), lambda_context)
    early_status, early = call_api(load_event("sessions/api-post-stop-session.json"), lambda_context)
    handler_session_tasks.handler(load_event("sessions/task-start.json"), lambda_context)

    status, body = call_api(load_event("sessions/api-post-stop-session.json"), lambda_context)

    assert (early_status, early["error"]) == (409, "SessionNotStarted")
    assert status == 202
    assert body["stopRequestedAt"] == "2026-03-01T12:00:00.000Z"
    assert body["executionArn"].endswith(":order-4711-start.stop")


def test_given_a_queue_batch_with_one_bad_message_then_only_that_one_is_reported_failed(
    world: World, load_event: Callable[[str], Any], lambda_context: Any
) -> None:
    event = load_event("sessions/sqs-start-session.json")

    result = handler_session_api.handler(event, lambda_context)

    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert world.record("fleet-run-42").requested_by == "queue"


def test_given_task_events_then_the_tasks_handler_dispatches_and_finished_surfaces_by_name(
    world: World, load_event: Callable[[str], Any], lambda_context: Any
) -> None:
    call_api(load_event("sessions/api-post-start-session.json"), lambda_context)

    started = handler_session_tasks.handler(load_event("sessions/task-start.json"), lambda_context)
    polled = handler_session_tasks.handler(load_event("sessions/task-poll.json"), lambda_context)
    failed = handler_session_tasks.handler(load_event("sessions/task-record-failure.json"), lambda_context)

    assert started == {"requestId": "order-4711-start", "status": "STARTING", "waitSeconds": 10}
    assert polled["status"] == "STARTED"
    assert failed == {"requestId": "order-4711-start", "recorded": True, "status": "ERROR"}
    with pytest.raises(SessionFinished):
        handler_session_tasks.handler(load_event("sessions/task-poll.json"), lambda_context)
    assert world.record("order-4711-start").error == "KeyError: 'sessionStatus'"


def test_given_an_evse_start_then_it_starts_on_its_one_connector_and_409_lists_several(
    world: World, load_event: Callable[[str], Any], lambda_context: Any
) -> None:
    event = load_event("sessions/api-post-start-session.json")
    start = {"keyIdentifier": "3633e0e0", "evseId": "DE*ION*E1234*1", "latitude": 52.33, "longitude": 13.14}
    world.chargers.evses["DE*ION*E1234*2"] = ("conn-a", "conn-b")

    status, body = call_api({**event, "body": json.dumps({"requestId": "by-evse", **start})}, lambda_context)
    several = {**start, "evseId": "DE*ION*E1234*2"}
    refused, choices = call_api(
        {**event, "body": json.dumps({"requestId": "two", **several})}, lambda_context
    )
    hintless = {"requestId": "nowhere", "keyIdentifier": "3633e0e0", "evseId": "DE*ION*E1234*1"}
    invalid, problem = call_api({**event, "body": json.dumps(hintless)}, lambda_context)

    assert (status, body["connectorId"], body["evseId"]) == (
        202,
        "abcJd/vR5fvzBa0X/gxaXA==",
        "DE*ION*E1234*1",
    )
    assert refused == 409
    assert choices["error"] == "EvseHasSeveralConnectors"
    assert [c["connectorId"] for c in choices["connectors"]] == ["conn-a", "conn-b"]
    assert invalid == 400
    assert "latitude and longitude" in problem["problems"][0]["message"]
    assert set(world.store.records) == {"by-evse"}
    documented("SessionStarted").validate(body)
    documented("SeveralConnectors").validate(choices)
    documented("InvalidRequest").validate(problem)
