"""Every partner request the simulator received, for tests to assert on what the product sent."""

from __future__ import annotations

import itertools
import threading
from collections import deque
from typing import Any

SECRET_HEADERS = frozenset({"x-api-key", "authorization", "cookie", "proxy-authorization"})
LOG_LIMIT = 10_000


def mask_headers(headers: dict[str, str]) -> dict[str, str]:
    """Headers with credentials replaced, so the log can be printed or dumped safely."""
    return {name: "***" if name.lower() in SECRET_HEADERS else value for name, value in headers.items()}


class RequestLog:
    """A bounded, thread-safe list of request records (dicts, JSON-ready)."""

    def __init__(self, limit: int = LOG_LIMIT) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=limit)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            entry = {"id": next(self._ids), **entry}
            self._entries.append(entry)
            return entry

    def entries(self, method: str | None = None, path_prefix: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            snapshot = list(self._entries)
        return [
            e
            for e in snapshot
            if (method is None or e["method"] == method.upper())
            and (path_prefix is None or e["path"].startswith(path_prefix))
        ]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
