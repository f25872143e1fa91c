"""The session ports on AWS: SessionsTable (DynamoDB), the poller state machine (Step Functions)
and SessionEventBus (EventBridge). The CDR queue is `backbone.aws.cdr_queue.SqsCdrQueue`.

A record is written whole, guarded by `version`: the poller and the stop command both
read-modify-write the same item, and the loser of a race re-reads instead of overwriting.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from backbone.aws.attributes import plain
from backbone.aws.errors import error_code, is_condition_failed
from backbone.privacy.retention import DEFAULT_ACTIVITY_DAYS, expires_after, ttl_attribute
from backbone.sessions.errors import SessionRecordConflict
from backbone.sessions.models import SessionRecord, StatusChanged

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_stepfunctions import SFNClient

BY_SESSION_ID = "BySessionId"
EVENT_SOURCE = "backbone.sessions"
EVENT_DETAIL_TYPE = "SessionStatusChanged"


class DynamoSessionStore:
    """`SessionStore` on SessionsTable (key `requestId`, sparse GSI `BySessionId`)."""

    def __init__(self, table: Table, retention_days: int = DEFAULT_ACTIVITY_DAYS) -> None:
        self.table = table
        self.retention_days = retention_days

    def _item(self, record: SessionRecord) -> dict[str, Any]:
        """The record, with its TTL: kept `retention_days` after its last change (docs/privacy.md)."""
        return record.to_item() | ttl_attribute(expires_after(record.updated_at, self.retention_days))

    def get(self, request_id: str) -> SessionRecord | None:
        item = self.table.get_item(Key={"requestId": request_id}, ConsistentRead=True).get("Item")
        return None if item is None else SessionRecord.from_item(plain(item))

    def find_by_session_id(self, session_id: str) -> SessionRecord | None:
        answer = self.table.query(
            IndexName=BY_SESSION_ID, KeyConditionExpression=Key("sessionId").eq(session_id)
        )
        items = answer.get("Items", [])
        return SessionRecord.from_item(plain(items[0])) if items else None

    def put_new(self, record: SessionRecord) -> bool:
        try:
            self.table.put_item(Item=self._item(record), ConditionExpression=Attr("requestId").not_exists())
        except ClientError as error:
            if is_condition_failed(error):
                return False
            raise
        return True

    def save(self, record: SessionRecord) -> SessionRecord:
        saved = record.model_copy(update={"version": record.version + 1})
        try:
            self.table.put_item(
                Item=self._item(saved), ConditionExpression=Attr("version").eq(record.version)
            )
        except ClientError as error:
            if is_condition_failed(error):
                raise SessionRecordConflict(f"session {record.request_id} changed meanwhile") from error
            raise
        return saved


class EventBridgePublisher:
    """`EventPublisher` on one bus: source `backbone.sessions`, detail-type `SessionStatusChanged`."""

    def __init__(self, client: EventBridgeClient, bus_name: str) -> None:
        self.client = client
        self.bus_name = bus_name

    def publish(self, change: StatusChanged) -> None:
        entry = {
            "Source": EVENT_SOURCE,
            "DetailType": EVENT_DETAIL_TYPE,
            "Detail": change.detail(),
            "EventBusName": self.bus_name,
            "Resources": [change.execution_arn],
        }
        answer = self.client.put_events(Entries=[entry])  # type: ignore[list-item]
        if answer.get("FailedEntryCount"):
            failure = answer["Entries"][0]
            raise RuntimeError(
                f"EventBridge refused the event: {failure.get('ErrorCode')} {failure.get('ErrorMessage')}"
            )


class StepFunctionsExecutions:
    """`Executions` of the session poller state machine."""

    def __init__(self, client: SFNClient, state_machine_arn: str) -> None:
        self.client = client
        self.state_machine_arn = state_machine_arn

    def arn_for(self, name: str) -> str:
        # arn:aws:states:<region>:<account>:stateMachine:<sm> -> ...:execution:<sm>:<name>
        return f"{self.state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"

    def start(self, name: str, payload: dict[str, Any]) -> str:
        try:
            answer = self.client.start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(payload, sort_keys=True)
            )
        except ClientError as error:
            # Same name, finished execution (or, impossibly here, other input): it exists, fine.
            if error_code(error) == "ExecutionAlreadyExists":
                return self.arn_for(name)
            raise
        return answer["executionArn"]

    def stop(self, execution_arn: str, cause: str) -> None:
        try:
            self.client.stop_execution(executionArn=execution_arn, cause=cause)
        except ClientError as error:
            if error_code(error) not in ("ExecutionDoesNotExist", "ValidationException"):
                raise
