"""The warehouse's view of fulfilled orders: what to send where (CSV export, operator views)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from backbone.orders.models import DriveOrderRecord, KeyOrder
from backbone.timeutil import to_storage

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
