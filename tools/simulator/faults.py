"""Switchable misbehaviour: the next N matching requests fail in a chosen way.

Deterministic on purpose (a count, not a probability) so a test can say "two 503s, then success"
and assert the client retried exactly that often.
"""

from __future__ import annotations

import fnmatch
import itertools
import threading
from dataclasses import asdict, dataclass
from typing import Any

from simulator.models import FaultIn


@dataclass
class Fault:
    id: int
    kind: str
    path: str
    method: str | None
    remaining: int
    status: int
    retry_after: int | None
    delay: float
    code: int

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.path)


class FaultBook:
    """Armed faults in the order they were added; the first match fires and counts down."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        # Set on shutdown so hanging requests return at once instead of pinning the server.
        self.released = threading.Event()

    def add(self, spec: FaultIn) -> Fault:
        fault = Fault(
            id=next(self._ids),
            kind=spec.kind,
            path=spec.path,
            method=spec.method,
            remaining=spec.count,
            status=429 if spec.kind == "throttle" else spec.status,
            retry_after=spec.retry_after,
            delay=spec.delay,
            code=spec.code,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The fault this request triggers, if any (consumes one of its N)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def armed(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def sleep(self, seconds: float) -> None:
        """Wall-clock delay (clients time out on real time, not the simulator clock)."""
        self.released.wait(seconds)
