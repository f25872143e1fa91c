"""The narrow interfaces key-order logic works through, and the bundles the handlers pass it.

DynamoDB and SQS implementations live in `aws.py`, Plugsurfing ones in `partner.py`, in-memory
fakes in the tests; `wiring.py` builds the bundles from settings. Configuration travels in the
bundles (typed values with the production defaults), never as settings models or keywords.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from backbone.keys.models import ChargingKey
from backbone.orders.models import (
    CrawlCheckpoint,
    DriveOrderRecord,
    DriveRequestState,
    KeyOrder,
    KeyOrderState,
)
from backbone.partners.pagination import Page
from backbone.partners.schemas import DriveKeyOrder, EmpOrder, OrderAddress, OrderPlaced, OrdersConfiguration
from backbone.timeutil import utc_now

Clock = Callable[[], datetime]

# --- OrdersTable, DriveOrdersTable and the queues -------------------------------------------------


class OrderRepository(Protocol):
    """EMP orders. Writes are whole records, conditional on `version` and on holding the lease."""

    def get(self, order_id: str) -> KeyOrder | None: ...
    def put_new(self, order: KeyOrder) -> bool: ...
    def acquire(self, order_id: str, owner: str, now: datetime, lease: timedelta) -> KeyOrder: ...
    def save(self, order: KeyOrder) -> KeyOrder: ...
    def release(self, order: KeyOrder) -> None: ...
    def by_state(self, state: KeyOrderState) -> Iterator[KeyOrder]: ...
    def fleet_for(self, organization_id: str | None) -> str | None: ...


class CrawlStateRepository(Protocol):
    """The crawler's control item (checkpoint and watermark), leased like an order."""

    def acquire_crawl(self, owner: str, now: datetime, lease: timedelta) -> CrawlCheckpoint: ...
    def save_crawl(self, checkpoint: CrawlCheckpoint) -> CrawlCheckpoint: ...
    def release_crawl(self, checkpoint: CrawlCheckpoint) -> None: ...


class DriveOrderRepository(Protocol):
    def get(self, request_id: str) -> DriveOrderRecord | None: ...
    def put_new(self, record: DriveOrderRecord) -> bool: ...
    def acquire(self, request_id: str, owner: str, now: datetime, lease: timedelta) -> DriveOrderRecord: ...
    def save(self, record: DriveOrderRecord) -> DriveOrderRecord: ...
    def release(self, record: DriveOrderRecord) -> None: ...
    def by_state(self, state: DriveRequestState) -> Iterator[DriveOrderRecord]: ...
    def by_user(self, user_id: str) -> list[DriveOrderRecord]: ...


class OrderQueue(Protocol):
    """OrderQueue: one message per EMP order to fulfil."""

    def send(self, order_id: str) -> None: ...


class Redelivery(Protocol):
    """The queue a message came from: hide it so it is delivered again later."""

    def redeliver_in(self, receipt_handle: str, seconds: float) -> int:
        """Hide the message for `seconds` (capped by the queue); returns the delay applied."""
        ...


class Keys(Protocol):
    """The charging-keys table as fulfilment uses it (claims, hand-over, release)."""

    def claim_in_stock(self, count: int, order_id: str, now: datetime | None = None) -> list[ChargingKey]: ...
    def get(self, uid: str) -> ChargingKey | None: ...
    def keys_of_order(self, order_id: str) -> list[ChargingKey]: ...
    def find(self, identifier: str) -> ChargingKey | None: ...
    def save(self, key: ChargingKey, *, expected_version: int) -> ChargingKey: ...


# --- Plugsurfing ------------------------------------------------------------------------------------


class OrderFeed(Protocol):
    """The EMP orders API. Failures arrive as `PartnerCallFailed` (and its `PartnerRefused`)."""

    def list_orders(
        self,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> Page[EmpOrder]:
        """One page of orders created after `from_date`, and the cursor of the next."""
        ...

    def find_order(self, order_id: str, created_at: datetime, window: timedelta) -> EmpOrder | None:
        """The order as Plugsurfing lists it now (there is no order by id: it is looked for
        among those created within `window` of `created_at`), or None if it is not there."""
        ...

    def assign_order(self, order_id: str) -> EmpOrder: ...


class DriveOrdering(Protocol):
    """The Drive key-order endpoints. 429: `PartnerThrottled`; 400/404: `PartnerRefused`;
    anything else: `PartnerCallFailed` (maybe processed)."""

    def order_charging_key(
        self,
        user_id: str,
        address: OrderAddress | Mapping[str, Any],
        taxation_country: str,
        payment_option_id: str | None = None,
    ) -> OrderPlaced: ...

    def list_charging_key_orders(self, user_id: str) -> list[DriveKeyOrder]: ...

    def receipt_url(self, user_id: str, order_id: str) -> str:
        """The URL of an order's receipt; `PartnerRefused` (404) while there is none."""
        ...

    def orders_configuration(self) -> OrdersConfiguration:
        """The key price per country; `PartnerRefused` (404) when no country is set up for us."""
        ...


# --- what each function's logic receives ------------------------------------------------------------


def doubling_backoff(receive_count: int, base_seconds: int = 10, max_seconds: int = 900) -> int:
    """How long a message that must wait stays hidden: the base doubles with each receive."""
    exponent = min(max(receive_count - 1, 0), 16)
    return int(min(max_seconds, base_seconds * 2**exponent))


FIRST_CRAWL: Literal["first-crawl"] = "first-crawl"


@dataclass(frozen=True)
class CrawlDependencies:
    orders: OrderRepository
    control: CrawlStateRepository
    queue: OrderQueue
    feed: OrderFeed | None
    """None: the partner mode has no EMP orders API (Drive), so crawling is off."""
    clock: Clock = utc_now
    page_size: int = 100
    overlap: timedelta = timedelta(minutes=10)
    margin_ms: int = 15_000
    """Stop fetching pages when less than this is left of the invocation."""
    lease: timedelta = timedelta(seconds=150)
    stall_after: timedelta = timedelta(minutes=15)
    start_from: datetime | Literal["first-crawl"] | None = None
    """Where the first crawl starts (no watermark yet): a moment, `FIRST_CRAWL` (that crawl's own
    time: no order history), or None (the whole order history)."""


@dataclass(frozen=True)
class FulfilDependencies:
    orders: OrderRepository
    keys: Keys
    feed: OrderFeed
    redelivery: Redelivery
    clock: Clock = utc_now
    lease: timedelta = timedelta(seconds=120)
    lookup_window: timedelta = timedelta(minutes=1)
    """Reading an order at Plugsurfing (the EMP API has no order by id): its `created` +/- this."""
    hold_max: timedelta = timedelta(days=7)
    """How long an order may wait ON_HOLD for a status that allows fulfilment; then FAILED."""
    backoff: Callable[[int], int] = doubling_backoff
    """Seconds a waiting message stays hidden, by its receive count."""


@dataclass(frozen=True)
class DriveOrderDependencies:
    records: DriveOrderRepository
    partner: DriveOrdering
    redelivery: Redelivery
    clock: Clock = utc_now
    lease: timedelta = timedelta(seconds=60)
    throttle: timedelta = timedelta(minutes=5)
    """Wait after a 429 that carries no Retry-After: the partner's window."""
    lookup_skew: timedelta = timedelta(seconds=30)
    """Clock difference allowed when matching a partner order to our earlier call."""
    settle_after: timedelta = timedelta(days=7)
    """An order this long in a state that needs somebody (NEEDS_ACTION_STATES) stops being polled."""
    track_max: timedelta = timedelta(days=60)
    """Any order not final this long after it was placed stops being polled."""
    backoff: Callable[[int], int] = doubling_backoff
