"""DynamoDB access to SessionsTable (key `requestId`, sparse GSI `BySessionId`).

A record is written whole, guarded by `version`: the poller and the stop command both
read-modify-write the same item, and the loser of a race re-reads instead of overwriting.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from backbone.sessions.errors import SessionRecordConflict
from backbone.sessions.models import SessionRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

BY_SESSION_ID = "BySessionId"
_CONDITION_FAILED = "ConditionalCheckFailedException"


class DynamoSessionStore:
    """`SessionStore` on a boto3 Table resource."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, request_id: str) -> SessionRecord | None:
        item = self.table.get_item(Key={"requestId": request_id}, ConsistentRead=True).get("Item")
        return None if item is None else SessionRecord.from_item(_plain(item))

    def find_by_session_id(self, session_id: str) -> SessionRecord | None:
        answer = self.table.query(
            IndexName=BY_SESSION_ID, KeyConditionExpression=Key("sessionId").eq(session_id)
        )
        items = answer.get("Items", [])
        return SessionRecord.from_item(_plain(items[0])) if items else None

    def put_new(self, record: SessionRecord) -> bool:
        try:
            self.table.put_item(Item=record.to_item(), ConditionExpression=Attr("requestId").not_exists())
        except ClientError as error:
            if _code(error) == _CONDITION_FAILED:
                return False
            raise
        return True

    def save(self, record: SessionRecord) -> SessionRecord:
        saved = record.model_copy(update={"version": record.version + 1})
        try:
            self.table.put_item(Item=saved.to_item(), ConditionExpression=Attr("version").eq(record.version))
        except ClientError as error:
            if _code(error) == _CONDITION_FAILED:
                raise SessionRecordConflict(f"session {record.request_id} changed meanwhile") from error
            raise
        return saved


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the record only has whole numbers."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    return value
