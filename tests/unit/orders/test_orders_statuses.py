"""An EMP order is fulfilled only while its status at Plugsurfing allows it (the table in
backbone.orders.statuses, published in docs/key-orders.md): read when first listed, again before
keys are claimed and again before the assign; an order cancelled midway releases its keys
(simulator on a ManualClock: orders seeded with any status, statuses changed later)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from orderfakes import FLEET, ORG, START, MemoryOrders, MemoryQueue, MemoryStock, metric_count
from test_orders_crawl import crawl
from test_orders_fulfil import fulfil, fulfil_until_done, receive

from backbone.keys.models import KeyState
from backbone.orders.errors import RetryLater
from backbone.orders.models import KeyOrderState
from backbone.orders.ports import FulfilDependencies
from backbone.orders.statuses import EMP_ORDER_STATUSES, Handling, handling_of
from backbone.partners.plugsurfing import PlugsurfingClient
from simulator import ManualClock, PlugsurfingSimulator

DOC = Path(__file__).resolve().parents[3] / "docs" / "key-orders.md"


def test_given_the_docs_then_their_status_table_is_the_one_the_code_applies() -> None:
    rows = re.findall(r"^\| `(ORDER_[A-Z_]+)` \| (fulfil|wait|skip) \|", DOC.read_text(), re.MULTILINE)

    assert dict(rows) == {status: str(handling) for status, handling in EMP_ORDER_STATUSES.items()}


@pytest.mark.parametrize(
    ("status", "handling"),
    [
        ("ORDER_PAID", Handling.FULFIL),
        ("order_paid", Handling.FULFIL),
        ("ORDER_FREE_OF_CHARGE", Handling.FULFIL),
        ("ORDER_PLACED", Handling.WAIT),
        ("ORDER_PAYMENT_FAILED", Handling.WAIT),
        ("ORDER_CANCELLED", Handling.SKIP),
        ("ORDER_REFUNDED", Handling.SKIP),
        ("ORDER_REFUND_FAILED", Handling.SKIP),
        ("ORDER_ASSIGNED", Handling.SKIP),
        ("ORDER_SHIPPED_BY_DRONE", Handling.WAIT),
        (None, Handling.WAIT),
    ],
)
def test_given_a_status_then_the_table_decides_and_unknown_ones_wait(
    status: str | None, handling: Handling
) -> None:
    assert handling_of(status) is handling


@pytest.mark.parametrize(
    ("status", "state", "enqueued"),
    [
        ("ORDER_PAID", KeyOrderState.RECEIVED, True),
        ("ORDER_FREE_OF_CHARGE", KeyOrderState.RECEIVED, True),
        ("ORDER_CANCELLED", KeyOrderState.SKIPPED, False),
        ("ORDER_REFUNDED", KeyOrderState.SKIPPED, False),
        ("ORDER_PLACED", KeyOrderState.ON_HOLD, False),
        ("ORDER_PAYMENT_FAILED", KeyOrderState.ON_HOLD, False),
    ],
)
def test_given_an_order_first_listed_with_a_status_when_crawled_then_only_fulfillable_ones_are_enqueued(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    queue: MemoryQueue,
    clock: ManualClock,
    status: str,
    state: KeyOrderState,
    enqueued: bool,
) -> None:
    sim.add_order(id="o-1", organizationId=ORG, status=status)

    crawl(client, orders, queue, clock)

    stored = orders.get("o-1")
    assert stored is not None
    assert stored.state is state
    assert stored.partner_status == status
    assert (queue.sent == ["o-1"]) is enqueued


def test_given_a_paid_order_cancelled_before_fulfilment_then_no_key_is_claimed_and_it_is_skipped(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    stock: MemoryStock,
    clock: ManualClock,
) -> None:
    receive(sim, orders)
    sim.set_order_status("o-1", "ORDER_CANCELLED")

    done = fulfil(orders, stock, client, clock)

    assert done.state is KeyOrderState.SKIPPED
    assert done.partner_status == "ORDER_CANCELLED"
    assert "ORDER_CANCELLED at Plugsurfing" in (done.last_error or "")
    assert stock.of_order("o-1") == []
    assert sim.assign_count("o-1") == 0
    assert metric_count("OrdersSkipped") == 1


def test_given_a_backordered_order_cancelled_then_its_claimed_keys_go_back_to_stock(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    clock: ManualClock,
) -> None:
    stock = MemoryStock(START, count=1)
    receive(sim, orders, quantity=2)
    backordered = fulfil(orders, stock, client, clock)
    sim.set_order_status("o-1", "ORDER_REFUNDED")

    done = fulfil(orders, stock, client, clock)

    assert backordered.state is KeyOrderState.BACKORDERED
    assert done.state is KeyOrderState.SKIPPED
    assert "1 claimed key(s) back in stock" in (done.last_error or "")
    [key] = stock.items.values()
    assert key.state is KeyState.IN_STOCK
    assert key.order_id is None
    assert key.owner_id is None


def test_given_an_order_cancelled_while_its_keys_sync_then_it_is_not_assigned_and_the_keys_are_disabled(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    stock: MemoryStock,
    clock: ManualClock,
) -> None:
    receive(sim, orders, quantity=2)
    with pytest.raises(RetryLater, match="waiting for key sync"):
        fulfil(orders, stock, client, clock)
    sim.set_order_status("o-1", "ORDER_CANCELLED")
    stock.sync()

    done = fulfil(orders, stock, client, clock)

    assert done.state is KeyOrderState.SKIPPED
    assert sim.assign_count("o-1") == 0
    keys = stock.of_order("o-1")
    assert len(keys) == 2
    assert all(k.state is KeyState.DISABLED and not k.enabled for k in keys), "no longer usable anywhere"
    assert "2 key(s) already handed to the fleet disabled" in (done.last_error or "")


def test_given_an_unpaid_order_when_it_is_paid_later_then_it_waits_on_hold_and_is_fulfilled_after(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    stock: MemoryStock,
    clock: ManualClock,
) -> None:
    receive(sim, orders, status="ORDER_PAID")
    sim.set_order_status("o-1", "ORDER_PLACED")  # e.g. a payment reversed before we got to it

    held = fulfil(orders, stock, client, clock)
    claimed_while_unpaid = stock.of_order("o-1")
    clock.advance(3600)
    sim.set_order_status("o-1", "ORDER_PAID")
    done = fulfil_until_done(orders, stock, client, clock)

    assert held.state is KeyOrderState.ON_HOLD
    assert claimed_while_unpaid == []
    assert done.state is KeyOrderState.ASSIGNED
    assert done.hold_since is None
    assert sim.assign_count("o-1") == 1
    assert [k.owner_id for k in stock.of_order("o-1")] == [FLEET]


def test_given_an_order_with_a_status_nobody_documented_then_it_waits_and_is_counted(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    stock: MemoryStock,
    clock: ManualClock,
) -> None:
    receive(sim, orders)
    sim.set_order_status("o-1", "ORDER_SHIPPED_BY_DRONE")

    held = fulfil(orders, stock, client, clock)

    assert held.state is KeyOrderState.ON_HOLD
    assert "not in the status table" in (held.last_error or "")
    assert metric_count("OrdersUnknownStatus") == 1
    assert stock.of_order("o-1") == []


def test_given_a_free_of_charge_order_then_it_is_fulfilled_like_a_paid_one(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    stock: MemoryStock,
    clock: ManualClock,
) -> None:
    receive(sim, orders, status="ORDER_FREE_OF_CHARGE")

    done = fulfil_until_done(orders, stock, client, clock)

    assert done.state is KeyOrderState.ASSIGNED
    assert sim.assign_count("o-1") == 1


def test_given_an_order_held_longer_than_the_bound_then_it_fails_and_releases_its_keys(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    clock: ManualClock,
) -> None:
    stock = MemoryStock(START, count=1)
    receive(sim, orders, quantity=2)
    fulfil(orders, stock, client, clock)  # BACKORDERED, one key claimed
    sim.set_order_status("o-1", "ORDER_PAYMENT_FAILED")
    fulfil(orders, stock, client, clock)  # ON_HOLD
    clock.advance(FulfilDependencies.hold_max.total_seconds() + 1)

    done = fulfil(orders, stock, client, clock)

    assert done.state is KeyOrderState.FAILED
    assert "on hold for more than 7 day(s)" in (done.last_error or "")
    assert all(k.state is KeyState.IN_STOCK for k in stock.items.values())
    assert metric_count("OrdersFailed") == 1


def test_given_an_order_cancelled_after_the_assign_was_requested_then_the_retry_does_not_assign(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    stock: MemoryStock,
    clock: ManualClock,
) -> None:
    receive(sim, orders)
    sim.add_fault(kind="status", status=503, path="/drive/emp/v1/order/*", count=10, retry_after=None)
    with pytest.raises(RetryLater, match="waiting for key sync"):
        fulfil(orders, stock, client, clock)
    stock.sync()
    with pytest.raises(RetryLater, match="assign failed"):
        fulfil(orders, stock, client, clock)
    sim.clear_faults()
    sim.set_order_status("o-1", "ORDER_CANCELLED")

    done = fulfil(orders, stock, client, clock)

    assert done.state is KeyOrderState.SKIPPED
    assert sim.assign_count("o-1") == 0
