"""The retention purge's ports on AWS: CdrTable (ByBillingDay index and a filtered Scan),
OrdersTable and DriveOrdersTable (ByState index), and PrivacyPurgeTable (checkpoints).

Every write is conditional on what was read, so the purge never overwrites a record that changed
meanwhile (a correction arriving, an order being retried): such an item is left for the next run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from backbone.aws.attributes import from_attributes, to_attributes
from backbone.aws.errors import is_condition_failed
from backbone.aws.pages import items
from backbone.cdr.pseudonymise import legacy_rewrite
from backbone.orders.models import FINISHED, DriveRequestState
from backbone.privacy.cdr import pseudonymise_update
from backbone.privacy.ports import BillableRef, FinishedOrder, LegacyCdr, LegacyPage, OrderTable
from backbone.privacy.pseudonym import Pseudonymiser
from backbone.timeutil import from_storage, to_storage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BY_BILLING_DAY = "ByBillingDay"
BY_STATE = "ByState"
LEGACY_PAGE_SIZE = 500
DRIVE_FINISHED = (DriveRequestState.REJECTED, DriveRequestState.CLOSED, DriveRequestState.UNSETTLED)
ADDRESS_BLANKED_AT = "addressBlankedAt"

# Items holding a driver identifier that ByBillingDay does not show: written before
# pseudonymisation (no driverHash), or not final (no billingDay) and not pseudonymised yet.
UNINDEXED_FILTER = (
    "attribute_exists(#driverKey) AND (attribute_not_exists(#driverHash) OR "
    "(attribute_not_exists(#billingDay) AND attribute_exists(#driverId) AND #driverId <> #driverHash))"
)


def _changed(call: Any, **arguments: Any) -> bool:
    """Run a conditional write; False when its condition failed (the item changed or is gone)."""
    try:
        call(**arguments)
    except ClientError as error:
        if is_condition_failed(error):
            return False
        raise
    return True


class DynamoCdrIdentities:
    """`CdrIdentities` on CdrTable."""

    def __init__(self, client: DynamoDBClient, table: str, pseudonym_of: Pseudonymiser) -> None:
        self.client, self.table, self.pseudonym_of = client, table, pseudonym_of

    def billable_on(self, day: date) -> Iterator[BillableRef]:
        for raw in items(
            self.client.query,
            TableName=self.table,
            IndexName=BY_BILLING_DAY,
            KeyConditionExpression="#day = :day",
            ProjectionExpression="pk, sk, driverHash",
            ExpressionAttributeNames={"#day": "billingDay"},
            ExpressionAttributeValues={":day": {"S": day.isoformat()}},
        ):
            item = from_attributes(raw)
            yield BillableRef(str(item["pk"]), str(item["sk"]), item.get("driverHash"))

    def pseudonymise(self, ref: BillableRef, pseudonym: str, at: datetime) -> bool:
        return _changed(
            self.client.update_item,
            TableName=self.table,
            Key={"pk": {"S": ref.pk}, "sk": {"S": ref.sk}},
            **pseudonymise_update(pseudonym, to_storage(at)),
        )

    def legacy_page(self, start: Mapping[str, Any] | None) -> LegacyPage:
        arguments: dict[str, Any] = {
            "TableName": self.table,
            "Limit": LEGACY_PAGE_SIZE,
            "FilterExpression": UNINDEXED_FILTER,
            "ProjectionExpression": "pk, sk, #driverKey, #driverHash, #status, receivedAt",
            "ExpressionAttributeNames": {
                "#driverKey": "driverKey",
                "#driverHash": "driverHash",
                "#driverId": "driverId",
                "#billingDay": "billingDay",
                "#status": "status",
            },
        }
        if start is not None:
            arguments["ExclusiveStartKey"] = to_attributes(start)
        page = self.client.scan(**arguments)
        found = [from_attributes(raw) for raw in page.get("Items", [])]
        next_start = page.get("LastEvaluatedKey")
        return LegacyPage(
            items=[
                LegacyCdr(
                    pk=str(item["pk"]),
                    sk=str(item["sk"]),
                    driver_key=str(item["driverKey"]),
                    driver_hash=item.get("driverHash"),
                    status=str(item.get("status", "")),
                    received_at=from_storage(str(item["receivedAt"])),
                )
                for item in found
            ],
            next_start=from_attributes(next_start) if next_start else None,
        )

    def migrate_legacy(self, item: LegacyCdr, pseudonym: str, pseudonymise_at: datetime | None) -> bool:
        """The layout of pseudonymisation at write (`backbone.cdr.pseudonymise.legacy_rewrite`:
        driverKey, driverHash and `raw` redacted), then, when due, the one pseudonymisation rule.
        Two conditional writes, each idempotent: a run cut between them finishes on the next."""
        key = {"pk": {"S": item.pk}, "sk": {"S": item.sk}}
        found = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        if found is None:
            return False
        rewrite = legacy_rewrite(from_attributes(found), self.pseudonym_of)
        changed = rewrite is not None and _changed(
            self.client.update_item, TableName=self.table, Key=key, **rewrite
        )
        if pseudonymise_at is not None:
            update = pseudonymise_update(pseudonym, to_storage(pseudonymise_at))
            changed = _changed(self.client.update_item, TableName=self.table, Key=key, **update) or changed
        return changed


class DynamoOrderAddresses:
    """`OrderAddresses` on OrdersTable (EMP, key `pk`) and DriveOrdersTable (key `requestId`)."""

    def __init__(self, client: DynamoDBClient, orders_table: str, drive_orders_table: str) -> None:
        self.client = client
        self.tables: dict[OrderTable, str] = {"emp": orders_table, "drive": drive_orders_table}

    def finished_before(self, cutoff: datetime) -> Iterator[FinishedOrder]:
        for state in FINISHED:
            yield from self._query("emp", state.value, cutoff)
        for drive_state in DRIVE_FINISHED:
            yield from self._query("drive", drive_state.value, cutoff)

    def _query(self, table: OrderTable, state: str, cutoff: datetime) -> Iterator[FinishedOrder]:
        key_name = "pk" if table == "emp" else "requestId"
        # Created before the cut-off is implied by finished before it: the key condition narrows.
        for raw in items(
            self.client.query,
            TableName=self.tables[table],
            IndexName=BY_STATE,
            KeyConditionExpression="#state = :state AND createdAt <= :cutoff",
            FilterExpression="updatedAt <= :cutoff AND attribute_not_exists(#blanked)",
            ProjectionExpression=f"{key_name}, address, updatedAt, version",
            ExpressionAttributeNames={"#state": "state", "#blanked": ADDRESS_BLANKED_AT},
            ExpressionAttributeValues={":state": {"S": state}, ":cutoff": {"S": to_storage(cutoff)}},
        ):
            item = from_attributes(raw)
            address = item.get("address") or {}
            yield FinishedOrder(
                table=table,
                key=str(item[key_name]),
                address={str(name): str(value) for name, value in address.items()},
                updated_at=from_storage(str(item["updatedAt"])),
                version=int(item.get("version", 0)),
            )

    def blank(self, order: FinishedOrder, address: dict[str, str], at: datetime) -> bool:
        key_name = "pk" if order.table == "emp" else "requestId"
        return _changed(
            self.client.update_item,
            TableName=self.tables[order.table],
            Key={key_name: {"S": order.key}},
            UpdateExpression="SET #address = :address, #blanked = :at, #version = :next",
            ConditionExpression="#version = :version",
            ExpressionAttributeNames={
                "#address": "address",
                "#blanked": ADDRESS_BLANKED_AT,
                "#version": "version",
            },
            ExpressionAttributeValues={
                ":address": {"M": {name: {"S": value} for name, value in address.items()}},
                ":at": {"S": to_storage(at)},
                ":version": {"N": str(order.version)},
                ":next": {"N": str(order.version + 1)},
            },
        )


class DynamoCheckpoints:
    """`Checkpoints` on PrivacyPurgeTable (key `name`; the value as JSON text)."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client, self.table = client, table

    def get(self, name: str) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self.table, Key={"name": {"S": name}}, ConsistentRead=True).get(
            "Item"
        )
        if item is None:
            return None
        value: dict[str, Any] = json.loads(from_attributes(item)["value"])
        return value

    def put(self, name: str, value: dict[str, Any], at: datetime) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                "name": {"S": name},
                "value": {"S": json.dumps(value, sort_keys=True, default=str)},
                "updatedAt": {"S": to_storage(at)},
            },
        )
