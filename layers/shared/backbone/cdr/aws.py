"""The CDR ports on AWS: CdrTable, SessionsTable (as reconciliation reads it) and the
dead-letter queue. The CDR queue is `backbone.aws.cdr_queue.SqsCdrQueue`.

The merge rules live in `backbone.cdr.ingest`; this module gives them one atomic primitive,
"write the record if it advances the session" (`put_if_advances`), as a DynamoDB conditional
write, and the same for a batch (`write_all`): one TransactWriteItems whose items carry exactly
the single-record conditions. DynamoDB evaluates a condition and writes the item as one step,
serialised per item, so two deliveries of the same session racing (two Lambda instances, a
redelivered message) cannot both win: the loser gets the winner's item back
(ReturnValuesOnConditionCheckFailure, also per item of a cancelled transaction) and the merge
rules decide from it, with no extra read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from backbone.aws.attributes import from_attributes, to_attributes
from backbone.aws.errors import error_code, is_condition_failed
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
    RecordWrite,
    Refused,
    StoredState,
    WriteConflict,
)
from backbone.privacy.retention import DEFAULT_ACCOUNTING_YEARS, accounting_expiry, ttl_attribute
from backbone.timeutil import from_storage, to_storage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef
    from mypy_boto3_sqs import SQSClient

_MAX_REASON = 2000
ADVANCES_CONDITION = "attribute_not_exists(pk) OR (#status = :ongoing AND #progress < :progress)"
ABSENT_CONDITION = "attribute_not_exists(pk)"
_CONFLICTS = frozenset({"None", "TransactionConflict"})


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

    def write_all(self, writes: Sequence[RecordWrite]) -> list[Refused]:
        """One TransactWriteItems. The token makes boto3's retry of a transaction whose answer
        was lost a no-op instead of a refusal of our own write."""
        items = [self._transact_put(write) for write in writes]
        try:
            self.client.transact_write_items(TransactItems=items, ClientRequestToken=_token(items))
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            reasons = cast("dict[str, Any]", error.response).get("CancellationReasons", [])
            refused = [
                Refused(write, self._refused_current(write, reason))
                for write, reason in zip(writes, reasons, strict=False)
                if reason.get("Code") == "ConditionalCheckFailed"
            ]
            if refused:
                return refused
            if {str(reason.get("Code")) for reason in reasons} <= _CONFLICTS:
                raise WriteConflict(str(error)) from error
            raise
        return []

    def _transact_put(self, write: RecordWrite) -> TransactWriteItemTypeDef:
        put: Any = {"TableName": self.table, "Item": to_attributes(self._item(write.cdr, write.kind))}
        if write.kind is RecordKind.CDR and write.replaces is not None:
            put |= {
                "ConditionExpression": ADVANCES_CONDITION,
                "ExpressionAttributeNames": {"#status": "status", "#progress": "progress"},
                "ExpressionAttributeValues": {
                    ":ongoing": {"S": CdrStatus.ONGOING.value},
                    ":progress": {"S": write.cdr.progress},
                },
            }
        else:
            put["ConditionExpression"] = ABSENT_CONDITION
        if write.kind is RecordKind.CDR:
            put["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return {"Put": put}

    def _refused_current(self, write: RecordWrite, reason: dict[str, Any]) -> StoredState | None:
        if write.kind is not RecordKind.CDR:
            return None  # that correction is stored already
        return StoredState.from_item(from_attributes(reason.get("Item") or self._get_current(write.cdr.pk)))

    def put_correction(self, cdr: Cdr) -> bool:
        try:
            self.client.put_item(
                TableName=self.table,
                Item=to_attributes(self._item(cdr, RecordKind.CORRECTION)),
                ConditionExpression=ABSENT_CONDITION,
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


def _token(items: Sequence[TransactWriteItemTypeDef]) -> str:
    """Idempotency token of a batch write: the same writes (keys, progress and conditions),
    the same token (36 characters)."""
    digest = hashlib.sha256()
    for entry in items:
        put: Any = entry["Put"]
        item = put["Item"]
        digest.update(f"{item['pk']}|{item['sk']}|{item['progress']}|{put['ConditionExpression']}\n".encode())
    return digest.hexdigest()[:36]


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
