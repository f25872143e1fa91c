"""Fakes for the key-order unit tests: in-memory stores with the DynamoDB stores' write rules
(lease, version), a key stock, and a Plugsurfing client wired to the simulator without a socket."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx

from backbone.keys.errors import ConcurrentModification, OutOfStock
from backbone.keys.lifecycle import new_key
from backbone.keys.models import ChargingKey, KeyState, PartnerView, SyncState
from backbone.observability import metrics
from backbone.orders.errors import LeaseLost, OrderNotFound, RecordBusy
from backbone.orders.models import (
    DEFAULT_ORG,
    CrawlCheckpoint,
    DriveOrderRecord,
    DriveRequestState,
    KeyOrder,
    KeyOrderState,
    Leased,
)
from backbone.orders.partner import DriveOrders
from backbone.orders.ports import DriveOrderDependencies
from backbone.partners.http import ApiKeyAuth, PartnerHttpClient
from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.partners.retry import RetryPolicy
from simulator import DEFAULT_API_KEY, ManualClock, PlugsurfingSimulator

L = TypeVar("L", bound=Leased)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ORG, FLEET = "org-1", "fleet-1"
FAST_RETRIES = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, budget=30.0, sleep=lambda _: None)


def metric_count(name: str) -> float:
    """How much of `name` the current test emitted (metrics are cleared around each test)."""
    values = metrics.provider.metric_set.get(name, {}).get("Value", [])
    return float(sum(values))


def sim_client(sim: PlugsurfingSimulator) -> PlugsurfingClient:
    """The real client, talking to the simulator's WSGI app in-process (unit tier: no sockets)."""
    client = PlugsurfingClient("http://sim/drive", DEFAULT_API_KEY, retry_policy=FAST_RETRIES)
    for name, base, api in (
        ("http", "http://sim/drive", "drive"),
        ("emp_http", "http://sim/drive/emp/v1", "emp"),
    ):
        setattr(
            client,
            name,
            PartnerHttpClient(
                base,
                auth=ApiKeyAuth("x-api-key", DEFAULT_API_KEY),
                retry_policy=FAST_RETRIES,
                transport=httpx.WSGITransport(app=sim.app),
                api=api,
            ),
        )
    return client


def _leased_by_other(record: Leased, owner: str, now: datetime) -> bool:
    return (
        record.lease_owner is not None
        and record.lease_owner != owner
        and record.lease_until is not None
        and record.lease_until > now
    )


def drive_deps(
    records: MemoryDriveOrders, client: Any, clock: ManualClock, **config: Any
) -> DriveOrderDependencies:
    """What DriveOrderFunction's logic receives, on `client` (the real one, or a fake of it)."""
    return DriveOrderDependencies(
        records=records, partner=DriveOrders(client), redelivery=MemoryQueue(), clock=clock.now, **config
    )


class _Leases:
    """The lease and version rules of `backbone.orders.aws._LeasedItems`, in a dict."""

    def __init__(self) -> None:
        self.items: dict[str, Leased] = {}
        self.lock = threading.Lock()
        self.saves = 0

    def acquire(
        self, key: str, owner: str, now: datetime, lease: timedelta, empty: Leased | None = None
    ) -> Any:
        with self.lock:
            record = self.items.get(key)
            if record is None:
                if empty is None:
                    raise OrderNotFound(f"no record {key!r}")
                record = empty
            if _leased_by_other(record, owner, now):
                raise RecordBusy(f"{key} is busy")
            record = record.model_copy(
                update={"lease_owner": owner, "lease_until": now + lease, "version": record.version + 1}
            )
            self.items[key] = record
            return record

    def save(self, key: str, record: L) -> L:
        with self.lock:
            stored = self.items.get(key)
            if (
                stored is None
                or stored.version != record.version
                or (record.lease_owner is not None and stored.lease_owner != record.lease_owner)
            ):
                raise LeaseLost(f"{key} changed meanwhile")
            saved = record.model_copy(update={"version": record.version + 1})
            self.items[key] = saved
            self.saves += 1
            return saved

    def release(self, key: str, record: Leased) -> None:
        with self.lock:
            stored = self.items.get(key)
            if stored is not None and stored.lease_owner == record.lease_owner:
                self.items[key] = stored.model_copy(
                    update={"lease_owner": None, "lease_until": None, "version": stored.version + 1}
                )


class MemoryOrders:
    """`OrderRepository` and `CrawlStateRepository` in memory."""

    CONTROL = "CONTROL#crawl"

    def __init__(self, fleets: dict[str, str] | None = None) -> None:
        self.leases = _Leases()
        self.fleets = dict(fleets or {})
        self.crawl_saves: list[CrawlCheckpoint] = []

    # orders
    def get(self, order_id: str) -> KeyOrder | None:
        record = self.leases.items.get(order_id)
        return record if isinstance(record, KeyOrder) else None

    def put_new(self, order: KeyOrder) -> bool:
        with self.leases.lock:
            if order.order_id in self.leases.items:
                return False
            self.leases.items[order.order_id] = order
            return True

    def acquire(self, order_id: str, owner: str, now: datetime, lease: timedelta) -> KeyOrder:
        order: KeyOrder = self.leases.acquire(order_id, owner, now, lease)
        return order

    def save(self, order: KeyOrder) -> KeyOrder:
        return self.leases.save(order.order_id, order)

    def release(self, order: KeyOrder) -> None:
        self.leases.release(order.order_id, order)

    def by_state(self, state: KeyOrderState) -> Iterator[KeyOrder]:
        orders = [o for o in self.orders() if o.state is state]
        return iter(sorted(orders, key=lambda o: (o.created_at, o.order_id)))

    def fleet_for(self, organization_id: str | None) -> str | None:
        return self.fleets.get(organization_id or "") or self.fleets.get(DEFAULT_ORG)

    def orders(self) -> list[KeyOrder]:
        return [r for r in self.leases.items.values() if isinstance(r, KeyOrder)]

    # crawl control
    def acquire_crawl(self, owner: str, now: datetime, lease: timedelta) -> CrawlCheckpoint:
        checkpoint: CrawlCheckpoint = self.leases.acquire(self.CONTROL, owner, now, lease, CrawlCheckpoint())
        return checkpoint

    def save_crawl(self, checkpoint: CrawlCheckpoint) -> CrawlCheckpoint:
        saved = self.leases.save(self.CONTROL, checkpoint)
        self.crawl_saves.append(saved)
        return saved

    def release_crawl(self, checkpoint: CrawlCheckpoint) -> None:
        self.leases.release(self.CONTROL, checkpoint)

    @property
    def checkpoint(self) -> CrawlCheckpoint:
        record = self.leases.items.get(self.CONTROL)
        assert isinstance(record, CrawlCheckpoint)
        return record


class MemoryDriveOrders:
    """`DriveOrderRepository` in memory."""

    def __init__(self) -> None:
        self.leases = _Leases()

    def get(self, request_id: str) -> DriveOrderRecord | None:
        record = self.leases.items.get(request_id)
        return record if isinstance(record, DriveOrderRecord) else None

    def put_new(self, record: DriveOrderRecord) -> bool:
        with self.leases.lock:
            if record.request_id in self.leases.items:
                return False
            self.leases.items[record.request_id] = record
            return True

    def acquire(self, request_id: str, owner: str, now: datetime, lease: timedelta) -> DriveOrderRecord:
        record: DriveOrderRecord = self.leases.acquire(request_id, owner, now, lease)
        return record

    def save(self, record: DriveOrderRecord) -> DriveOrderRecord:
        return self.leases.save(record.request_id, record)

    def release(self, record: DriveOrderRecord) -> None:
        self.leases.release(record.request_id, record)

    def by_state(self, state: DriveRequestState) -> Iterator[DriveOrderRecord]:
        return iter([r for r in self.records() if r.state is state])

    def by_user(self, user_id: str) -> list[DriveOrderRecord]:
        return [r for r in self.records() if r.user_id == user_id]

    def records(self) -> list[DriveOrderRecord]:
        return [r for r in self.leases.items.values() if isinstance(r, DriveOrderRecord)]


class MemoryQueue:
    """`OrderQueue` and `Redelivery`: what was sent, in order, and the delays asked for."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.delays: list[float] = []

    def send(self, order_id: str) -> None:
        self.sent.append(order_id)

    def redeliver_in(self, receipt_handle: str, seconds: float) -> int:
        self.delays.append(seconds)
        return round(seconds)


class MemoryStock:
    """The charging-keys table as fulfilment uses it, with `claim_in_stock`'s rules; `sync()`
    plays key sync (registers every ACTIVE key at Plugsurfing)."""

    def __init__(self, now: datetime, count: int = 0) -> None:
        self.now = now
        self.items: dict[str, ChargingKey] = {}
        self.lock = threading.Lock()
        self.add(count)

    def add(self, count: int) -> list[ChargingKey]:
        start = len(self.items)
        added = [
            new_key(f"04{index:012X}", f"VN-{index:04d}", self.now) for index in range(start, start + count)
        ]
        for key in added:
            self.items[key.uid] = key
        return added

    def claim_in_stock(self, count: int, order_id: str, now: datetime | None = None) -> list[ChargingKey]:
        with self.lock:
            claimed = sorted((k for k in self.items.values() if k.order_id == order_id), key=lambda k: k.uid)
            for key in sorted(self.items.values(), key=lambda k: k.uid):
                if len(claimed) >= count:
                    break
                if key.state is KeyState.IN_STOCK:
                    taken = key.model_copy(
                        update={"state": KeyState.RESERVED, "order_id": order_id, "version": key.version + 1}
                    )
                    self.items[key.uid] = taken
                    claimed.append(taken)
            if len(claimed) < count:
                raise OutOfStock("short", claimed, count - len(claimed))
            return claimed

    def get(self, uid: str) -> ChargingKey | None:
        return self.items.get(uid)

    def find(self, identifier: str) -> ChargingKey | None:
        return self.items.get(identifier) or next(
            (k for k in self.items.values() if k.visual_number == identifier), None
        )

    def save(self, key: ChargingKey, *, expected_version: int) -> ChargingKey:
        with self.lock:
            stored = self.items.get(key.uid)
            if stored is None or stored.version != expected_version:
                raise ConcurrentModification(f"key {key.uid} changed")
            saved = key.model_copy(update={"version": expected_version + 1, "partner": stored.partner})
            self.items[key.uid] = saved
            return saved

    def sync(self) -> None:
        for uid, key in list(self.items.items()):
            if key.state is KeyState.ACTIVE and key.enabled:
                registered = PartnerView(keyId=key.key_identifier, enabled=True)
                self.items[uid] = key.model_copy(
                    update={"partner": registered, "sync_state": SyncState.SYNCED}
                )

    def of_order(self, order_id: str) -> list[ChargingKey]:
        return [k for k in self.items.values() if k.order_id == order_id]

    def keys_of_order(self, order_id: str) -> list[ChargingKey]:
        return sorted(self.of_order(order_id), key=lambda k: k.uid)
