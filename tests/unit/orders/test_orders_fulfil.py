"""Fulfilment of EMP key orders as a persisted state machine: each step resumes after a crash
without a second key or a second assign, concurrent processors included (simulator, ManualClock)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from orderfakes import FLEET, ORG, START, MemoryOrders, MemoryQueue, MemoryStock, metric_count, sim_client

from backbone.keys.models import KeyState, SyncState
from backbone.orders.errors import RecordBusy, RetryLater
from backbone.orders.fulfil import fulfil_order, hand_over
from backbone.orders.models import KeyOrder, KeyOrderState, KeyToShip
from backbone.orders.partner import EmpOrders
from backbone.orders.ports import FulfilDependencies
from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.partners.schemas import EmpOrder
from simulator import ManualClock, PlugsurfingSimulator


def receive(
    sim: PlugsurfingSimulator, orders: MemoryOrders, order_id: str = "o-1", **fields: Any
) -> KeyOrder:
    """An order at Plugsurfing and as the crawler stored it."""
    wire = sim.add_order(id=order_id, organizationId=fields.pop("organizationId", ORG), **fields)
    order = KeyOrder.from_partner(EmpOrder.model_validate(wire), START)
    assert orders.put_new(order)
    return order


def fulfil(
    orders: MemoryOrders,
    stock: MemoryStock,
    feed: Any,
    clock: ManualClock,
    order_id: str = "o-1",
    owner: str = "w1",
) -> KeyOrder:
    deps = FulfilDependencies(
        orders=orders, keys=stock, feed=EmpOrders(feed), redelivery=MemoryQueue(), clock=clock.now
    )
    return fulfil_order(order_id, deps, owner)


def fulfil_until_done(
    orders: MemoryOrders, stock: MemoryStock, feed: Any, clock: ManualClock, order_id: str = "o-1"
) -> KeyOrder:
    """What the queue does: deliver again after each RetryLater, while key sync runs meanwhile."""
    for _ in range(5):
        try:
            return fulfil(orders, stock, feed, clock, order_id)
        except RetryLater:
            stock.sync()
    raise AssertionError("order never finished")


def test_given_a_new_order_when_fulfilled_then_keys_go_to_the_fleet_and_the_order_is_assigned_once(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    stock: MemoryStock,
    clock: ManualClock,
) -> None:
    receive(sim, orders, quantity=2)

    with pytest.raises(RetryLater, match="waiting for key sync"):
        fulfil(orders, stock, client, clock)
    waiting = orders.get("o-1")
    stock.sync()
    done = fulfil(orders, stock, client, clock)

    assert waiting is not None
    assert waiting.state is KeyOrderState.KEYS_CLAIMED
    assert done.state is KeyOrderState.ASSIGNED
    assert sim.assign_count("o-1") == 1
    keys = stock.of_order("o-1")
    assert len(keys) == 2
    assert all(k.state is KeyState.ACTIVE and k.owner_id == FLEET and k.owner_type == "fleet" for k in keys)
    assert sorted(k.visual_number for k in done.keys) == sorted(k.visual_number for k in keys)
    released = orders.get("o-1")
    assert released is not None
    assert released.lease_owner is None
    assert metric_count("OrdersAssigned") == 1


def test_given_an_assigned_order_when_delivered_again_then_nothing_happens(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    stock: MemoryStock,
    clock: ManualClock,
) -> None:
    receive(sim, orders)
    fulfil_until_done(orders, stock, client, clock)

    again = fulfil(orders, stock, client, clock)

    assert again.state is KeyOrderState.ASSIGNED
    assert sim.assign_count("o-1") == 1
    assert len(stock.of_order("o-1")) == 1


def test_given_an_organisation_without_fleet_when_fulfilled_then_it_waits_unmapped_until_mapped(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    stock: MemoryStock,
    clock: ManualClock,
) -> None:
    receive(sim, orders, organizationId="org-unknown")

    waiting = fulfil(orders, stock, client, clock)
    orders.fleets["org-unknown"] = "fleet-9"
    done = fulfil_until_done(orders, stock, client, clock)

    assert waiting.state is KeyOrderState.UNMAPPED
    assert "map-org org-unknown" in (waiting.last_error or "")
    assert stock.of_order("o-1") == [] or waiting.claimed == 0
    assert done.state is KeyOrderState.ASSIGNED
    assert done.fleet_id == "fleet-9"


def test_given_too_little_stock_when_fulfilled_then_backordered_and_fulfilled_after_import(
    sim: PlugsurfingSimulator, client: PlugsurfingClient, orders: MemoryOrders, clock: ManualClock
) -> None:
    stock = MemoryStock(START, count=1)
    receive(sim, orders, quantity=3)

    backordered = fulfil(orders, stock, client, clock)
    stock.add(5)
    done = fulfil_until_done(orders, stock, client, clock)

    assert backordered.state is KeyOrderState.BACKORDERED
    assert backordered.claimed == 1, "what could be claimed stays claimed"
    assert metric_count("OrdersBackordered") == 1
    assert done.state is KeyOrderState.ASSIGNED
    assert len(stock.of_order("o-1")) == 3
    assert sim.assign_count("o-1") == 1


class CrashAfterAssign:
    """The assign call reaches Plugsurfing, then the processor dies before recording it."""

    def __init__(self, client: PlugsurfingClient) -> None:
        self.client = client

    def list_orders(self, **query: Any) -> Any:
        return self.client.list_orders(**query)

    def assign_order(self, order_id: str) -> EmpOrder:
        self.client.assign_order(order_id)
        raise RuntimeError("killed")


def test_given_a_crash_between_the_assign_call_and_its_record_when_rerun_then_it_is_not_assigned_twice(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    stock: MemoryStock,
    clock: ManualClock,
) -> None:
    receive(sim, orders)
    with pytest.raises(RetryLater):
        fulfil(orders, stock, client, clock)
    stock.sync()

    with pytest.raises(RuntimeError, match="killed"):
        fulfil(orders, stock, CrashAfterAssign(client), clock)
    crashed = orders.get("o-1")
    done = fulfil(orders, stock, client, clock, owner="w2")

    assert crashed is not None
    assert crashed.state is KeyOrderState.ASSIGNING
    assert done.state is KeyOrderState.ASSIGNED
    assert sim.assign_count("o-1") == 1


def test_given_a_crash_after_assign_was_requested_but_before_the_call_when_rerun_then_it_is_assigned_once(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    stock: MemoryStock,
    clock: ManualClock,
) -> None:
    receive(sim, orders)

    class CrashBeforeAssign(CrashAfterAssign):
        def assign_order(self, order_id: str) -> EmpOrder:
            raise RuntimeError("killed")

    with pytest.raises(RetryLater):
        fulfil(orders, stock, client, clock)
    stock.sync()
    with pytest.raises(RuntimeError):
        fulfil(orders, stock, CrashBeforeAssign(client), clock)
    done = fulfil(orders, stock, client, clock)

    assert done.state is KeyOrderState.ASSIGNED
    assert sim.assign_count("o-1") == 1


def test_given_plugsurfing_fails_the_assign_with_503_when_retried_then_it_checks_first_and_assigns_once(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    stock: MemoryStock,
    clock: ManualClock,
) -> None:
    receive(sim, orders)
    with pytest.raises(RetryLater):
        fulfil(orders, stock, client, clock)
    stock.sync()
    sim.add_fault(kind="status", status=503, path="/drive/emp/v1/order/*", count=1)

    with pytest.raises(RetryLater, match="assign failed"):
        fulfil(orders, stock, client, clock)
    done = fulfil(orders, stock, client, clock)

    assert done.state is KeyOrderState.ASSIGNED
    assert sim.assign_count("o-1") == 1


def test_given_an_order_plugsurfing_does_not_list_when_fulfilled_then_it_waits_without_claiming_stock(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    stock: MemoryStock,
    clock: ManualClock,
) -> None:
    order = KeyOrder(
        order_id="ghost", organization_id=ORG, created_at=START, received_at=START, updated_at=START
    )
    orders.put_new(order)

    held = fulfil_until_done(orders, stock, client, clock, "ghost")
    clock.advance(FulfilDependencies.hold_max.total_seconds())
    done = fulfil(orders, stock, client, clock, "ghost")

    assert held.state is KeyOrderState.ON_HOLD
    assert "not found at Plugsurfing" in (held.last_error or "")
    assert stock.of_order("ghost") == []
    assert sim.assign_count("ghost") == 0
    assert done.state is KeyOrderState.FAILED
    assert "on hold for more than 7 day(s)" in (done.last_error or "")
    assert metric_count("OrdersFailed") == 1


def test_given_a_key_sync_error_when_waiting_for_keys_then_the_order_shows_it(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    stock: MemoryStock,
    clock: ManualClock,
) -> None:
    receive(sim, orders)
    with pytest.raises(RetryLater):
        fulfil(orders, stock, client, clock)
    (uid,) = [k.uid for k in stock.of_order("o-1")]
    stock.items[uid] = stock.items[uid].model_copy(
        update={"sync_state": SyncState.ERROR, "sync_error": "409 not ours"}
    )

    with pytest.raises(RetryLater):
        fulfil(orders, stock, client, clock)

    shown = orders.get("o-1")
    assert shown is not None
    assert shown.state is KeyOrderState.KEYS_CLAIMED
    assert "409 not ours" in (shown.last_error or "")


def test_given_a_claimed_key_disabled_by_the_operator_when_creating_keys_then_the_order_fails(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    stock: MemoryStock,
    clock: ManualClock,
) -> None:
    receive(sim, orders)
    stock.claim_in_stock(1, "o-1")
    (key,) = stock.of_order("o-1")
    stock.items[key.uid] = key.model_copy(update={"state": KeyState.DISABLED})
    order = orders.get("o-1")
    assert order is not None
    orders.leases.items["o-1"] = order.model_copy(
        update={
            "state": KeyOrderState.KEYS_CLAIMED,
            "fleet_id": FLEET,
            "keys": [KeyToShip(uid=key.uid, visual_number=key.visual_number)],
        }
    )

    done = fulfil(orders, stock, client, clock)

    assert done.state is KeyOrderState.FAILED
    assert "DISABLED" in (done.last_error or "")
    assert sim.assign_count("o-1") == 0


def test_given_a_key_claimed_for_another_order_when_handed_over_then_refused(clock: ManualClock) -> None:
    stock = MemoryStock(START, count=1)
    (key,) = stock.claim_in_stock(1, "other-order")

    with pytest.raises(Exception, match="no longer claimed"):
        hand_over(key, "o-1", FLEET, clock.now())


def test_given_a_key_already_handed_over_when_handed_over_again_then_unchanged(clock: ManualClock) -> None:
    stock = MemoryStock(START, count=1)
    (key,) = stock.claim_in_stock(1, "o-1")
    once = hand_over(key, "o-1", FLEET, clock.now())

    assert once.state is KeyState.ACTIVE
    assert hand_over(once, "o-1", FLEET, clock.now()) is once


def test_given_an_order_being_processed_when_a_second_processor_comes_then_it_is_told_to_retry(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    stock: MemoryStock,
    clock: ManualClock,
) -> None:
    receive(sim, orders)
    orders.acquire("o-1", "w-other", clock.now(), timedelta(minutes=2))

    with pytest.raises(RecordBusy):
        fulfil(orders, stock, client, clock)
    clock.advance(121)  # the other processor's lease ran out (it died)
    done = fulfil_until_done(orders, stock, client, clock)

    assert done.state is KeyOrderState.ASSIGNED


def test_given_concurrent_processors_on_one_order_when_they_race_then_keys_are_claimed_and_assigned_once(
    sim: PlugsurfingSimulator, orders: MemoryOrders, clock: ManualClock
) -> None:
    stock = MemoryStock(START, count=20)
    receive(sim, orders, quantity=3)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(name: str, start: threading.Barrier) -> None:
        with sim_client(sim) as client:
            start.wait()
            for _ in range(6):
                try:
                    state = fulfil(orders, stock, client, clock, owner=name).state.value
                except RetryLater as later:
                    state = type(later).__name__
                with lock:
                    outcomes.append(state)
                stock.sync()

    barrier = threading.Barrier(8)
    threads = [threading.Thread(target=worker, args=(f"w{n}", barrier)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    order = orders.get("o-1")
    assert order is not None
    assert order.state is KeyOrderState.ASSIGNED
    assert len(stock.of_order("o-1")) == 3, "no key claimed twice, none extra"
    assert sum(1 for k in stock.items.values() if k.state is KeyState.IN_STOCK) == 17
    assert sim.assign_count("o-1") == 1
    assert "ASSIGNED" in outcomes
