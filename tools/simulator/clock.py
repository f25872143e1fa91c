"""Clocks for the simulator: everything time-dependent reads `clock.now()`.

Sessions, scheduled orders and the order throttle are computed from the clock on every read, so a
test or benchmark can jump forward with `advance()` instead of sleeping.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Anything with an aware-UTC `now()`; tests may pass their own."""

    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time plus an offset, so time can be advanced while still flowing."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()


class ManualClock:
    """Frozen time that only moves when told to: fully deterministic tests."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            self._now = self._now.replace(tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when if when.tzinfo else when.replace(tzinfo=UTC)
