"""Charging-key unit fixtures: the in-memory store and a partner client for respx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from keyfakes import BASE_URL, MemoryKeys

from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.partners.retry import RetryPolicy


@pytest.fixture
def memory_keys() -> MemoryKeys:
    return MemoryKeys()


@pytest.fixture
def client() -> Iterator[PlugsurfingClient]:
    """A real client (respx intercepts its transport); retries without sleeping."""
    policy = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, budget=30.0, sleep=lambda _: None)
    with PlugsurfingClient(BASE_URL, "test-api-key", retry_policy=policy) as partner:
        yield partner
