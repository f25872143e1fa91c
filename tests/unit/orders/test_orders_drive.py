"""Drive key orders: ordered exactly once per request, delayed (never dropped) by Plugsurfing's
one-order-per-user-per-5-minutes throttle, rejected for good on 400/404, and tracked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from orderfakes import START, MemoryDriveOrders, drive_deps, metric_count
from pydantic import ValidationError

from backbone.orders.drive import (
    parse_request,
    place_drive_order,
    pricing,
    receipt,
    reject_invalid,
    track_drive_orders,
)
from backbone.orders.errors import RetryLater
from backbone.orders.models import DriveOrderRecord, DriveOrderRequest, DriveRequestState
from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.partners.schemas import OrderState
from simulator import ManualClock, PlugsurfingSimulator

USER = "user-1"


def request(request_id: str = "req-1", user_id: str = USER, **fields: Any) -> DriveOrderRequest:
    body = {
        "requestId": request_id,
        "userId": user_id,
        "address": {
            "addressLine1": "Driver road 1",
            "postalCode": "11122",
            "city": "Berlin",
            "country": "Germany",
        },
        "taxationCountry": "DE",
    } | fields
    return DriveOrderRequest.model_validate(body)


def place(
    drive_orders: MemoryDriveOrders, partner: Any, clock: ManualClock, order: DriveOrderRequest | None = None
) -> DriveOrderRecord:
    return place_drive_order(order or request(), drive_deps(drive_orders, partner, clock), "w1")


def user_orders(sim: PlugsurfingSimulator, user_id: str = USER) -> list[dict[str, Any]]:
    return sim.state.user_orders(user_id)


@pytest.fixture(autouse=True)
def _user(sim: PlugsurfingSimulator) -> None:
    sim.add_user(USER)


def test_given_a_request_when_placed_then_the_order_is_recorded_with_plugsurfings_id_and_state(
    sim: PlugsurfingSimulator, client: PlugsurfingClient, drive_orders: MemoryDriveOrders, clock: ManualClock
) -> None:
    record = place(drive_orders, client, clock)

    (placed,) = user_orders(sim)
    assert record.state is DriveRequestState.ORDERED
    assert record.order_id == placed["id"]
    assert record.order_state is OrderState.ORDER_PLACED
    assert placed["address"]["addressLine1"] == "Driver road 1"


def test_given_a_request_already_ordered_when_delivered_again_then_it_is_not_ordered_again(
    sim: PlugsurfingSimulator, client: PlugsurfingClient, drive_orders: MemoryDriveOrders, clock: ManualClock
) -> None:
    sim.configure(order_throttle_seconds=0)  # so only our idempotency can prevent a second order
    first = place(drive_orders, client, clock)

    again = place(drive_orders, client, clock)

    assert again.order_id == first.order_id
    assert len(user_orders(sim)) == 1


def test_given_the_user_ordered_within_5_minutes_when_placed_then_delayed_by_retry_after_and_ordered_later(
    sim: PlugsurfingSimulator, client: PlugsurfingClient, drive_orders: MemoryDriveOrders, clock: ManualClock
) -> None:
    place(drive_orders, client, clock, request("req-1"))
    clock.advance(60)

    with pytest.raises(RetryLater) as later:
        place(drive_orders, client, clock, request("req-2"))
    throttled = drive_orders.get("req-2")
    assert later.value.delay_seconds is not None
    clock.advance(later.value.delay_seconds)
    record = place(drive_orders, client, clock, request("req-2"))

    assert later.value.delay_seconds == 240 + 1, "Retry-After plus a second"
    assert throttled is not None
    assert throttled.state is DriveRequestState.PENDING
    assert throttled.throttled == 1
    assert record.state is DriveRequestState.ORDERED
    assert len(user_orders(sim)) == 2
    assert metric_count("DriveOrdersThrottled") == 1


def test_given_a_429_without_retry_after_when_placed_then_it_waits_the_partners_window(
    sim: PlugsurfingSimulator, client: PlugsurfingClient, drive_orders: MemoryDriveOrders, clock: ManualClock
) -> None:
    sim.add_fault(kind="throttle", path="/drive/v1/users/*/charging-keys/order", retry_after=None)

    with pytest.raises(RetryLater) as later:
        place(drive_orders, client, clock)

    assert later.value.delay_seconds == 300 + 1
    assert user_orders(sim) == []


def test_given_an_unknown_user_when_placed_then_rejected_for_good_with_the_reason(
    sim: PlugsurfingSimulator, client: PlugsurfingClient, drive_orders: MemoryDriveOrders, clock: ManualClock
) -> None:
    record = place(drive_orders, client, clock, request(user_id="nobody"))
    again = place(drive_orders, client, clock, request(user_id="nobody"))

    assert record.state is DriveRequestState.REJECTED
    assert (record.last_error or "").startswith("404")
    assert again.attempts == record.attempts == 1, "a rejected request is not retried"
    assert metric_count("DriveOrdersRejected") == 1


def test_given_a_400_when_placed_then_rejected(
    sim: PlugsurfingSimulator, client: PlugsurfingClient, drive_orders: MemoryDriveOrders, clock: ManualClock
) -> None:
    sim.add_fault(kind="status", status=400, path="/drive/v1/users/*/charging-keys/order")

    record = place(drive_orders, client, clock)

    assert record.state is DriveRequestState.REJECTED
    assert (record.last_error or "").startswith("400")


class CrashAfterOrder:
    """The order reaches Plugsurfing, then the processor dies before recording it."""

    def __init__(self, client: PlugsurfingClient) -> None:
        self.client = client

    def order_charging_key(self, *args: Any, **kwargs: Any) -> Any:
        self.client.order_charging_key(*args, **kwargs)
        raise RuntimeError("killed")

    def list_charging_key_orders(self, user_id: str) -> Any:
        return self.client.list_charging_key_orders(user_id)


def test_given_a_crash_after_the_order_call_when_rerun_then_the_order_is_found_not_placed_twice(
    sim: PlugsurfingSimulator, client: PlugsurfingClient, drive_orders: MemoryDriveOrders, clock: ManualClock
) -> None:
    sim.configure(order_throttle_seconds=0)  # the partner's guard off: only our look-up prevents a duplicate
    sim.add_drive_order(USER, id="older", created=START - timedelta(days=3))
    with pytest.raises(RuntimeError):
        place(drive_orders, CrashAfterOrder(client), clock)
    clock.advance(5)

    record = place(drive_orders, client, clock)

    placed = [o for o in user_orders(sim) if o["id"] != "older"]
    assert len(placed) == 1
    assert record.state is DriveRequestState.ORDERED
    assert record.order_id == placed[0]["id"]


def test_given_a_503_on_the_order_call_when_retried_then_it_looks_first_and_orders_once(
    sim: PlugsurfingSimulator, client: PlugsurfingClient, drive_orders: MemoryDriveOrders, clock: ManualClock
) -> None:
    sim.add_fault(kind="status", status=503, path="/drive/v1/users/*/charging-keys/order", count=1)

    with pytest.raises(RetryLater):
        place(drive_orders, client, clock)
    record = place(drive_orders, client, clock)

    assert record.state is DriveRequestState.ORDERED
    assert len(user_orders(sim)) == 1


def test_given_an_invalid_message_with_a_request_id_when_received_then_recorded_rejected() -> None:
    records = MemoryDriveOrders()
    body = (
        '{"requestId": "bad-1", "userId": "u", "address": {"city": "Berlin"}, "taxationCountry": "germany"}'
    )
    with pytest.raises(ValidationError) as invalid:
        parse_request(body)

    assert reject_invalid(body, invalid.value, records, START)
    record = records.get("bad-1")
    assert record is not None
    assert record.state is DriveRequestState.REJECTED
    assert "taxationCountry" in (record.last_error or "")
    assert "addressLine1" in (record.last_error or "")


def test_given_an_invalid_message_without_request_id_when_received_then_nothing_is_recorded() -> None:
    records = MemoryDriveOrders()
    with pytest.raises(ValidationError) as invalid:
        parse_request("not json")

    assert not reject_invalid("not json", invalid.value, records, START)
    assert records.records() == []


def test_given_open_orders_when_tracked_then_states_are_updated_unknown_ones_as_unknown_final_ones_closed(
    sim: PlugsurfingSimulator, client: PlugsurfingClient, drive_orders: MemoryDriveOrders, clock: ManualClock
) -> None:
    for name, state in (("a", "ORDER_PAID"), ("b", "ORDER_FREE_OF_CHARGE"), ("c", "ORDER_FILLED")):
        sim.add_drive_order(USER, id=f"order-{name}", state=state, hasReceipt=name == "c")
        record = DriveOrderRecord.from_request(request(f"req-{name}"), START).model_copy(
            update={
                "state": DriveRequestState.ORDERED,
                "order_id": f"order-{name}",
                "order_state": OrderState.ORDER_PLACED,
            }
        )
        drive_orders.put_new(record)

    report = track_drive_orders(drive_deps(drive_orders, client, clock))
    second = track_drive_orders(drive_deps(drive_orders, client, clock))

    states = {r.request_id: (r.state, r.order_state, r.has_receipt) for r in drive_orders.records()}
    assert states["req-a"] == (DriveRequestState.ORDERED, OrderState.ORDER_PAID, False)
    assert states["req-b"] == (DriveRequestState.ORDERED, OrderState.UNKNOWN, False)
    assert states["req-c"] == (DriveRequestState.CLOSED, OrderState.ORDER_FILLED, True)
    assert sorted(report.changed) == ["req-a", "req-b", "req-c"]
    assert report.closed == ["req-c"]
    assert second.changed == [], "nothing changed, nothing written"
    assert second.users == 1, "a closed order is no longer polled; the others are"


def test_given_an_order_with_a_receipt_when_asked_then_its_url_else_not_found(
    sim: PlugsurfingSimulator, client: PlugsurfingClient, drive_orders: MemoryDriveOrders, clock: ManualClock
) -> None:
    sim.add_drive_order(USER, id="with", hasReceipt=True)
    sim.add_drive_order(USER, id="without")
    deps = drive_deps(drive_orders, client, clock)

    assert receipt(deps, USER, "with")["url"].endswith("/_sim/receipts/with")
    assert receipt(deps, USER, "without")["status"] == 404


def test_given_the_order_configuration_then_pricing_answers_each_country_and_404_when_none_is_set_up(
    sim: PlugsurfingSimulator, client: PlugsurfingClient, drive_orders: MemoryDriveOrders, clock: ManualClock
) -> None:
    deps = drive_deps(drive_orders, client, clock)
    countries = [
        {"country": "DE", "currency": "EUR", "priceMinorInclVat": 1000, "vat": 19},
        {"country": "SE", "currency": "SEK", "priceMinorInclVat": 9900, "vat": 25},
    ]
    sim.configure(orders_configuration=countries)

    priced = pricing(deps)
    sim.configure(orders_configuration=[])
    unpriced = pricing(deps)

    assert priced == {"countries": countries}
    assert unpriced["status"] == 404
    assert "countries" not in unpriced


@pytest.mark.parametrize(
    "change",
    [
        {"taxationCountry": "de"},
        {"requestId": ""},
        {"address": {"city": "Berlin"}},
        {"unexpected": 1},
    ],
)
def test_given_a_malformed_request_when_parsed_then_refused(change: dict[str, Any]) -> None:
    body = request().model_dump(by_alias=True, exclude_none=True) | change
    with pytest.raises(ValidationError):
        DriveOrderRequest.model_validate(body)
