"""Operator actions on key orders (`bbctl orders ...`; the CLI only parses and prints): the
organisation -> fleet mappings, orders enqueued again, listings, and the warehouse's view of
fulfilled orders (what to send where: the CSV export). Not shipped in the Lambda layer."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from backbone.aws.attributes import plain
from backbone.aws.pages import items
from backbone.orders.aws import DynamoDriveOrderStore, DynamoOrderStore
from backbone.orders.errors import OrderNotFound
from backbone.orders.models import (
    DEFAULT_ORG,
    ORDER_PREFIX,
    ORG_PREFIX,
    DriveOrderRecord,
    KeyOrder,
    KeyOrderState,
    OrgMapping,
)
from backbone.orders.ports import OrderQueue
from backbone.timeutil import to_storage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_sqs import SQSClient

# --- OrdersTable: organisations and orders ------------------------------------------------------


def _scan(table: Table, prefix: str | None = None) -> Iterator[dict[str, Any]]:
    arguments: dict[str, Any] = {}
    if prefix is not None:
        arguments["FilterExpression"] = "begins_with(pk, :prefix)"
        arguments["ExpressionAttributeValues"] = {":prefix": prefix}
    for item in items(table.scan, **arguments):
        yield plain(item)


def map_org(
    store: DynamoOrderStore, queue: OrderQueue, organization_id: str, fleet_id: str, now: datetime
) -> list[str]:
    """Map an organisation (or `*`, the default) to a fleet id and enqueue its UNMAPPED orders
    again, so they proceed now rather than at the next crawl. Returns the re-enqueued order ids."""
    organization_id, fleet_id = organization_id.strip(), fleet_id.strip()
    if not organization_id or not fleet_id:
        raise ValueError("organisation id and fleet id must not be empty")
    mapping = OrgMapping(organization_id=organization_id, fleet_id=fleet_id, updated_at=now)
    store.table.put_item(Item=mapping.to_item())
    waiting = [
        order.order_id
        for order in store.by_state(KeyOrderState.UNMAPPED)
        if organization_id in (DEFAULT_ORG, order.organization_id)
    ]
    for order_id in waiting:
        queue.send(order_id)
    return waiting


def unmap_org(store: DynamoOrderStore, organization_id: str) -> bool:
    """Remove an organisation's mapping; False if it had none."""
    answer = store.table.delete_item(Key={"pk": ORG_PREFIX + organization_id}, ReturnValues="ALL_OLD")
    return "Attributes" in answer


def org_mappings(store: DynamoOrderStore) -> list[OrgMapping]:
    mappings = (OrgMapping.from_item(item) for item in _scan(store.table, ORG_PREFIX))
    return sorted(mappings, key=lambda mapping: mapping.organization_id)


def retry_order(store: DynamoOrderStore, queue: OrderQueue, order_id: str) -> KeyOrder:
    """Enqueue an order again (after fixing what held it up); harmless if it is finished."""
    order = store.get(order_id)
    if order is None:
        raise OrderNotFound(f"no key order {order_id!r}")
    queue.send(order_id)
    return order


def list_orders(store: DynamoOrderStore, state: KeyOrderState | None = None) -> Iterator[KeyOrder]:
    """Orders in `state` (oldest first), or all of them (sorted by creation)."""
    if state is not None:
        return store.by_state(state)
    every = (KeyOrder.from_item(item) for item in _scan(store.table, ORDER_PREFIX))
    return iter(sorted(every, key=lambda order: (order.created_at, order.order_id)))


# --- DriveOrdersTable and DriveOrderQueue ---------------------------------------------------------


def drive_records(store: DynamoDriveOrderStore) -> Iterator[DriveOrderRecord]:
    for item in _scan(store.table):
        yield DriveOrderRecord.from_item(item)


def queue_drive_order(sqs: SQSClient, queue_url: str, body: dict[str, Any]) -> str:
    """One "order a key for a user" request on DriveOrderQueue; returns the message id."""
    return str(sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(body))["MessageId"])


# --- the warehouse ---------------------------------------------------------------------------------

FULFILMENT_COLUMNS = (
    "order_id",
    "assigned_at",
    "quantity",
    "visual_numbers",
    "company_name",
    "first_name",
    "last_name",
    "address",
    "address_line2",
    "postal_code",
    "city",
    "country",
    "additional_information",
    "organization_id",
    "fleet_id",
)
_ADDRESS_FIELDS = {
    "company_name": "companyName",
    "first_name": "firstName",
    "last_name": "lastName",
    "address": "address",
    "address_line2": "addressLine2",
    "postal_code": "postalCode",
    "city": "city",
    "country": "country",
    "additional_information": "additionalInformation",
}


def fulfilment_row(order: KeyOrder) -> dict[str, str]:
    """One envelope: the order, its shipping address and the visual numbers of its keys."""
    row = {column: "" for column in FULFILMENT_COLUMNS}
    row |= {
        "order_id": order.order_id,
        "assigned_at": to_storage(order.assigned_at) if order.assigned_at else "",
        "quantity": str(order.quantity),
        "visual_numbers": ";".join(key.visual_number for key in order.keys),
        "organization_id": order.organization_id or "",
        "fleet_id": order.fleet_id or "",
    }
    for column, name in _ADDRESS_FIELDS.items():
        row[column] = order.address.get(name, "")
    return row


def fulfilment_csv(orders: Iterable[KeyOrder], since: datetime | None = None) -> str:
    """CSV of the assigned orders (assigned at or after `since`), oldest assignment first."""
    chosen = [
        order
        for order in orders
        if order.assigned_at is not None and (since is None or order.assigned_at >= since)
    ]
    chosen.sort(key=lambda order: (order.assigned_at, order.order_id))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FULFILMENT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for order in chosen:
        writer.writerow(fulfilment_row(order))
    return out.getvalue()


def order_view(order: KeyOrder | DriveOrderRecord) -> dict[str, Any]:
    """The record as stored (camelCase), without the lease bookkeeping, for `show`/`--json`."""
    view = order.to_item()
    for name in ("pk", "leaseOwner", "leaseUntil"):
        view.pop(name, None)
    return view
