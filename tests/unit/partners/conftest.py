"""Partner client fixtures: a fake clock so retries run instantly, and a secret-looking API key."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from backbone.observability import logger
from backbone.partners.retry import RetryPolicy

API_KEY = "sk-live-7f3e9a1c-DO-NOT-LOG"
DRIVE_BASE = "https://drive-api-stage.plugsurfing.com/drive"
OIOI_ENDPOINT = "https://dev-api.plugsurfing.com/api/v4/request"


@dataclass
class FakeTime:
    """Monotonic clock and sleep in one: sleeping advances the clock and is recorded."""

    now: float = 1_000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def policy(self, **overrides: float) -> RetryPolicy:
        """A policy on this fake time; jitter picks the upper bound so delays are predictable."""
        settings: dict[str, float] = {"max_attempts": 4, "base_delay": 0.5, "max_delay": 8.0, "budget": 30.0}
        settings |= overrides
        return RetryPolicy(
            max_attempts=int(settings["max_attempts"]),
            base_delay=settings["base_delay"],
            max_delay=settings["max_delay"],
            budget=settings["budget"],
            clock=self.clock,
            sleep=self.sleep,
            jitter=lambda low, high: high,
        )


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record at DEBUG and above, ours and httpx's."""
    previous = logger.log_level
    logger.setLevel(logging.DEBUG)
    with caplog.at_level(logging.DEBUG):
        yield caplog
    logger.setLevel(previous)
