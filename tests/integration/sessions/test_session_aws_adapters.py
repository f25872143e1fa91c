"""SessionsTable and Step Functions access on moto, tables built from template.yaml."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from sessionharness import create_poller

from backbone.sessions.aws import DynamoSessionStore, StepFunctionsExecutions
from backbone.sessions.errors import SessionRecordConflict
from backbone.sessions.models import SessionRecord, Status

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def new_record(request_id: str = "req-1") -> SessionRecord:
    return SessionRecord(
        request_id=request_id,
        mode="emp",
        connector_id="conn-1",
        key_identifier="3633e0e0",
        execution_arn="arn:aws:states:eu-west-1:123456789012:execution:sm:req-1",
        created_at=T0,
        updated_at=T0,
        status_since=T0,
    ).with_change(T0, note="start requested")


@pytest.fixture
def store(aws: boto3.Session, resources: dict[str, str]) -> DynamoSessionStore:
    return DynamoSessionStore(aws.resource("dynamodb").Table(resources["SessionsTable"]))


def test_given_a_new_request_id_then_it_is_inserted_once(store: DynamoSessionStore) -> None:
    assert store.put_new(new_record()) is True
    assert store.put_new(new_record()) is False
    assert store.get("req-1") == new_record()


def test_given_two_writers_then_the_one_with_a_stale_version_is_refused(store: DynamoSessionStore) -> None:
    store.put_new(new_record())
    first = store.get("req-1")
    assert first is not None
    saved = store.save(first.with_change(T0, status=Status.STARTING, session_id="S1"))

    with pytest.raises(SessionRecordConflict):
        store.save(first.with_change(T0, status=Status.STARTED))

    assert saved.version == 1
    assert store.get("req-1") == saved


def test_given_a_partner_session_id_then_the_record_is_found_through_the_sparse_index(
    store: DynamoSessionStore,
) -> None:
    store.put_new(new_record("req-1"))
    store.put_new(new_record("req-2"))
    second = store.get("req-2")
    assert second is not None
    store.save(second.with_change(T0, status=Status.STARTING, session_id="S2"))

    found = store.find_by_session_id("S2")

    assert found is not None
    assert found.request_id == "req-2"
    assert store.find_by_session_id("S9") is None


def test_given_an_execution_name_then_starting_it_twice_gives_one_execution_and_its_arn_is_predictable(
    aws: boto3.Session, resources: dict[str, str]
) -> None:
    executions = StepFunctionsExecutions(aws.client("stepfunctions"), create_poller(aws))

    first = executions.start("req-1", {"requestId": "req-1"})
    again = executions.start("req-1", {"requestId": "req-1"})
    executions.stop(first, cause="test")
    after_stop = executions.start("req-1", {"requestId": "req-1"})
    executions.stop(executions.arn_for("never-started"), cause="test")

    assert first == again == after_stop == executions.arn_for("req-1")
    listed = aws.client("stepfunctions").list_executions(stateMachineArn=executions.state_machine_arn)
    assert [e["name"] for e in listed["executions"]] == ["req-1"]
