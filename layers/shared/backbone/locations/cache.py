"""A bounded in-memory TTL cache, one per process (warm invocations share it).

Why not DynamoDB items with a TTL attribute: geosearch answers are cheap to fetch again and
stale within a minute (EVSE statuses), so a shared cache would add a table, IAM, a write per
miss and a read per hit to save a call that costs about as much; and DynamoDB deletes expired
items lazily (up to days later), so every read would have to check the expiry itself. A
per-process cache is free on a hit; its cost is that each concurrent Lambda environment fetches
once per TTL, which still bounds the partner load to (environments x distinct queries) per TTL.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from threading import Lock
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Entries live `ttl`; beyond `max_entries` the least recently used goes. `ttl` of zero
    disables caching."""

    def __init__(self, ttl: timedelta, max_entries: int, clock: Callable[[], datetime]) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[K, tuple[datetime, V]] = OrderedDict()
        self._lock = Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires, value = entry
            if self.clock() >= expires:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        if self.ttl <= timedelta(0):
            return
        with self._lock:
            self._entries[key] = (self.clock() + self.ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
