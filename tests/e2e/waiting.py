"""Waiting for the local stack: its pollers, schedules and state machines act asynchronously."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest


def eventually(probe: Callable[[], Any], what: str = "the condition", timeout_s: float = 90.0) -> Any:
    """Poll `probe` until it returns something truthy and return that; fail naming `what` after
    `timeout_s` (generous: a loaded machine slows the stack's pollers and cold starts)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := probe():
            return value
        time.sleep(0.3)
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
