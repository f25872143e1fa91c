"""Key-order unit fixtures: in-memory stores, and the simulator on a ManualClock reached through
the real client over WSGI (no socket)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from orderfakes import (
    FLEET,
    ORG,
    START,
    MemoryDriveOrders,
    MemoryOrders,
    MemoryQueue,
    MemoryStock,
    sim_client,
)

from backbone.observability import metrics
from backbone.partners.plugsurfing import PlugsurfingClient
from simulator import ManualClock, PlugsurfingSimulator
from simulator.formats import IdFactory


@pytest.fixture(autouse=True)
def _metrics(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Metrics are process-wide: give them a namespace (Powertools flushes at 100 values) and
    start each test empty."""
    monkeypatch.setattr(metrics.provider, "namespace", "PlugsurfingBackbone")
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


@pytest.fixture(scope="session")
def shared_sim() -> PlugsurfingSimulator:
    """Built once (compiling routes is the slow part); each test resets it."""
    simulator = PlugsurfingSimulator(seed=3)
    simulator.app.testing = True
    return simulator


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sim(shared_sim: PlugsurfingSimulator, clock: ManualClock) -> PlugsurfingSimulator:
    shared_sim.reset()
    shared_sim.clock = clock
    shared_sim.state.ids = IdFactory(seed=3)
    return shared_sim


@pytest.fixture
def client(sim: PlugsurfingSimulator) -> Iterator[PlugsurfingClient]:
    with sim_client(sim) as partner:
        yield partner


@pytest.fixture
def orders() -> MemoryOrders:
    return MemoryOrders(fleets={ORG: FLEET})


@pytest.fixture
def queue() -> MemoryQueue:
    return MemoryQueue()


@pytest.fixture
def stock() -> MemoryStock:
    return MemoryStock(START, count=5)


@pytest.fixture
def drive_orders() -> MemoryDriveOrders:
    return MemoryDriveOrders()
