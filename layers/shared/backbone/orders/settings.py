"""Environment of the key-order functions (template section "Key-order processing")."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field, field_validator

from backbone.settings import PlugsurfingApiSettings


class QueueRetrySettings(PlugsurfingApiSettings):
    """How long a message that must wait (busy, keys syncing, partner down) stays hidden: the
    base doubles with each receive, up to the maximum."""

    queue_retry_base_seconds: int = Field(default=10, ge=0, le=900)
    queue_retry_max_seconds: int = Field(default=900, ge=1, le=43_200)


class OrderCrawlSettings(PlugsurfingApiSettings):
    """OrderCrawlFunction: GET /emp/v1/orders -> OrdersTable + OrderQueue."""

    orders_table: str = Field(min_length=1)
    order_queue_url: str = Field(min_length=1)
    order_crawl_page_size: int = Field(default=100, ge=1, le=500)
    order_crawl_overlap_seconds: int = Field(default=600, ge=0)
    """fromDate = watermark minus this: the partner filter is strictly "created after", and
    orders may show up a little after their `created` time."""
    order_crawl_margin_ms: int = Field(default=15_000, ge=0)
    """Stop fetching pages when less than this is left of the invocation."""
    order_crawl_lease_seconds: int = Field(default=150, ge=1)
    """Longer than the function timeout, so two crawls never overlap."""
    order_stall_seconds: int = Field(default=900, ge=60)
    """Orders in progress not updated for this long are enqueued again by the crawler."""
    order_crawl_start: datetime | None = None
    """Parameter OrderCrawlStartDate: orders created before it are never fetched. Empty (None):
    the time of the first crawl."""

    @field_validator("order_crawl_start", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, str) and len(value.strip()) == 10:  # a date: its midnight, UTC
            return f"{value.strip()}T00:00:00Z"
        return value

    @field_validator("order_crawl_start")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("ORDER_CRAWL_START needs a time zone (Z)")
        return value

    @property
    def overlap(self) -> timedelta:
        return timedelta(seconds=self.order_crawl_overlap_seconds)


class OrderFulfilSettings(QueueRetrySettings):
    """OrderFulfilFunction: OrderQueue -> keys claimed, created, order assigned."""

    orders_table: str = Field(min_length=1)
    charging_keys_table: str = Field(min_length=1)
    order_queue_url: str = Field(min_length=1)
    order_lease_seconds: int = Field(default=120, ge=1)
    """Longer than the function timeout: one processor per order at a time."""
    order_hold_max_seconds: int = Field(default=604_800, ge=60)
    """How long an order may wait ON_HOLD for a status that allows fulfilment (then FAILED)."""


class DriveOrderSettings(QueueRetrySettings):
    """DriveOrderFunction: DriveOrderQueue -> POST .../charging-keys/order; scheduled tracking."""

    drive_orders_table: str = Field(min_length=1)
    drive_order_queue_url: str = Field(min_length=1)
    drive_order_throttle_seconds: int = Field(default=300, ge=1)
    """Plugsurfing's window of one order per user; the delay after a 429 without Retry-After."""
    drive_order_lease_seconds: int = Field(default=60, ge=1)
    drive_order_settle_seconds: int = Field(default=604_800, ge=60)
    """An order this long in UNKNOWN, ORDER_PAYMENT_FAILED or ORDER_REFUND_FAILED: UNSETTLED."""
    drive_order_track_max_seconds: int = Field(default=5_184_000, ge=60)
    """Any order not final this long after it was placed: UNSETTLED."""
