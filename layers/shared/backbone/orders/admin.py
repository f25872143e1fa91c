"""Operator actions on key orders (`bbctl orders ...`); the CLI only parses and prints."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from backbone.orders.errors import OrderNotFound
from backbone.orders.models import DEFAULT_ORG, KeyOrder, KeyOrderState, OrgMapping
from backbone.orders.store import DynamoOrderStore, OrderQueue


def map_org(
    store: DynamoOrderStore, queue: OrderQueue, organization_id: str, fleet_id: str, now: datetime
) -> list[str]:
    """Map an organisation (or `*`, the default) to a fleet id and enqueue its UNMAPPED orders
    again, so they proceed now rather than at the next crawl. Returns the re-enqueued order ids."""
    organization_id, fleet_id = organization_id.strip(), fleet_id.strip()
    if not organization_id or not fleet_id:
        raise ValueError("organisation id and fleet id must not be empty")
    store.map_org(OrgMapping(organization_id=organization_id, fleet_id=fleet_id, updated_at=now))
    waiting = [
        order.order_id
        for order in store.by_state(KeyOrderState.UNMAPPED)
        if organization_id in (DEFAULT_ORG, order.organization_id)
    ]
    for order_id in waiting:
        queue.send(order_id)
    return waiting


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
    return iter(sorted(store.iter_orders(), key=lambda order: (order.created_at, order.order_id)))
