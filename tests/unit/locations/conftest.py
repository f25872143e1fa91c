"""Fixtures: the locations logic's dependencies on fakes, with the real TTL cache."""

from __future__ import annotations

from datetime import timedelta

import handler_locations_api
import pytest
from locationfakes import FakeClock, FakePartner

from backbone.locations.cache import TtlCache
from backbone.locations.ports import Dependencies
from backbone.observability import metrics


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def partner() -> FakePartner:
    return FakePartner()


@pytest.fixture
def deps(partner: FakePartner, clock: FakeClock) -> Dependencies:
    ttl = timedelta(seconds=60)
    return Dependencies(
        partner=partner,
        searches=TtlCache(ttl, 16, clock),
        locations=TtlCache(ttl, 16, clock),
        clock=clock,
    )


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, deps: Dependencies) -> None:
    """LocationsApiFunction's handler on these dependencies."""
    monkeypatch.setattr(metrics.provider, "namespace", "PlugsurfingBackboneTest")
    monkeypatch.setattr(handler_locations_api, "dependencies", lambda: deps)
