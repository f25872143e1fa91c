"""Both session functions count their Plugsurfing calls: a `PartnerCalls` EMF metric per call,
by API family (the deployment runs in EMP mode here), as docs/deployment.md promises."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sessionharness import Harness, Wait


def partner_calls(stdout: str) -> list[dict[str, Any]]:
    """The EMF lines Powertools printed that carry `PartnerCalls` (with their `api`/`outcome`)."""
    found = []
    for line in stdout.splitlines():
        if '"_aws"' not in line:
            continue
        blob: dict[str, Any] = json.loads(line)
        names = {m["Name"] for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
        if "PartnerCalls" in names:
            found.append(blob)
    return found


def count(call: dict[str, Any]) -> float:
    values = call["PartnerCalls"]
    return float(sum(values) if isinstance(values, list) else values)


def test_the_session_tasks_count_every_partner_call_they_make(
    poller: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    poller.sim.script_connector("conn-1", start_delay=5, auto_complete_after=30, balance_delay=0)

    poller.start("metrics-1")  # the API only records the request: no partner call
    assert poller.finish("metrics-1")["status"] == "SUCCEEDED"

    calls = partner_calls(capsys.readouterr().out)
    made = len(poller.partner_requests("POST")) + len(poller.partner_requests("GET"))
    assert made >= 2, "a remote start and at least one poll"
    assert sum(count(call) for call in calls) == made
    assert {(call["api"], call["outcome"]) for call in calls} == {("emp", "ok")}


def test_the_session_api_counts_its_remote_stop(poller: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    poller.sim.script_connector("conn-1", start_delay=20, stop_to_complete=40, balance_delay=0)
    stop_output: list[str] = []

    def stop_during_first_long_wait(wait: Wait) -> float | None:
        if wait.execution == "metrics-2" and wait.seconds == 300 and not stop_output:
            capsys.readouterr()  # what the tasks printed so far
            poller.stop("metrics-2")
            stop_output.append(capsys.readouterr().out)
            return 0
        return None

    poller.on_wait = stop_during_first_long_wait
    poller.start("metrics-2")
    poller.finish("metrics-2")
    poller.finish("metrics-2.stop")

    [call] = partner_calls(stop_output[0])
    assert (call["api"], call["outcome"], count(call)) == ("emp", "ok", 1)
