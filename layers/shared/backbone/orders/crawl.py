"""The EMP order crawler: `GET /emp/v1/orders` page by page into OrdersTable and OrderQueue.

- Window: `fromDate` = watermark minus an overlap. The partner filters strictly "created after"
  and orders can appear a little after their `created` time; the overlap re-reads that margin and
  the conditional put on the order id drops what was already stored.
- Checkpoint: after every page the cursor (with the query it belongs to) is saved in the control
  item, so a crawl stopped by the clock (or killed) resumes with the next page.
- Watermark: advances only when a crawl completes, to the newest `created` seen.
- Start: the very first crawl (no watermark yet) fetches from `CrawlDependencies.start_from` and makes
  it the watermark, so an order history from before the backbone is never fetched (or
  fulfilled). `None` fetches everything.
- Repeated cursor: the crawl stops (metric `OrderCrawlRepeatedCursor`, alarm) and the next run
  starts over from the watermark.
- Sweep: every run first re-enqueues orders that wait (BACKORDERED, UNMAPPED) and orders stalled
  in progress, so stock imports, new mappings and lost messages are picked up without an operator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from backbone.observability import MetricUnit, logger, metrics
from backbone.orders.errors import RecordBusy
from backbone.orders.models import IN_PROGRESS, WAITING, CrawlCheckpoint, KeyOrder, KeyOrderState
from backbone.orders.ports import CrawlDependencies, OrderFeed, OrderQueue, OrderRepository
from backbone.orders.redelivery import lease_owner
from backbone.timeutil import to_storage

if TYPE_CHECKING:
    from backbone.partners.schemas import EmpOrder

MAX_REMEMBERED_CURSORS = 500  # bounded: the control item must stay far below 400 KB

Outcome = Literal["complete", "interrupted", "repeated-cursor", "busy"]


@dataclass
class CrawlReport:
    outcome: Outcome
    resumed: bool = False
    pages: int = 0
    orders_seen: int = 0
    new_orders: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    watermark: datetime | None = None
    cursor: str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "resumed": self.resumed,
            "pages": self.pages,
            "ordersSeen": self.orders_seen,
            "newOrders": self.new_orders,
            "requeued": self.requeued,
            "watermark": to_storage(self.watermark) if self.watermark else None,
            "cursor": self.cursor,
        }


def run_crawl(deps: CrawlDependencies, remaining_ms: Callable[[], int], label: str) -> dict[str, Any]:
    """One scheduled crawl of EMP orders (only where there is an EMP orders API: `deps.feed`)."""
    if deps.feed is None:
        logger.warning("PartnerMode is not emp: EMP order crawling is off")
        return {"outcome": "disabled", "reason": "PartnerMode is drive: no EMP orders API"}
    return crawl_orders(deps, remaining_ms, lease_owner(label)).summary()


def crawl_orders(deps: CrawlDependencies, remaining_ms: Callable[[], int], owner: str) -> CrawlReport:
    """One scheduled run: sweep, then crawl (resuming a crawl in progress) until done or time."""
    if deps.feed is None:
        raise ValueError("no EMP orders API to crawl")
    now = deps.clock()
    try:
        checkpoint = deps.control.acquire_crawl(owner, now, deps.lease)
    except RecordBusy:
        logger.info("another crawl holds the lease; skipping this run")
        return CrawlReport("busy")
    crawl = _Crawl(deps, deps.feed, checkpoint)
    try:
        crawl.report.requeued = requeue_waiting(deps.orders, deps.queue, now, deps.stall_after)
        crawl.run(remaining_ms)
    finally:
        deps.control.release_crawl(crawl.checkpoint)
    return crawl.report


def requeue_waiting(
    orders: OrderRepository, queue: OrderQueue, now: datetime, stall_after: timedelta
) -> list[str]:
    """Enqueue again every waiting order, and every order in progress untouched for `stall_after`
    (its message was lost or dead-lettered): fulfilment is idempotent, so a spare message is
    harmless."""
    cutoff = now - stall_after
    requeued: list[str] = []
    for state in sorted(WAITING | IN_PROGRESS):
        for order in orders.by_state(state):
            if state in WAITING or order.updated_at <= cutoff:
                queue.send(order.order_id)
                requeued.append(order.order_id)
    if requeued:
        logger.info("orders enqueued again", extra={"count": len(requeued)})
        metrics.add_metric(name="OrdersRequeued", unit=MetricUnit.Count, value=len(requeued))
    return requeued


class _Crawl:
    """One run's state: the checkpoint as last saved and the report."""

    def __init__(self, deps: CrawlDependencies, feed: OrderFeed, checkpoint: CrawlCheckpoint) -> None:
        self.deps, self.feed = deps, feed
        self.orders, self.control, self.queue, self.clock = deps.orders, deps.control, deps.queue, deps.clock
        self.checkpoint = checkpoint
        self.report = CrawlReport(
            "interrupted", resumed=checkpoint.in_progress, watermark=checkpoint.watermark
        )

    def run(self, remaining_ms: Callable[[], int]) -> None:
        if not self.checkpoint.in_progress:
            self._begin()
        while True:
            if remaining_ms() < self.deps.margin_ms:
                logger.info("crawl interrupted by the clock; resuming next run", extra=self._where())
                self.report.outcome = "interrupted"
                break
            if self._page():
                break
        self.report.watermark = self.checkpoint.watermark
        self.report.cursor = self.checkpoint.cursor

    def _begin(self) -> None:
        watermark = self.checkpoint.watermark
        start = self.deps.start_from
        if watermark is None and start is not None:
            # The first crawl: nothing older than the start, and the start is kept as the
            # watermark, so a first crawl that finds nothing does not move it to a later run.
            watermark = start if isinstance(start, datetime) else self.clock()  # FIRST_CRAWL
            logger.info("first crawl: orders created from the start date on", extra={"start": str(watermark)})
            run_from: datetime | None = watermark
        else:
            run_from = watermark - self.deps.overlap if watermark else None
        self.checkpoint = self.checkpoint.model_copy(
            update={
                "watermark": watermark,
                "run_from": run_from,
                "cursor": None,
                "cursors": [],
                "max_seen": None,
                "pages": 0,
                "run_started_at": self.clock(),
            }
        )

    def _page(self) -> bool:
        """Fetch, store and checkpoint one page; True when the crawl is over."""
        cp = self.checkpoint
        page = self.feed.list_orders(from_date=cp.run_from, page_size=self.deps.page_size, cursor=cp.cursor)
        max_seen = cp.max_seen
        for order in page.items:
            self._store(order)
            if order.created is not None and (max_seen is None or order.created > max_seen):
                max_seen = order.created
        self.report.pages += 1
        self.report.orders_seen += len(page.items)
        now = self.clock()
        if page.is_last:
            newest = max((moment for moment in (cp.watermark, max_seen) if moment is not None), default=None)
            self._save(**_FINISHED, watermark=newest, last_completed_at=now, last_error=None, updated_at=now)
            self.report.outcome = "complete"
            logger.info("crawl complete", extra={"pages": cp.pages + 1, "watermark": str(newest)})
            return True
        if page.cursor == cp.cursor or page.cursor in cp.cursors:
            error = f"Plugsurfing repeated cursor {page.cursor!r} after {cp.pages + 1} page(s); crawl stopped"
            logger.error(error, extra=self._where())
            metrics.add_metric(name="OrderCrawlRepeatedCursor", unit=MetricUnit.Count, value=1)
            self._save(**_FINISHED, last_error=error, updated_at=now)
            self.report.outcome = "repeated-cursor"
            return True
        cursors = [*cp.cursors, page.cursor] if page.cursor else list(cp.cursors)
        self._save(
            cursor=page.cursor,
            cursors=cursors[-MAX_REMEMBERED_CURSORS:],
            max_seen=max_seen,
            pages=cp.pages + 1,
            updated_at=now,
        )
        return False

    def _store(self, order: EmpOrder) -> None:
        """Store an order not seen before and enqueue it for fulfilment."""
        record = KeyOrder.from_partner(order, self.clock())
        if not self.orders.put_new(record):
            return
        self.report.new_orders.append(record.order_id)
        metrics.add_metric(name="OrdersReceived", unit=MetricUnit.Count, value=1)
        logger.info("new key order", extra={"order_id": record.order_id, "state": record.state})
        if record.state is KeyOrderState.RECEIVED:
            self.queue.send(record.order_id)

    def _save(self, **changes: Any) -> None:
        self.checkpoint = self.control.save_crawl(self.checkpoint.model_copy(update=changes))

    def _where(self) -> dict[str, Any]:
        return {"pages": self.checkpoint.pages, "cursor": self.checkpoint.cursor}


_FINISHED: dict[str, Any] = {"cursor": None, "cursors": [], "run_from": None, "max_seen": None, "pages": 0}
"""A crawl that ended (completed or abandoned): the next run starts a fresh one."""
