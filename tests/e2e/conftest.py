"""E2E tier: the local stack (`python -m devstack run`) as a subprocess on free ports, driven over
real HTTP and boto3.

`stack` runs the product's template.yaml with the Plugsurfing simulator; `fixture_stack` runs
tests/fixtures/devstack/template.yaml (tiny functions exercising each emulated feature).
Schedules fire only on demand here (`stack.fire(...)`), so tests stay deterministic.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE_TEMPLATE = REPO_ROOT / "tests" / "fixtures" / "devstack" / "template.yaml"
STARTUP_TIMEOUT_S = 240  # make test starts the local stacks while lint and the other tiers load the machine


@dataclass
class RunningStack:
    """A running `devstack run`: its endpoints and helpers to talk to them."""

    api_url: str
    aws_endpoint: str
    sim_url: str
    region: str
    resources: dict[str, Any]
    log_file: Path
    _clients: dict[str, Any] = field(default_factory=dict)

    def boto3_client(self, service: str) -> Any:
        """A boto3 client pointed at the stack's AWS emulator."""
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,  # type: ignore[call-overload]
                endpoint_url=self.aws_endpoint,
                region_name=self.region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        return self._clients[service]

    def ref(self, logical_id: str) -> str:
        """What `!Ref LogicalId` resolves to (table name, queue URL, ARN...)."""
        return str(self.resources[logical_id]["ref"])

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.api_url}/_local/{path}", json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    def fire(self, function: str, event_name: str | None = None, payload: Any = None) -> Any:
        """Fire a schedule now (what `python -m devstack fire` does)."""
        path = f"schedules/{function}" + (f"/{event_name}" if event_name else "")
        return self.admin("POST", path, payload)

    def logs(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    def bbctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`python -m bbctl ...` against this stack, as an operator runs it (AWS_ENDPOINT_URL
        set, none of the developer's own stack settings); with `check`, a non-zero exit fails."""
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT / "tools"),
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }
        for name in ("AWS_PROFILE", "BBCTL_STACK_NAME", "CHARGING_KEYS_TABLE", "WHITELIST_AUDIT_TABLE"):
            env.pop(name, None)
        done = subprocess.run(
            [sys.executable, "-m", "bbctl", *args],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        failed = f"bbctl {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        assert done.returncode == 0 or not check, failed
        return done


def start_devstack(
    template: Path, workdir: Path, *extra: str
) -> tuple[subprocess.Popen[bytes], RunningStack]:
    """Start `python -m devstack run` on free ports and wait for its ready file."""
    ready_file = workdir / "ready.json"
    log_file = workdir / "devstack.log"
    command = [
        sys.executable, "-m", "devstack", "run",
        "--template", str(template),
        "--api-port", "0", "--aws-port", "0", "--sim-port", "0",
        "--ready-file", str(ready_file),
        "--no-schedules",
        *extra,
    ]  # fmt: skip
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "tools"), os.environ.get("PYTHONPATH", "")]),
    }
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(name, None)
    with log_file.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not ready_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_devstack(process)
            pytest.fail(f"devstack did not come up:\n{log_file.read_text(errors='replace')}")
        time.sleep(0.1)
    info = json.loads(ready_file.read_text(encoding="utf-8"))
    return process, RunningStack(
        api_url=info["api_url"],
        aws_endpoint=info["aws_endpoint"],
        sim_url=info["sim_url"],
        region=info["region"],
        resources=info["resources"],
        log_file=log_file,
    )


def stop_devstack(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(scope="session")
def stack() -> Iterator[RunningStack]:
    """The product (template.yaml) on the local stack, pointed at the Plugsurfing simulator."""
    with tempfile.TemporaryDirectory(prefix="devstack-") as workdir:
        # The simulator's orders are created before the first crawl: crawl from a fixed start.
        process, running = start_devstack(
            REPO_ROOT / "template.yaml", Path(workdir), "--parameter", "OrderCrawlStartDate=2020-01-01"
        )
        try:
            yield running
        finally:
            stop_devstack(process)


@pytest.fixture(scope="session")
def fixture_stack() -> Iterator[RunningStack]:
    """The devstack test template (tests/fixtures/devstack), Wait states sped up 1000x."""
    with tempfile.TemporaryDirectory(prefix="devstack-fixture-") as workdir:
        process, running = start_devstack(
            FIXTURE_TEMPLATE,
            Path(workdir),
            "--no-simulator",
            "--wait-speedup",
            "1000",
            "--stack-name",
            "fixture",
        )
        try:
            yield running
        finally:
            stop_devstack(process)


@pytest.fixture(scope="session")
def drive_stack() -> Iterator[RunningStack]:
    """The product in Drive mode (`PartnerMode=drive`) on its own local stack: remote starts for
    users, session history. Waits sped up 10x so a session is followed in seconds."""
    with tempfile.TemporaryDirectory(prefix="devstack-drive-") as workdir:
        process, running = start_devstack(
            REPO_ROOT / "template.yaml",
            Path(workdir),
            "--parameter",
            "PartnerMode=drive",
            "--wait-speedup",
            "10",
            "--stack-name",
            "backbone-drive",
        )
        try:
            yield running
        finally:
            stop_devstack(process)
