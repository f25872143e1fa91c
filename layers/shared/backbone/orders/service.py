"""Entry points of the key-order functions: build the data access once per process from settings
and call the logic. Handlers make exactly one call into this module."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backbone.keys.wiring import key_store
from backbone.observability import logger
from backbone.orders.crawl import CrawlConfig, crawl_orders
from backbone.orders.drive import (
    DriveOrderConfig,
    TrackConfig,
    parse_request,
    place_drive_order,
    receipt_url,
    reject_invalid,
    track_drive_orders,
)
from backbone.orders.errors import OrderNotFound, RetryLater
from backbone.orders.fulfil import FulfilConfig, fulfil_order
from backbone.orders.models import DriveOrderRecord, KeyOrder
from backbone.orders.settings import (
    DriveOrderSettings,
    OrderCrawlSettings,
    OrderFulfilSettings,
    QueueRetrySettings,
)
from backbone.orders.store import SqsQueue, drive_order_store, order_store, sqs_queue
from backbone.partners.errors import PartnerError
from backbone.partners.factory import plugsurfing_client
from backbone.timeutil import utc_now


def lease_owner(label: str) -> str:
    """A lease holder id unique to this attempt (a message may be delivered twice at once); the
    label (message or request id) makes it readable in logs."""
    return f"{label}:{uuid.uuid4().hex[:12]}"


class OrderMessage(BaseModel):
    """An OrderQueue message: the id of an order in OrdersTable."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    order_id: str = Field(alias="orderId", min_length=1)


def crawl(settings: OrderCrawlSettings, remaining_ms: Callable[[], int], label: str) -> dict[str, Any]:
    """One scheduled crawl of EMP orders (EMP mode only: the orders API belongs to it)."""
    if settings.partner_mode != "emp":
        logger.warning("PartnerMode is not emp: EMP order crawling is off")
        return {"outcome": "disabled", "reason": f"PartnerMode is {settings.partner_mode}"}
    store = order_store(settings.orders_table)
    report = crawl_orders(
        plugsurfing_client(settings),
        store,
        store,
        sqs_queue(settings.order_queue_url),
        clock=utc_now,
        remaining_ms=remaining_ms,
        owner=lease_owner(label),
        config=CrawlConfig(
            page_size=settings.order_crawl_page_size,
            overlap=settings.overlap,
            margin_ms=settings.order_crawl_margin_ms,
            lease=timedelta(seconds=settings.order_crawl_lease_seconds),
            stall_after=timedelta(seconds=settings.order_stall_seconds),
            # Only used by the first crawl (no watermark yet): the configured start, else now.
            start_from=settings.order_crawl_start or utc_now(),
        ),
    )
    return report.summary()


def fulfil_from_queue(
    body: str, receipt_handle: str, receive_count: int, settings: OrderFulfilSettings, label: str
) -> KeyOrder | None:
    """One OrderQueue message. On `RetryLater` the message is hidden for the delay and re-raised,
    so the batch reports it failed and SQS delivers it again then."""
    message = OrderMessage.model_validate_json(body)
    try:
        with _redelivered_later(sqs_queue(settings.order_queue_url), receipt_handle, receive_count, settings):
            return fulfil_order(
                message.order_id,
                orders=order_store(settings.orders_table),
                keys=key_store(settings.charging_keys_table),
                feed=plugsurfing_client(settings),
                clock=utc_now,
                owner=lease_owner(label),
                config=FulfilConfig(
                    lease=timedelta(seconds=settings.order_lease_seconds),
                    hold_max=timedelta(seconds=settings.order_hold_max_seconds),
                ),
            )
    except OrderNotFound:
        # Only the crawler enqueues, after storing: retrying cannot make the order appear.
        logger.error("message for an order not in OrdersTable; dropped", extra={"order_id": message.order_id})
        return None


def place_from_queue(
    body: str, receipt_handle: str, receive_count: int, settings: DriveOrderSettings, label: str
) -> DriveOrderRecord | None:
    """One DriveOrderQueue message; an invalid one is recorded REJECTED (final, not retried)."""
    records = drive_order_store(settings.drive_orders_table)
    try:
        request = parse_request(body)
    except ValidationError as invalid:
        reject_invalid(body, invalid, records, utc_now())
        return None
    queue = sqs_queue(settings.drive_order_queue_url)
    with _redelivered_later(queue, receipt_handle, receive_count, settings):
        return place_drive_order(
            request,
            records=records,
            partner=plugsurfing_client(settings),
            clock=utc_now,
            owner=lease_owner(label),
            config=DriveOrderConfig(
                lease=timedelta(seconds=settings.drive_order_lease_seconds),
                throttle=timedelta(seconds=settings.drive_order_throttle_seconds),
            ),
        )


def track(settings: DriveOrderSettings) -> dict[str, Any]:
    """Scheduled: poll Plugsurfing for the state of every open Drive order."""
    report = track_drive_orders(
        drive_order_store(settings.drive_orders_table),
        plugsurfing_client(settings),
        utc_now,
        TrackConfig(
            settle_after=timedelta(seconds=settings.drive_order_settle_seconds),
            track_max=timedelta(seconds=settings.drive_order_track_max_seconds),
        ),
    )
    return report.summary()


def receipt(settings: DriveOrderSettings, user_id: str, order_id: str) -> dict[str, Any]:
    """On demand (`bbctl orders receipt`): the receipt URL, or why there is none."""
    try:
        return {"url": receipt_url(plugsurfing_client(settings), user_id, order_id)}
    except PartnerError as error:
        return {"error": str(error), "status": error.status}


@contextmanager
def _redelivered_later(
    queue: SqsQueue, receipt_handle: str, receive_count: int, settings: QueueRetrySettings
) -> Iterator[None]:
    """Turn `RetryLater` into a hidden message: visibility = the error's delay, else the back-off
    for this receive count. Re-raised, so the batch reports the record failed (never deleted)."""
    try:
        yield
    except RetryLater as later:
        wanted = settings.backoff(receive_count) if later.delay_seconds is None else later.delay_seconds
        delay = queue.redeliver_in(receipt_handle, wanted)
        logger.info("message comes back later", extra={"reason": later.reason, "delay_s": delay})
        raise
