"""AWS data access for the OIOI receiver: charging keys, the CDR queue and stations.

Clients are created once per process and only when first needed. AWS failures become
`BackendUnavailable` (5xx, code 100) so the partner retries; nothing here decides an OIOI answer.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3

from backbone.cdr.envelope import CdrEnvelope
from backbone.receiver.dynamo import (
    AWS_ERRORS,
    CLIENT_CONFIG,
    dynamodb_client,
    from_attributes,
    to_attributes,
)
from backbone.receiver.errors import BackendUnavailable, ConcurrentChange
from backbone.receiver.settings import OioiReceiverSettings
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

BATCH_GET_ROUNDS = 5


# --- Charging keys (rfid-verify) --------------------------------------------------------------


class DynamoChargingKeys:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client, self._table = client, table

    def get(self, uid: str) -> dict[str, Any] | None:
        # Eventually consistent: a key changed in the last second may answer as before; half
        # the cost and latency of a strong read on the hottest path.
        try:
            response = self._client.get_item(TableName=self._table, Key={"uid": {"S": uid}})
        except AWS_ERRORS as exc:
            raise BackendUnavailable("charging keys are unavailable; please retry") from exc
        item = response.get("Item")
        return None if item is None else from_attributes(item)


# --- CDR queue (session-post) -----------------------------------------------------------------


class SqsCdrSender:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client, self._queue_url = client, queue_url

    def send(self, envelope: CdrEnvelope) -> None:
        try:
            self._client.send_message(QueueUrl=self._queue_url, MessageBody=envelope.to_message())
        except AWS_ERRORS as exc:
            raise BackendUnavailable("the CDR could not be queued; please retry") from exc


# --- Stations (station-post, connector-post-status) -------------------------------------------


class DynamoStations:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client, self._table = client, table

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
        except self._client.exceptions.TransactionCanceledException as exc:
            # A condition failed (someone changed the station or took an EVSE ID since we read)
            # or a concurrent transaction conflicted: retrying re-reads and decides again.
            raise ConcurrentChange("the station changed while this request ran; please retry") from exc
        except AWS_ERRORS as exc:
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
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            old: Any = exc.response.get("Item")
            return StatusWrite(False, ConnectorRecord.from_item(from_attributes(old)) if old else None)
        except AWS_ERRORS as exc:
            raise BackendUnavailable("stations are unavailable; please retry") from exc
        return StatusWrite(True)


# --- What the receiver handler uses -----------------------------------------------------------


class AwsBackends:
    """The receiver's `Backends` on AWS; each client is created on first use and then reused
    for the life of the execution environment."""

    def __init__(self, settings: OioiReceiverSettings) -> None:
        self._settings = settings

    @cached_property
    def _dynamodb(self) -> DynamoDBClient:
        return dynamodb_client()

    @cached_property
    def charging_keys(self) -> DynamoChargingKeys:
        return DynamoChargingKeys(self._dynamodb, self._settings.charging_keys_table)

    @cached_property
    def cdr_queue(self) -> SqsCdrSender:
        sqs: SQSClient = boto3.client("sqs", config=CLIENT_CONFIG)
        return SqsCdrSender(sqs, self._settings.cdr_queue_url)

    @cached_property
    def stations(self) -> DynamoStations:
        return DynamoStations(self._dynamodb, self._settings.stations_table)
