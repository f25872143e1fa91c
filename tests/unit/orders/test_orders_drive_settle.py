"""Drive orders settle: the partner's own state is kept beside the mapped one, and an order that
does not reach a final state within the bounds stops being polled (UNSETTLED, counted for the
alarm) instead of being polled forever (simulator on a ManualClock, states changed later)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from orderfakes import MemoryDriveOrders, drive_deps, metric_count
from test_orders_drive import USER, request

from backbone.orders.drive import place_drive_order, track_drive_orders
from backbone.orders.models import DriveOrderRecord, DriveRequestState
from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.partners.schemas import OrderState
from simulator import ManualClock, PlugsurfingSimulator

DAY = 86_400.0


def placed(
    sim: PlugsurfingSimulator, client: PlugsurfingClient, records: MemoryDriveOrders, clock: ManualClock
) -> DriveOrderRecord:
    """A request ordered at the simulator through the product (ORDER_PLACED there)."""
    sim.add_user(USER)
    record = place_drive_order(request(), drive_deps(records, client, clock), "w1")
    assert record.state is DriveRequestState.ORDERED
    return record


def track(records: MemoryDriveOrders, client: PlugsurfingClient, clock: ManualClock) -> list[str]:
    return track_drive_orders(drive_deps(records, client, clock)).unsettled


def test_given_a_state_the_spec_does_not_list_when_tracked_then_the_partners_value_is_kept(
    sim: PlugsurfingSimulator, client: PlugsurfingClient, drive_orders: MemoryDriveOrders, clock: ManualClock
) -> None:
    record = placed(sim, client, drive_orders, clock)
    sim.set_drive_order_state(USER, record.order_id or "", "ORDER_FREE_OF_CHARGE")

    track(drive_orders, client, clock)

    stored = drive_orders.get(record.request_id)
    assert stored is not None
    assert stored.order_state is OrderState.UNKNOWN, "mapped as the spec asks"
    assert stored.order_state_raw == "ORDER_FREE_OF_CHARGE"
    assert stored.order_state_label() == "UNKNOWN (ORDER_FREE_OF_CHARGE)"
    assert stored.order_state_since == clock.now()
    assert record.order_state_raw == "ORDER_PLACED", "kept from the order call too"


@pytest.mark.parametrize("state", ["ORDER_PAYMENT_FAILED", "ORDER_REFUND_FAILED", "ORDER_SOMETHING_NEW"])
def test_given_an_order_stuck_in_a_state_that_needs_somebody_then_tracking_stops_after_the_bound(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    drive_orders: MemoryDriveOrders,
    clock: ManualClock,
    state: str,
) -> None:
    record = placed(sim, client, drive_orders, clock)
    sim.set_drive_order_state(USER, record.order_id or "", state)
    track(drive_orders, client, clock)
    clock.advance(6 * DAY)
    early = track(drive_orders, client, clock)
    clock.advance(DAY)

    late = track(drive_orders, client, clock)
    after = track_drive_orders(drive_deps(drive_orders, client, clock))

    stored = drive_orders.get(record.request_id)
    assert stored is not None
    assert early == []
    assert late == [record.request_id]
    assert stored.state is DriveRequestState.UNSETTLED
    assert state in (stored.last_error or "")
    assert "tracking stopped" in (stored.last_error or "")
    assert after.users == 0, "no longer polled"
    assert metric_count("DriveOrdersUnsettled") == 1


def test_given_a_stuck_order_that_moves_on_then_its_clock_starts_again(
    sim: PlugsurfingSimulator, client: PlugsurfingClient, drive_orders: MemoryDriveOrders, clock: ManualClock
) -> None:
    record = placed(sim, client, drive_orders, clock)
    sim.set_drive_order_state(USER, record.order_id or "", "ORDER_PAYMENT_FAILED")
    track(drive_orders, client, clock)
    clock.advance(6 * DAY)
    sim.set_drive_order_state(USER, record.order_id or "", "ORDER_PAID")
    track(drive_orders, client, clock)
    clock.advance(2 * DAY)

    assert track(drive_orders, client, clock) == []
    stored = drive_orders.get(record.request_id)
    assert stored is not None
    assert stored.state is DriveRequestState.ORDERED
    assert stored.order_state is OrderState.ORDER_PAID


@pytest.mark.parametrize("listed", [True, False])
def test_given_an_order_never_final_then_tracking_stops_after_the_longest_bound(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    drive_orders: MemoryDriveOrders,
    clock: ManualClock,
    listed: bool,
) -> None:
    record = placed(sim, client, drive_orders, clock)
    if not listed:
        sim.state.store.drive_orders.clear()  # Plugsurfing lost it
    deps = drive_deps(drive_orders, client, clock, track_max=timedelta(days=60))
    clock.advance(59 * DAY)
    early = track_drive_orders(deps).unsettled
    clock.advance(DAY)

    late = track_drive_orders(deps).unsettled

    stored = drive_orders.get(record.request_id)
    assert stored is not None
    assert (early, late) == ([], [record.request_id])
    assert stored.state is DriveRequestState.UNSETTLED
    assert ("still ORDER_PLACED" if listed else "not listed by Plugsurfing") in (stored.last_error or "")
