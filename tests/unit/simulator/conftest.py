"""Fixtures for the simulator's unit tests: Flask test client only (unit tier has no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from simulator import DEFAULT_API_KEY, DEFAULT_OIOI_KEY, ManualClock, PlugsurfingSimulator
from simulator.formats import IdFactory

PARTNER_ID = "partner-identifier-0001"


class Partner:
    """Calls the simulator the way the product would: right base paths and credentials."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.headers = {"x-api-key": DEFAULT_API_KEY}

    def drive(self, method: str, path: str, json: Any = None, **kwargs: Any) -> TestResponse:
        return self.client.open(f"/drive/v1{path}", method=method, json=json, headers=self.headers, **kwargs)

    def emp(self, method: str, path: str, json: Any = None, **kwargs: Any) -> TestResponse:
        return self.client.open(
            f"/drive/emp/v1{path}", method=method, json=json, headers=self.headers, **kwargs
        )

    def oioi(self, body: Any, key: str = DEFAULT_OIOI_KEY) -> TestResponse:
        return self.client.post("/api/v4/request", json=body, headers={"Authorization": f"key={key}"})

    def rfid_post(self, rfids: list[str], partner: str = PARTNER_ID) -> TestResponse:
        return self.oioi({"rfid-post": {"rfids": rfids, "partner-identifier": partner}})


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2024, 5, 1, 8, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
def shared_sim() -> PlugsurfingSimulator:
    """Built once: compiling the routes is the slow part, a reset is cheap."""
    simulator = PlugsurfingSimulator(seed=7)
    simulator.app.testing = True
    return simulator


@pytest.fixture
def sim(shared_sim: PlugsurfingSimulator, clock: ManualClock) -> PlugsurfingSimulator:
    shared_sim.reset()
    shared_sim.clock = clock
    shared_sim.state.ids = IdFactory(seed=7)
    return shared_sim


@pytest.fixture
def client(sim: PlugsurfingSimulator) -> FlaskClient:
    return sim.app.test_client()


@pytest.fixture
def partner(client: FlaskClient) -> Partner:
    return Partner(client)
