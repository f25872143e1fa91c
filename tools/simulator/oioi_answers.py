"""How the simulated OIOI endpoint shapes its successful answers.

Seed 002 ("OIOI Response Codes"): "OIOI Error codes are not part of the OIOI response, yet." So a
real receiver may answer HTTP 200 without any `result`. Switched on, the simulator does exactly
that for 2xx answers (the rest of the body, e.g. `rfid.processed`, stays); error answers (4xx/5xx)
are left alone. Switchable over the admin API (`/_sim/oioi/answers`, see partner_side.py).
"""

from __future__ import annotations

import threading
from typing import Any

from pydantic import Field

from simulator.models import AdminBody


class AnswerStyleIn(AdminBody):
    """`{"result": "omit"}`: 2xx answers without `result`; `"include"`: as the examples show.
    `messages` limits the change to some message types (default: every message)."""

    result: str = Field(default="include", pattern="^(include|omit)$")
    messages: list[str] | None = None


class AnswerStyle:
    """Thread-safe switch read by OioiHandler for every answer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._style = AnswerStyleIn()

    def set(self, style: AnswerStyleIn) -> dict[str, Any]:
        with self._lock:
            self._style = style
        return self.current()

    def reset(self) -> None:
        self.set(AnswerStyleIn())

    def current(self) -> dict[str, Any]:
        with self._lock:
            return self._style.model_dump()

    def shape(self, message_type: str, status: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The answer as the configured receiver sends it."""
        with self._lock:
            style = self._style
        applies = style.messages is None or message_type in style.messages
        if style.result == "omit" and applies and 200 <= status < 300:
            return status, {name: value for name, value in body.items() if name != "result"}
        return status, body
