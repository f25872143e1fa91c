"""The receiver's ports on AWS: partner API keys (authorizer), charging keys (rfid-verify), the
CDR queue (session-post) and stations (station-post, connector-post-status).

Low-level clients (cheaper to create and to call than boto3 resources, which matters on the
authorizer's and rfid-verify's cold and warm paths), of the `api` latency class, each created on
first use (`connect`) and then reused for the life of the execution environment. AWS failures
become `BackendUnavailable` or `CdrQueueUnavailable` (5xx, code 100) so the partner retries;
nothing here decides an OIOI answer.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from backbone.aws.attributes import from_attributes, to_attributes
from backbone.aws.cdr_queue import Message, SqsCdrQueue
from backbone.aws.errors import AWS_ERRORS, error_code, is_condition_failed
from backbone.aws.pages import items
from backbone.receiver.access import PartnerAccess
from backbone.receiver.errors import BackendUnavailable, ConcurrentChange
from backbone.receiver.stations import (
    UNKNOWN_STATUS,
    ConnectorRecord,
    StationRecord,
    StationWrite,
    StatusWrite,
    connector_key,
    station_key,
)
from backbone.timeutil import to_storage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef
    from mypy_boto3_sqs.client import SQSClient

Connect = Callable[[], Any]
"""Returns the (cached) boto3 client an adapter uses: `partial(backbone.aws.clients.client, ...)`."""

BATCH_GET_ROUNDS = 5


# --- Partner API keys (authorizer) ------------------------------------------------------------


class DynamoPartnerAccess:
    """The partners table: one item per API key, keyed by the key's SHA-256 (see `access`)."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client, self._table = client, table

    def get(self, key_hash: str) -> PartnerAccess | None:
        # Errors propagate: the authorizer then fails, and API Gateway answers 500 (fail closed).
        response = self._client.get_item(TableName=self._table, Key={"keyHash": {"S": key_hash}})
        item = response.get("Item")
        return None if item is None else PartnerAccess.from_item(from_attributes(item))

    def list_all(self) -> list[PartnerAccess]:
        """Every key, by partner and creation (partner health, `bbctl partners`)."""
        found = items(self._client.scan, TableName=self._table)
        accesses = (PartnerAccess.from_item(from_attributes(item)) for item in found)
        return sorted(accesses, key=lambda access: (access.partner_id, access.created_at))


# --- Charging keys (rfid-verify) --------------------------------------------------------------


class DynamoChargingKeys:
    def __init__(self, connect: Connect, table: str) -> None:
        self._connect, self._table = connect, table

    def get(self, uid: str) -> dict[str, Any] | None:
        # Eventually consistent: a key changed in the last second may answer as before; half
        # the cost and latency of a strong read on the hottest path.
        try:
            client: DynamoDBClient = self._connect()
            response = client.get_item(TableName=self._table, Key={"uid": {"S": uid}})
        except AWS_ERRORS as exc:
            raise BackendUnavailable("charging keys are unavailable; please retry") from exc
        item = response.get("Item")
        return None if item is None else from_attributes(item)


# --- CDR queue (session-post) -----------------------------------------------------------------


class LazyCdrQueue:
    """`SqsCdrQueue`, its SQS client created on the first CDR."""

    def __init__(self, connect: Connect, queue_url: str) -> None:
        self._connect, self._queue_url = connect, queue_url

    @cached_property
    def _queue(self) -> SqsCdrQueue:
        sqs: SQSClient = self._connect()
        return SqsCdrQueue(sqs, self._queue_url)

    def send(self, envelope: Message) -> None:
        self._queue.send(envelope)


# --- Stations (station-post, connector-post-status) -------------------------------------------


class DynamoStations:
    def __init__(self, connect: Connect, table: str) -> None:
        self._connect, self._table = connect, table

    @property
    def _client(self) -> DynamoDBClient:
        client: DynamoDBClient = self._connect()
        return client

    def get_station(self, station_id: str) -> StationRecord | None:
        try:
            response = self._client.get_item(
                TableName=self._table, Key={"pk": {"S": station_key(station_id)}}, ConsistentRead=True
            )
        except AWS_ERRORS as exc:
            raise BackendUnavailable("stations are unavailable; please retry") from exc
        item = response.get("Item")
        return None if item is None else StationRecord.from_item(from_attributes(item))

    def get_connectors(self, evse_ids: Collection[str]) -> dict[str, ConnectorRecord]:
        found: dict[str, ConnectorRecord] = {}
        keys: list[Mapping[str, Any]] = [{"pk": {"S": connector_key(evse_id)}} for evse_id in evse_ids]
        for _ in range(BATCH_GET_ROUNDS):
            if not keys:
                return found
            try:
                response = self._client.batch_get_item(
                    RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}}
                )
            except AWS_ERRORS as exc:
                raise BackendUnavailable("stations are unavailable; please retry") from exc
            for item in response.get("Responses", {}).get(self._table, []):
                record = ConnectorRecord.from_item(from_attributes(item))
                found[record.evse_id] = record
            unprocessed = response.get("UnprocessedKeys") or {}
            keys = list(unprocessed[self._table]["Keys"]) if self._table in unprocessed else []
        if keys:
            raise BackendUnavailable("stations are throttled; please retry")
        return found

    def save_station(self, write: StationWrite) -> None:
        items = [
            self._station_put(write),
            *(self._connector_update(c, write.station) for c in write.connectors),
        ]
        try:
            self._client.transact_write_items(TransactItems=items)
        except AWS_ERRORS as exc:
            if error_code(exc) == "TransactionCanceledException":
                # A condition failed (someone changed the station or took an EVSE ID since we
                # read) or a concurrent transaction conflicted: retrying re-reads and decides again.
                raise ConcurrentChange("the station changed while this request ran; please retry") from exc
            raise BackendUnavailable("stations are unavailable; please retry") from exc

    def _station_put(self, write: StationWrite) -> TransactWriteItemTypeDef:
        if write.expected_version is None:
            condition, values = "attribute_not_exists(pk)", {}
        else:
            condition, values = "version = :expected", {":expected": {"N": str(write.expected_version)}}
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": to_attributes(write.station.to_item()),
            "ConditionExpression": condition,
        }
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}  # type: ignore[typeddict-item]

    def _connector_update(self, record: ConnectorRecord, station: StationRecord) -> TransactWriteItemTypeDef:
        now = to_storage(station.updated_at)
        values: dict[str, Any] = {f":{name}": value for name, value in record.static_attributes().items()}
        sets = [f"#{name} = :{name}" for name in record.static_attributes()]
        names = {f"#{name}": name for name in record.static_attributes()}
        values |= {":updatedAt": now, ":true": True}
        names |= {"#status": "status", "#updatedAt": "updatedAt", "#createdAt": "createdAt"}
        sets += ["#updatedAt = :updatedAt", "#createdAt = if_not_exists(#createdAt, :updatedAt)"]
        expression = ""
        if record.status is None:
            values[":unknown"] = UNKNOWN_STATUS
            sets.append("#status = if_not_exists(#status, :unknown)")
        else:
            values[":status"] = record.status
            sets.append("#status = :status")
            names["#statusReceivedAt"] = "statusReceivedAt"
            expression = " REMOVE #statusReceivedAt"
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": {"S": connector_key(record.evse_id)}},
                "UpdateExpression": "SET " + ", ".join(sets) + expression,
                # Still free, still ours, or released by a deleted station: what we read.
                "ConditionExpression": (
                    "attribute_not_exists(pk) OR #stationId = :stationId OR #deleted = :true"
                ),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_attributes(values),
            }
        }

    def update_status(self, evse_id: str, partner_id: str, status: str, at: datetime) -> StatusWrite:
        received = to_storage(at)
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": connector_key(evse_id)}},
                UpdateExpression="SET #status = :status, statusReceivedAt = :at, updatedAt = :at",
                ConditionExpression=(
                    "attribute_exists(pk) AND partnerId = :partner AND deleted = :false "
                    "AND (attribute_not_exists(statusReceivedAt) OR statusReceivedAt <= :at)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_attributes(
                    {":status": status, ":at": received, ":partner": partner_id, ":false": False}
                ),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except AWS_ERRORS as exc:
            if not is_condition_failed(exc):
                raise BackendUnavailable("stations are unavailable; please retry") from exc
            old: Any = getattr(exc, "response", {}).get("Item")
            return StatusWrite(False, ConnectorRecord.from_item(from_attributes(old)) if old else None)
        return StatusWrite(True)
