"""Billing unit fixtures: metrics reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backbone.observability import metrics


@pytest.fixture(autouse=True)
def _fresh_metrics() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()
