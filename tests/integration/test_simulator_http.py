"""The Plugsurfing simulator over real HTTP on localhost (server on port 0, httpx client)."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from simulator import DEFAULT_API_KEY, DEFAULT_OIOI_KEY, PlugsurfingSimulator

TOOLS_DIR = Path(__file__).resolve().parents[2] / "tools"
API_HEADERS = {"x-api-key": DEFAULT_API_KEY}
PARTNER_ID = "partner-identifier-0001"


@pytest.fixture(scope="module")
def running() -> Iterator[PlugsurfingSimulator]:
    with PlugsurfingSimulator(port=0) as sim:
        yield sim


@pytest.fixture
def sim(running: PlugsurfingSimulator) -> PlugsurfingSimulator:
    running.reset()
    return running


@pytest.fixture
def drive(sim: PlugsurfingSimulator) -> Iterator[httpx.Client]:
    """Configured like the product: base URL `<base>/drive`, EMP paths under it."""
    with httpx.Client(base_url=sim.drive_base_url, headers=API_HEADERS, timeout=5) as client:
        yield client


def test_given_port_0_when_started_then_serves_on_a_free_port_and_stops_cleanly():
    with PlugsurfingSimulator(port=0) as sim:
        assert sim.port > 0
        assert httpx.get(f"{sim.base_url}/_sim/health", timeout=5).json()["ok"] is True
        url = sim.base_url
    assert not sim.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/_sim/health", timeout=2)


def test_given_product_style_base_url_when_creating_and_paging_keys_then_works_over_http(sim, drive):
    for n in range(12):
        created = drive.post(
            "/emp/v1/charging-keys", json={"keyIdentifier": f"{n:08x}", "visualNumber": f"V{n}"}
        )
        assert created.status_code == 200
    first = drive.get("/emp/v1/charging-keys", params={"page_size": 10}).json()
    second = drive.get("/emp/v1/charging-keys", params={"page_size": 10, "cursor": first["cursor"]}).json()
    assert len(first["keys"]) + len(second["keys"]) == 12
    assert "cursor" not in second
    duplicate = drive.post("/emp/v1/charging-keys", json={"keyIdentifier": "00000000", "visualNumber": "V0"})
    assert duplicate.status_code == 409


def test_given_wrong_credentials_when_calling_over_http_then_rejected(sim):
    assert httpx.get(f"{sim.drive_base_url}/emp/v1/charging-keys", timeout=5).status_code == 403
    bad = httpx.post(sim.oioi_url, json={"rfid-post": {}}, headers={"Authorization": "key=nope"}, timeout=5)
    assert bad.status_code == 403
    assert bad.json()["result"]["code"] == 210


def test_given_503_fault_with_retry_after_when_retrying_then_succeeds_after_n(sim, drive):
    sim.add_fault(kind="status", status=503, path="/drive/emp/v1/*", count=2, retry_after=1)
    answers = [drive.get("/emp/v1/charging-keys") for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[0].headers["Retry-After"] == "1"


def test_given_rfid_post_over_http_then_whitelist_stored(sim):
    body = {"rfid-post": {"rfids": ["04523022AA4881"], "partner-identifier": PARTNER_ID}}
    response = httpx.post(
        sim.oioi_url, json=body, headers={"Authorization": f"key={DEFAULT_OIOI_KEY}"}, timeout=5
    )
    assert response.json() == {"rfid": {"processed": 1}, "result": {"code": 0, "message": "Success."}}
    assert httpx.get(f"{sim.base_url}/_sim/whitelists", timeout=5).json()["latest"] == {
        PARTNER_ID: ["04523022AA4881"]
    }


def test_given_disconnect_fault_when_calling_then_client_sees_connection_dropped(sim, drive):
    sim.add_fault(kind="disconnect", path="/drive/emp/v1/orders")
    with pytest.raises(httpx.TransportError):
        drive.get("/emp/v1/orders")
    assert drive.get("/emp/v1/orders").status_code == 200


def test_given_hang_fault_when_client_times_out_then_stop_still_returns_promptly():
    sim = PlugsurfingSimulator(port=0).start()
    try:
        sim.add_fault(kind="hang", delay=60)
        with pytest.raises(httpx.TimeoutException):
            httpx.get(f"{sim.drive_base_url}/emp/v1/orders", headers=API_HEADERS, timeout=0.3)
    finally:
        began = time.perf_counter()
        sim.stop()
    assert time.perf_counter() - began < 5


def test_given_a_slow_request_when_another_arrives_then_it_is_served_meanwhile(sim):
    sim.add_fault(kind="slow", delay=1.5, path="/drive/emp/v1/orders")
    slow_result: list[int] = []
    slow = threading.Thread(
        target=lambda: slow_result.append(
            httpx.get(f"{sim.drive_base_url}/emp/v1/orders", headers=API_HEADERS, timeout=5).status_code
        )
    )
    slow.start()
    time.sleep(0.2)
    began = time.perf_counter()
    fast = httpx.get(f"{sim.drive_base_url}/emp/v1/charging-keys", headers=API_HEADERS, timeout=5)
    assert fast.status_code == 200
    assert time.perf_counter() - began < 1
    slow.join()
    assert slow_result == [200]


def test_given_cli_when_run_then_serves_and_logs_one_line_per_request():
    env = os.environ | {"PYTHONPATH": str(TOOLS_DIR)}
    command = [sys.executable, "-m", "simulator", "--port", "0", "--api-key", "cli-key"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    assert process.stderr is not None
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True)
    reader.start()
    try:
        base_url = _wait_for(lines, "simulator on ").rsplit(" ", 1)[-1].strip()
        response = httpx.get(
            f"{base_url}/drive/emp/v1/charging-keys", headers={"x-api-key": "cli-key"}, timeout=5
        )
        assert response.status_code == 200
        assert "GET /drive/emp/v1/charging-keys -> 200" in _wait_for(lines, "/drive/emp/v1/charging-keys")
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0


def _wait_for(lines: queue.Queue[str], needle: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if needle in line:
            return line
    raise AssertionError(f"no log line containing {needle!r}")
