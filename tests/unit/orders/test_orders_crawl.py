"""The EMP order crawler against the simulator (ManualClock): paging, checkpoints, resume,
repeated cursors, the watermark and its overlap, and the sweep of waiting orders."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from orderfakes import ORG, START, MemoryOrders, MemoryQueue, metric_count

from backbone.orders.crawl import CrawlReport, crawl_orders
from backbone.orders.models import KeyOrder, KeyOrderState
from backbone.orders.partner import EmpOrders
from backbone.orders.ports import FIRST_CRAWL, CrawlDependencies
from backbone.partners.pagination import Page
from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.partners.schemas import EmpOrder
from simulator import ManualClock, PlugsurfingSimulator

PLENTY_MS = 60_000


def crawl(
    client: Any,
    orders: MemoryOrders,
    queue: MemoryQueue,
    clock: ManualClock,
    *,
    remaining: Any = lambda: PLENTY_MS,
    owner: str = "run-1",
    **config: Any,
) -> CrawlReport:
    settings = {"page_size": 10, "overlap": timedelta(minutes=10), "margin_ms": 1_000} | config
    deps = CrawlDependencies(
        orders=orders, control=orders, queue=queue, feed=EmpOrders(client), clock=clock.now, **settings
    )
    return crawl_orders(deps, remaining, owner)


def add_orders(sim: PlugsurfingSimulator, count: int, start: datetime, prefix: str = "o") -> list[str]:
    ids = [f"{prefix}-{index:03d}" for index in range(count)]
    for index, order_id in enumerate(ids):
        sim.add_order(id=order_id, created=start + timedelta(seconds=index), organizationId=ORG)
    return ids


class PageBudget:
    """`remaining_ms` that allows `pages` page fetches, then says time is up."""

    def __init__(self, pages: int) -> None:
        self.left = pages

    def __call__(self) -> int:
        self.left -= 1
        return PLENTY_MS if self.left >= 0 else 0


def test_given_orders_on_three_pages_when_crawled_then_each_is_stored_and_enqueued_once(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    queue: MemoryQueue,
    clock: ManualClock,
) -> None:
    ids = add_orders(sim, 25, START - timedelta(hours=1))

    report = crawl(client, orders, queue, clock)

    assert report.outcome == "complete"
    assert report.pages == 3
    assert sorted(report.new_orders) == ids
    assert sorted(queue.sent) == ids
    assert {order.state for order in orders.orders()} == {KeyOrderState.RECEIVED}
    assert orders.checkpoint.watermark == START - timedelta(hours=1) + timedelta(seconds=24)
    assert orders.checkpoint.cursor is None


def test_given_a_crawl_interrupted_by_the_clock_when_the_next_run_starts_then_it_resumes_from_the_checkpoint(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    queue: MemoryQueue,
    clock: ManualClock,
) -> None:
    ids = add_orders(sim, 25, START - timedelta(hours=1))

    first = crawl(client, orders, queue, clock, remaining=PageBudget(1))
    saved = orders.checkpoint
    sim.clear_requests()
    second = crawl(client, orders, queue, clock, owner="run-2")

    assert first.outcome == "interrupted"
    assert first.pages == 1
    assert saved.cursor is not None
    assert saved.watermark is None, "the watermark only moves when a crawl completes"
    assert second.resumed
    assert second.outcome == "complete"
    assert second.pages == 2
    assert sim.requests(path_prefix="/drive/emp/v1/orders")[0]["query"]["cursor"] == saved.cursor
    assert sorted(queue.sent) == ids, "every order enqueued exactly once across both runs"


def test_given_a_partner_that_repeats_a_cursor_when_crawled_then_the_crawl_stops_with_the_error_recorded(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    queue: MemoryQueue,
    clock: ManualClock,
) -> None:
    add_orders(sim, 25, START - timedelta(hours=1))

    class Looping:
        """Hands back the first page's cursor forever."""

        def __init__(self) -> None:
            self.calls = 0

        def list_orders(self, **query: Any) -> Page[EmpOrder]:
            self.calls += 1
            page = client.list_orders(**{**query, "cursor": None})
            return Page(items=page.items, cursor="same-cursor")

    feed = Looping()
    report = crawl(feed, orders, queue, clock)

    assert report.outcome == "repeated-cursor"
    assert feed.calls == 2
    assert metric_count("OrderCrawlRepeatedCursor") == 1, "the alarm's metric"
    checkpoint = orders.checkpoint
    assert checkpoint.cursor is None, "the next run starts over instead of looping"
    assert checkpoint.watermark is None
    assert "repeated cursor" in (checkpoint.last_error or "")


def test_given_an_order_created_exactly_at_the_watermark_when_it_appears_later_then_the_next_crawl_stores_it(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    queue: MemoryQueue,
    clock: ManualClock,
) -> None:
    boundary = START - timedelta(minutes=2)
    sim.add_order(id="seen", created=boundary, organizationId=ORG)
    crawl(client, orders, queue, clock)
    assert orders.checkpoint.watermark == boundary
    # Same second as the watermark, visible only now (the partner filter is strictly "after").
    sim.add_order(id="twin", created=boundary, organizationId=ORG, visible_after=30)
    clock.advance(60)

    report = crawl(client, orders, queue, clock, owner="run-2")

    assert report.new_orders == ["twin"]
    assert queue.sent == ["seen", "twin"]


def test_given_an_order_that_shows_up_after_later_ones_when_within_the_overlap_then_it_is_not_missed(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    queue: MemoryQueue,
    clock: ManualClock,
) -> None:
    sim.add_order(id="later", created=START - timedelta(minutes=1), organizationId=ORG)
    crawl(client, orders, queue, clock)
    sim.add_order(id="lagging", created=START - timedelta(minutes=6), organizationId=ORG, visible_after=10)
    clock.advance(20)

    report = crawl(client, orders, queue, clock, owner="run-2")

    assert report.new_orders == ["lagging"]
    assert orders.checkpoint.watermark == START - timedelta(minutes=1), "watermark never moves back"


def test_given_an_order_history_when_the_first_crawl_starts_at_a_date_then_only_later_orders_are_fetched(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    queue: MemoryQueue,
    clock: ManualClock,
) -> None:
    start = START - timedelta(hours=1)
    add_orders(sim, 3, start - timedelta(days=400), prefix="history")
    add_orders(sim, 2, start + timedelta(minutes=1), prefix="new")

    report = crawl(client, orders, queue, clock, start_from=start)

    assert report.outcome == "complete"
    assert sorted(report.new_orders) == ["new-000", "new-001"]
    assert sorted(queue.sent) == ["new-000", "new-001"], "no order from before the start is fulfilled"
    assert sim.requests(path_prefix="/drive/emp/v1/orders")[0]["query"]["fromDate"].startswith(
        "2026-03-02T08:00"
    )


def test_given_a_first_crawl_that_finds_nothing_when_orders_come_later_then_the_start_holds_and_they_come(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    queue: MemoryQueue,
    clock: ManualClock,
) -> None:
    add_orders(sim, 2, START - timedelta(days=30), prefix="history")
    first = crawl(client, orders, queue, clock, start_from=START)
    clock.advance(300)
    add_orders(sim, 1, START + timedelta(seconds=30), prefix="new")

    second = crawl(client, orders, queue, clock, owner="run-2", start_from=clock.now())

    assert first.new_orders == []
    assert orders.checkpoint.watermark == START + timedelta(seconds=30)
    assert second.new_orders == ["new-000"], "a later run's own time never replaces the first start"
    assert queue.sent == ["new-000"]


def test_given_no_start_date_when_the_first_crawl_runs_then_it_starts_at_its_own_time(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    queue: MemoryQueue,
    clock: ManualClock,
) -> None:
    add_orders(sim, 2, START - timedelta(days=3), prefix="history")
    first = crawl(client, orders, queue, clock, start_from=FIRST_CRAWL)
    clock.advance(60)
    add_orders(sim, 1, START + timedelta(seconds=30), prefix="new")

    second = crawl(client, orders, queue, clock, owner="run-2", start_from=FIRST_CRAWL)

    assert first.new_orders == []
    assert second.new_orders == ["new-000"], "the first crawl's time stays the start"
    assert queue.sent == ["new-000"]


def test_given_an_order_already_assigned_at_plugsurfing_when_first_seen_then_it_is_skipped_not_enqueued(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    queue: MemoryQueue,
    clock: ManualClock,
) -> None:
    sim.add_order(id="done-elsewhere", created=START - timedelta(minutes=1), status="ORDER_ASSIGNED")

    crawl(client, orders, queue, clock)

    stored = orders.get("done-elsewhere")
    assert stored is not None
    assert stored.state is KeyOrderState.SKIPPED
    assert queue.sent == []


def test_given_waiting_and_stalled_orders_when_a_crawl_runs_then_they_are_enqueued_again(
    client: PlugsurfingClient, orders: MemoryOrders, queue: MemoryQueue, clock: ManualClock
) -> None:
    def stored(order_id: str, state: KeyOrderState, updated: datetime) -> None:
        order = KeyOrder(
            order_id=order_id, created_at=updated, received_at=updated, updated_at=updated, state=state
        )
        assert orders.put_new(order)

    stored("backordered", KeyOrderState.BACKORDERED, START)
    stored("unmapped", KeyOrderState.UNMAPPED, START)
    stored("stalled", KeyOrderState.KEYS_CLAIMED, START - timedelta(hours=1))
    stored("busy-now", KeyOrderState.KEYS_CLAIMED, START - timedelta(minutes=1))
    stored("finished", KeyOrderState.ASSIGNED, START - timedelta(hours=1))

    report = crawl(client, orders, queue, clock, stall_after=timedelta(minutes=15))

    assert sorted(report.requeued) == ["backordered", "stalled", "unmapped"]
    assert sorted(queue.sent) == ["backordered", "stalled", "unmapped"]


def test_given_a_crawl_in_progress_elsewhere_when_another_starts_then_it_skips_the_run(
    client: PlugsurfingClient, orders: MemoryOrders, queue: MemoryQueue, clock: ManualClock
) -> None:
    orders.acquire_crawl("other-run", clock.now(), timedelta(minutes=2))

    report = crawl(client, orders, queue, clock)

    assert report.outcome == "busy"
    assert report.pages == 0


@pytest.mark.parametrize("pages_before_stop", [0, 1, 2])
def test_given_any_interruption_point_when_runs_continue_then_every_order_arrives_once(
    sim: PlugsurfingSimulator,
    client: PlugsurfingClient,
    orders: MemoryOrders,
    queue: MemoryQueue,
    clock: ManualClock,
    pages_before_stop: int,
) -> None:
    ids = add_orders(sim, 30, START - timedelta(hours=2))

    outcomes = [crawl(client, orders, queue, clock, remaining=PageBudget(pages_before_stop)).outcome]
    for run in range(5):
        outcomes.append(
            crawl(client, orders, queue, clock, owner=f"run-{run}", remaining=PageBudget(1)).outcome
        )

    assert "complete" in outcomes
    assert sorted(queue.sent) == ids
