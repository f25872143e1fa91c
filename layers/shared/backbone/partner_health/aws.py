"""PartnerActivityTable: one item per partner (`partnerId`), one attribute per message family
(`lastSessionPostAt`, `lastRfidVerifyAt`, `lastPoiAt`, `to_storage` text, which sorts by time).

The receiver's client (`best_effort` latency) fails fast and never retries: a slow write would
hold up a partner's answer for bookkeeping, and the next write is at most a minute away.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from backbone.aws import clients
from backbone.aws.errors import AWS_ERRORS, is_condition_failed
from backbone.partner_health.rule import Family, PartnerActivity
from backbone.timeutil import from_storage, to_storage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

ATTRIBUTE: dict[Family, str] = {
    Family.SESSION_POST: "lastSessionPostAt",
    Family.RFID_VERIFY: "lastRfidVerifyAt",
    Family.POI: "lastPoiAt",
}


def recording_client() -> DynamoDBClient:
    return clients.client("dynamodb", "best_effort")  # type: ignore[no-any-return]


class DynamoPartnerActivity:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client, self._table = client, table

    def record(self, partner_id: str, family: Family, at: datetime) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"partnerId": {"S": partner_id}},
                UpdateExpression="SET #at = :at",
                ConditionExpression="attribute_not_exists(#at) OR #at < :at",
                ExpressionAttributeNames={"#at": ATTRIBUTE[family]},
                ExpressionAttributeValues={":at": {"S": to_storage(at)}},
            )
        except AWS_ERRORS as exc:
            if not is_condition_failed(exc):
                raise  # a later time is stored already: nothing to do

    def list_all(self) -> list[PartnerActivity]:
        return sorted(self._scan(), key=lambda activity: activity.partner_id)

    def forget(self, partner_id: str) -> None:
        """Drop a partner's last-seen times: families it no longer uses stop being watched; the
        ones it uses come back with its next accepted message."""
        self._client.delete_item(TableName=self._table, Key={"partnerId": {"S": partner_id}})

    def _scan(self) -> Iterator[PartnerActivity]:
        for page in self._client.get_paginator("scan").paginate(TableName=self._table):
            for item in page.get("Items", []):
                yield activity_from_item(item)


def activity_from_item(item: dict[str, Any]) -> PartnerActivity:
    last_seen = {
        family: from_storage(item[attribute]["S"])
        for family, attribute in ATTRIBUTE.items()
        if attribute in item
    }
    return PartnerActivity(item["partnerId"]["S"], last_seen)
