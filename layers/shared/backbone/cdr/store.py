"""CdrTable, the dead-letter queue and the CDR queue behind small interfaces.

The merge rules live in `backbone.cdr.logic`; this module gives them one atomic primitive,
"write the record if it advances the session" (`put_if_advances`), as a DynamoDB conditional
write. DynamoDB evaluates the condition and writes the item as one step, serialised per item,
so two deliveries of the same session racing (two Lambda instances, a redelivered message)
cannot both win: the loser gets the winner's item back (ReturnValuesOnConditionCheckFailure)
and the merge rules decide from it, with no extra read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

from backbone.cdr.envelope import CdrEnvelope
from backbone.cdr.models import (
    CURRENT_SK,
    INDEXES,
    REVIEW_ATTRIBUTE,
    REVIEW_NOTE,
    REVIEW_OPEN,
    REVIEWED_AT,
    Cdr,
    CdrStatus,
    RecordKind,
    StoredCdr,
    StoredState,
)
from backbone.timeutil import from_storage, to_storage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef
    from mypy_boto3_sqs import SQSClient

    from backbone.cdr.reconcile import PollerSession

TOTAL_ATTEMPTS = 5
AWS_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": TOTAL_ATTEMPTS}, connect_timeout=5, read_timeout=10
)
"""boto3 retries throttling and 5xx itself (standard mode, exponential back-off with jitter);
what still fails fails the record, and SQS delivers it again later."""

REJECT_REASON = "cdrRejectReason"
REJECTED_AT = "cdrRejectedAt"
REJECTED_MESSAGE_ID = "cdrRejectedMessageId"
REJECT_ATTRIBUTES = frozenset({REJECT_REASON, REJECTED_AT, REJECTED_MESSAGE_ID})
_MAX_REASON = 2000

ADVANCES_CONDITION = "attribute_not_exists(pk) OR (#status = :ongoing AND #progress < :progress)"
_serializer, _deserializer = TypeSerializer(), TypeDeserializer()


@dataclass(frozen=True)
class PutResult:
    """`written`: the record is now the session's current record; `previous` is the one it
    replaced (None: the session is new). Not written: `previous` is the current record, which
    is final or further along."""

    written: bool
    previous: StoredState | None


class CdrStore(Protocol):
    def put_if_advances(self, cdr: Cdr) -> PutResult:
        """Make `cdr` the current record if the session has none, or its current record is
        ONGOING with a lower progress key. Atomic."""
        ...

    def put_correction(self, cdr: Cdr) -> bool:
        """Store `cdr` as a correction unless that very correction is stored already."""
        ...


class DeadLetters(Protocol):
    def send(self, body: str, reason: str, message_id: str) -> None:
        """Park a message that can never be ingested, with the reason beside it."""
        ...


def to_attributes(item: Mapping[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {name: _serializer.serialize(value) for name, value in item.items()}


def from_attributes(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


class DynamoCdrStore:
    """CdrTable: writes for ingestion, and the access patterns billing and operators use."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client, self.table = client, table

    # --- writes ----------------------------------------------------------------------------------

    def put_if_advances(self, cdr: Cdr) -> PutResult:
        try:
            response = self.client.put_item(
                TableName=self.table,
                Item=to_attributes(cdr.to_item()),
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
            if not _is_condition_failure(error):
                raise
            current = cast("dict[str, Any]", error.response).get("Item") or self._get_current(cdr.pk)
            return PutResult(False, StoredState.from_item(from_attributes(current)))
        old = response.get("Attributes")
        return PutResult(True, StoredState.from_item(from_attributes(old)) if old else None)

    def put_correction(self, cdr: Cdr) -> bool:
        try:
            self.client.put_item(
                TableName=self.table,
                Item=to_attributes(cdr.to_item(RecordKind.CORRECTION)),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if _is_condition_failure(error):
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

    # --- reads (access patterns, docs/cdr-ingestion.md) -----------------------------------------------

    def history(self, partner_id: str, session_id: str) -> list[StoredCdr]:
        """The current record and the corrections of one session (strongly consistent)."""
        return list(
            self._query(
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"{partner_id}#{session_id}"}},
                ConsistentRead=True,
            )
        )

    def by_session(self, session_id: str) -> list[StoredCdr]:
        """Every record with this session id, of any partner, oldest received first."""
        return list(self._query_index("BySession", session_id))

    def by_driver(
        self, driver_key: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[StoredCdr]:
        """Sessions of one driver (`rfid#<UID>`, `evco-id#<id>`, `username#<name>`,
        `drive-user#<user id>`) started between `start` and `end` (inclusive, both optional)."""
        return list(self._query_index("ByDriver", driver_key, start, end))

    def by_evse(
        self, evse_id: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[StoredCdr]:
        return list(self._query_index("ByEvse", evse_id, start, end))

    def by_partner(
        self, partner_id: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[StoredCdr]:
        return list(self._query_index("ByPartner", partner_id, start, end))

    def awaiting_review(self, limit: int | None = None) -> Iterator[StoredCdr]:
        """Records stored with anomalies and not yet resolved, oldest received first."""
        keys = self.client.get_paginator("query").paginate(
            TableName=self.table,
            IndexName="NeedsReview",
            KeyConditionExpression="#h = :open",
            ExpressionAttributeNames={"#h": REVIEW_ATTRIBUTE},
            ExpressionAttributeValues={":open": {"S": REVIEW_OPEN}},
        )
        shown = 0
        for page in keys:
            for key in page.get("Items", []):
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
            if _is_condition_failure(error):
                return False
            raise
        return True

    def has_final(self, session_id: str) -> bool:
        """Whether a final CDR with this session id is stored (any partner). Index reads are
        eventually consistent: a CDR written a moment ago may not show yet."""
        return any(
            stored.kind is RecordKind.CDR and stored.cdr.is_final
            for stored in self._query_index("BySession", session_id)
        )

    def _query_index(
        self, index: str, value: str, start: datetime | None = None, end: datetime | None = None
    ) -> Iterator[StoredCdr]:
        """Items whose index hash key is `value` and range key (a storage time) lies in
        [start, end], both ends optional and inclusive."""
        hash_name, range_name = INDEXES[index]
        names = {"#h": hash_name, "#r": range_name}
        values: dict[str, AttributeValueTypeDef] = {":h": {"S": value}}
        condition = "#h = :h"
        if start is not None and end is not None:
            condition += " AND #r BETWEEN :start AND :end"
        elif start is not None:
            condition += " AND #r >= :start"
        elif end is not None:
            condition += " AND #r <= :end"
        else:
            del names["#r"]
        if start is not None:
            values[":start"] = {"S": to_storage(start)}
        if end is not None:
            values[":end"] = {"S": to_storage(end)}
        return self._query(
            IndexName=index,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def _query(self, **arguments: Any) -> Iterator[StoredCdr]:
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(TableName=self.table, **arguments):
            for item in page.get("Items", []):
                yield StoredCdr.from_item(from_attributes(item))


class SessionsTableReader:
    """The session poller's SessionsTable, as reconciliation reads it: records seen COMPLETE.

    A filtered Scan: reconciliation runs hourly and the table holds one small item per remote
    session; an index on completion time would pay off only at many thousand sessions a day.
    """

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client, self.table = client, table

    def completed_since(self, since: datetime) -> Iterator[PollerSession]:
        # Here, not at the top: reconciliation brings the partner client (httpx), which ingestion,
        # importing this module too, does not need.
        from backbone.cdr.reconcile import PollerSession  # noqa: PLC0415

        paginator = self.client.get_paginator("scan")
        pages = paginator.paginate(
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
        for page in pages:
            for raw in page.get("Items", []):
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

    def send(self, body: str, reason: str, message_id: str) -> None:
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=body,
            MessageAttributes={
                REJECT_REASON: {"DataType": "String", "StringValue": reason[:_MAX_REASON] or "invalid"},
                REJECTED_AT: {"DataType": "String", "StringValue": to_storage(datetime.now().astimezone())},
                REJECTED_MESSAGE_ID: {"DataType": "String", "StringValue": message_id or "unknown"},
            },
        )


class SqsCdrSender:
    """CDR envelopes onto CdrQueue (reconciliation re-enqueues missing CDRs)."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self.client, self.queue_url = client, queue_url

    def send(self, envelope: CdrEnvelope) -> None:
        self.client.send_message(QueueUrl=self.queue_url, MessageBody=envelope.to_message())


def _is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
