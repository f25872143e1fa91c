"""Operator tools for CDRs (`bbctl cdr`): CdrTable's access patterns for people (a session's
records, the review queue and resolving it), and CdrDeadLetterQueue: look at what is there and
why, and send it back. Not shipped in the Lambda layer.

Two kinds of messages land there: CDRs ingestion refused as invalid (sent at once, reason in the
`cdrRejectReason` attribute) and messages that failed five deliveries (throttling that outlasted
retries, a bug): their reason is in the CdrIngestFunction logs under the message id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from backbone.aws.attributes import from_attributes
from backbone.aws.errors import is_condition_failed
from backbone.aws.pages import batch_get, items
from backbone.cdr.models import (
    REJECT_ATTRIBUTES,
    REJECT_REASON,
    REVIEW_ATTRIBUTE,
    REVIEW_NOTE,
    REVIEW_OPEN,
    REVIEWED_AT,
    Driver,
    StoredCdr,
    driver_index_key,
)
from backbone.privacy.pseudonym import Pseudonymiser
from backbone.timeutil import to_storage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef, MessageTypeDef

_PEEK_VISIBILITY_S = 30
_MOVE_VISIBILITY_S = 60
_EXHAUSTED = (
    "failed ingestion on every delivery (maxReceiveCount); see CdrIngestFunction logs for the message id"
)


class CdrRecords:
    """CdrTable as operators read it (docs/cdr-ingestion.md, access patterns)."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client, self.table = client, table

    def history(self, partner_id: str, session_id: str) -> list[StoredCdr]:
        """The current record and the corrections of one session (strongly consistent)."""
        return self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"{partner_id}#{session_id}"}},
            ConsistentRead=True,
        )

    def by_session(self, session_id: str) -> list[StoredCdr]:
        """Every record with this session id, of any partner, oldest received first (the index
        gives the keys, the table the records)."""
        return self._by_keys(
            items(
                self.client.query,
                TableName=self.table,
                IndexName="BySession",
                KeyConditionExpression="sessionId = :id",
                ExpressionAttributeValues={":id": {"S": session_id}},
            )
        )

    def by_driver(
        self,
        driver: Driver,
        pseudonymise: Pseudonymiser,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[StoredCdr]:
        """A driver's records (the id as an operator types it, in its canonical spelling), oldest
        start first, optionally with a start in [start, end]. The ByDriver key is
        `<type>#<pseudonym>`; records stored before pseudonymisation at write still carry
        `<type>#<raw id>` until the retention purge rewrites them, so both keys are read."""
        keys = (driver_index_key(driver.type, pseudonymise(driver.key)), driver.key)
        found = [item for key in dict.fromkeys(keys) for item in self._driver_keys(key, start, end)]
        found.sort(key=lambda item: item["startedAt"]["S"])
        return self._by_keys(found)

    def _driver_keys(
        self, key: str, start: datetime | None, end: datetime | None
    ) -> Iterator[dict[str, Any]]:
        condition, values = "driverKey = :d", {":d": {"S": key}}
        if start is not None and end is not None:
            condition += " AND startedAt BETWEEN :a AND :b"
        elif start is not None:
            condition += " AND startedAt >= :a"
        elif end is not None:
            condition += " AND startedAt <= :b"
        if start is not None:
            values[":a"] = {"S": to_storage(start)}
        if end is not None:
            values[":b"] = {"S": to_storage(end)}
        return items(
            self.client.query,
            TableName=self.table,
            IndexName="ByDriver",
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
        )

    def _by_keys(self, keys: Iterable[dict[str, Any]]) -> list[StoredCdr]:
        """The records at these index keys, read from the table (indexes project no records)."""
        return [
            StoredCdr.from_item(from_attributes(item))
            for item in batch_get(self.client, self.table, list(keys))
        ]

    def awaiting_review(self, limit: int | None = None) -> Iterator[StoredCdr]:
        """Records stored with anomalies and not yet resolved, oldest received first."""
        keys = items(
            self.client.query,
            TableName=self.table,
            IndexName="NeedsReview",
            KeyConditionExpression="#h = :open",
            ExpressionAttributeNames={"#h": REVIEW_ATTRIBUTE},
            ExpressionAttributeValues={":open": {"S": REVIEW_OPEN}},
        )
        shown = 0
        for key in keys:
            item = self.client.get_item(
                TableName=self.table, Key={"pk": key["pk"], "sk": key["sk"]}, ConsistentRead=True
            ).get("Item")
            if item is None or REVIEW_ATTRIBUTE not in item:
                continue  # replaced or resolved since the index was read
            yield StoredCdr.from_item(from_attributes(item))
            shown += 1
            if limit is not None and shown >= limit:
                return

    def resolve_review(self, stored: StoredCdr, note: str, at: datetime) -> bool:
        """Mark a flagged record reviewed (it leaves the NeedsReview index); the CDR itself is
        not touched. False if it was not awaiting review (resolved already, or replaced)."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": stored.cdr.pk}, "sk": {"S": stored.sk}},
                UpdateExpression="SET #at = :at, #note = :note REMOVE #review",
                ConditionExpression="#review = :open AND payloadHash = :hash",
                ExpressionAttributeNames={
                    "#at": REVIEWED_AT,
                    "#note": REVIEW_NOTE,
                    "#review": REVIEW_ATTRIBUTE,
                },
                ExpressionAttributeValues={
                    ":at": {"S": to_storage(at)},
                    ":note": {"S": note},
                    ":open": {"S": REVIEW_OPEN},
                    ":hash": {"S": stored.cdr.payload_hash},
                },
            )
        except ClientError as error:
            if is_condition_failed(error):
                return False
            raise
        return True

    def _query(self, **arguments: Any) -> list[StoredCdr]:
        found = items(self.client.query, TableName=self.table, **arguments)
        return [StoredCdr.from_item(from_attributes(item)) for item in found]


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    reason: str
    sent_at: str | None
    source: str | None
    partner_id: str | None
    session_id: str | None
    body: str

    def view(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "reason": self.reason,
            "sentAt": self.sent_at,
            "source": self.source,
            "partnerId": self.partner_id,
            "sessionId": self.session_id,
        }


@dataclass(frozen=True)
class RedriveResult:
    method: str  # "move-task" (SQS moves them, asynchronously) or "copy" (sent, then deleted)
    moved: int | None  # copy: how many; move-task: unknown when it starts
    task_handle: str | None = None
    move_task_error: str | None = None  # why the move task was not used, when it was tried


def peek(sqs: SQSClient, dlq_url: str, limit: int = 10) -> list[DeadLetter]:
    """Up to `limit` dead letters with their reasons. Messages are hidden while being read and
    made visible again right after, so nothing is consumed."""
    found: dict[str, DeadLetter] = {}
    handles: list[str] = []
    try:
        while len(found) < limit:
            messages = sqs.receive_message(
                QueueUrl=dlq_url,
                MaxNumberOfMessages=min(10, limit - len(found)),
                VisibilityTimeout=_PEEK_VISIBILITY_S,
                WaitTimeSeconds=1,
                MessageSystemAttributeNames=["SentTimestamp"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                handles.append(message["ReceiptHandle"])
                found[message["MessageId"]] = describe(message)
    finally:
        for start in range(0, len(handles), 10):
            chunk = handles[start : start + 10]
            sqs.change_message_visibility_batch(
                QueueUrl=dlq_url,
                Entries=[
                    {"Id": str(number), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                    for number, handle in enumerate(chunk)
                ],
            )
    return list(found.values())


def describe(message: MessageTypeDef) -> DeadLetter:
    body = message.get("Body", "")
    attributes: dict[str, Any] = dict(message.get("MessageAttributes", {}))
    reason = attributes.get(REJECT_REASON, {}).get("StringValue") or _EXHAUSTED
    sent = message.get("Attributes", {}).get("SentTimestamp")
    envelope = _json_object(body)
    raw = _json_object(str(envelope.get("raw", "")))
    raw = raw.get("session-post", raw) if isinstance(raw.get("session-post"), dict) else raw
    session_id = raw.get("session-id") or raw.get("sessionId")
    return DeadLetter(
        message_id=message["MessageId"],
        reason=reason,
        sent_at=to_storage(datetime.fromtimestamp(int(sent) / 1000, UTC)) if sent else None,
        source=_text(envelope.get("source")),
        partner_id=_text(envelope.get("partnerId")),
        session_id=_text(session_id),
        body=body,
    )


def redrive(
    sqs: SQSClient, dlq_url: str, queue_url: str, max_messages: int | None = None, *, move_task: bool = True
) -> RedriveResult:
    """Send dead letters back to CdrQueue. Without a limit, SQS moves them itself
    (StartMessageMoveTask) unless `move_task` is off; with a limit, or where that API is missing
    (moto), each message is sent to CdrQueue and deleted from the dead-letter queue only after
    the send succeeded: a crash in between leaves a duplicate, which ingestion ignores, never a
    loss. The copy stops after the messages that were there when it started, so a CDR that is
    refused again at once is not sent round in circles."""
    error: str | None = None
    if max_messages is None and move_task:
        try:
            handle = sqs.start_message_move_task(
                SourceArn=_arn(sqs, dlq_url), DestinationArn=_arn(sqs, queue_url)
            )
            return RedriveResult("move-task", None, handle["TaskHandle"])
        except (ClientError, NotImplementedError) as failure:
            error = str(failure).splitlines()[0][:200]
    waiting = int(
        sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"
        ]["ApproximateNumberOfMessages"]
    )
    limit = waiting if max_messages is None else min(max_messages, waiting)
    moved = 0
    while moved < limit:
        messages = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=min(10, limit - moved),
            VisibilityTimeout=_MOVE_VISIBILITY_S,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            attributes = _forwarded_attributes(message.get("MessageAttributes", {}))
            extra: dict[str, Any] = {"MessageAttributes": attributes} if attributes else {}
            sqs.send_message(QueueUrl=queue_url, MessageBody=message["Body"], **extra)
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return RedriveResult("copy", moved, move_task_error=error)


def _forwarded_attributes(attributes: Mapping[str, Any]) -> dict[str, MessageAttributeValueTypeDef]:
    """The producer's attributes, without our rejection notes (a redriven CDR starts afresh)."""
    forwarded: dict[str, MessageAttributeValueTypeDef] = {}
    for name, value in attributes.items():
        if name in REJECT_ATTRIBUTES:
            continue
        kept: MessageAttributeValueTypeDef = {"DataType": value["DataType"]}
        if "StringValue" in value:
            kept["StringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            kept["BinaryValue"] = value["BinaryValue"]
        forwarded[name] = kept
    return forwarded


def _arn(sqs: SQSClient, queue_url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
