"""The CDR ports on AWS: CdrTable, SessionsTable (as reconciliation reads it) and the
dead-letter queue. The CDR queue is `backbone.aws.cdr_queue.SqsCdrQueue`.

The merge rules live in `backbone.cdr.ingest`; this module gives them one atomic primitive,
"write the record if it advances the session" (`put_if_advances`), as a DynamoDB conditional
write. DynamoDB evaluates the condition and writes the item as one step, serialised per item,
so two deliveries of the same session racing (two Lambda instances, a redelivered message)
cannot both win: the loser gets the winner's item back (ReturnValuesOnConditionCheckFailure)
and the merge rules decide from it, with no extra read.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from backbone.aws.attributes import from_attributes, to_attributes
from backbone.aws.errors import is_condition_failed
from backbone.aws.pages import items
from backbone.cdr.models import (
    CURRENT_SK,
    REJECT_REASON,
    REJECTED_AT,
    REJECTED_MESSAGE_ID,
    Cdr,
    CdrStatus,
    PollerSession,
    PutResult,
    RecordKind,
    StoredState,
)
from backbone.privacy.retention import DEFAULT_ACCOUNTING_YEARS, accounting_expiry, ttl_attribute
from backbone.timeutil import from_storage, to_storage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

_MAX_REASON = 2000
ADVANCES_CONDITION = "attribute_not_exists(pk) OR (#status = :ongoing AND #progress < :progress)"


class DynamoCdrStore:
    """CdrTable as the Lambdas use it: ingestion's writes, reconciliation's "is it there"."""

    def __init__(
        self, client: DynamoDBClient, table: str, accounting_years: int = DEFAULT_ACCOUNTING_YEARS
    ) -> None:
        self.client, self.table = client, table
        self.accounting_years = accounting_years

    def _item(self, cdr: Cdr, kind: RecordKind = RecordKind.CDR) -> dict[str, Any]:
        """The record with its TTL: removed once the accounting period after the year it was
        received is over (docs/privacy.md, "Retention")."""
        return cdr.to_item(kind) | ttl_attribute(accounting_expiry(cdr.received_at, self.accounting_years))

    def put_if_advances(self, cdr: Cdr) -> PutResult:
        try:
            response = self.client.put_item(
                TableName=self.table,
                Item=to_attributes(self._item(cdr)),
                ConditionExpression=ADVANCES_CONDITION,
                ExpressionAttributeNames={"#status": "status", "#progress": "progress"},
                ExpressionAttributeValues={
                    ":ongoing": {"S": CdrStatus.ONGOING.value},
                    ":progress": {"S": cdr.progress},
                },
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not is_condition_failed(error):
                raise
            current = cast("dict[str, Any]", error.response).get("Item") or self._get_current(cdr.pk)
            return PutResult(False, StoredState.from_item(from_attributes(current)))
        old = response.get("Attributes")
        return PutResult(True, StoredState.from_item(from_attributes(old)) if old else None)

    def put_correction(self, cdr: Cdr) -> bool:
        try:
            self.client.put_item(
                TableName=self.table,
                Item=to_attributes(self._item(cdr, RecordKind.CORRECTION)),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if is_condition_failed(error):
                return False
            raise
        return True

    def _get_current(self, pk: str) -> dict[str, Any]:
        # Only if DynamoDB did not return the item with the failure (it does since 2023).
        item = self.client.get_item(
            TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": CURRENT_SK}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            raise RuntimeError(f"condition failed but {pk} has no current record")
        return dict(item)

    def has_final(self, session_id: str) -> bool:
        """Whether a final CDR with this session id is stored (any partner). Index reads are
        eventually consistent: a CDR written a moment ago may not show yet."""
        found = items(
            self.client.query,
            TableName=self.table,
            IndexName="BySession",
            KeyConditionExpression="sessionId = :id",
            ExpressionAttributeValues={":id": {"S": session_id}},
        )
        # BySession projects `kind` and `status` (BY_SESSION_PROJECTION): all this reads.
        return any(
            item["kind"]["S"] == RecordKind.CDR.value and item["status"]["S"] == CdrStatus.FINAL.value
            for item in found
        )


class SessionsTableReader:
    """The session poller's SessionsTable, as reconciliation reads it: records seen COMPLETE.

    A filtered Scan: reconciliation runs hourly and the table holds one small item per remote
    session; an index on completion time would pay off only at many thousand sessions a day.
    """

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client, self.table = client, table

    def completed_since(self, since: datetime) -> Iterator[PollerSession]:
        found = items(
            self.client.scan,
            TableName=self.table,
            FilterExpression="#status = :complete AND #completed >= :since AND attribute_exists(#session)",
            ProjectionExpression="#session, #mode, #user, #completed",
            ExpressionAttributeNames={
                "#status": "status",
                "#completed": "completedAt",
                "#session": "sessionId",
                "#mode": "mode",
                "#user": "userId",
            },
            ExpressionAttributeValues={":complete": {"S": "COMPLETE"}, ":since": {"S": to_storage(since)}},
        )
        for raw in found:
            item = from_attributes(raw)
            yield PollerSession(
                session_id=str(item["sessionId"]),
                mode="emp" if item.get("mode") == "emp" else "drive",
                user_id=item.get("userId"),
                completed_at=from_storage(str(item["completedAt"])),
            )


class SqsDeadLetters:
    """Invalid CDRs straight to CdrDeadLetterQueue, the reason as a message attribute."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self.client, self.queue_url = client, queue_url

    def send(self, body: str, reason: str, message_id: str, at: datetime) -> None:
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=body,
            MessageAttributes={
                REJECT_REASON: {"DataType": "String", "StringValue": reason[:_MAX_REASON] or "invalid"},
                REJECTED_AT: {"DataType": "String", "StringValue": to_storage(at)},
                REJECTED_MESSAGE_ID: {"DataType": "String", "StringValue": message_id or "unknown"},
            },
        )
