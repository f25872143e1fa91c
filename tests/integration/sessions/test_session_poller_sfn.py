"""The session poller end to end in-process: the real ASL run by moto, the tasks handler called
for each Task state, the simulator as Plugsurfing (EMP mode), simulated time for every Wait."""

from __future__ import annotations

import json
from datetime import timedelta

from sessionharness import Harness, Wait


def test_happy_path_start_charge_complete_settle_with_events_and_one_cdr(poller: Harness) -> None:
    poller.sim.script_connector("conn-1", start_delay=20, auto_complete_after=3000, balance_delay=300)

    started = poller.start("happy-1")
    execution = poller.finish("happy-1")

    assert started["status"] == "REQUESTED"
    assert execution["status"] == "SUCCEEDED"
    assert poller.history("happy-1") == [
        ("REQUESTED", None),
        ("STARTING", None),
        ("STARTED", None),
        ("COMPLETE", "PROCESSING"),
        ("COMPLETE", "PROCESSING"),  # the CDR-sent note
        ("COMPLETE", "PAID"),
    ]
    waits = poller.waits_of("happy-1")
    assert waits[:7] == [10, 10, 30, 60, 120, 240, 300], "short while starting, then doubling to 5 min"
    assert waits[-1] == 600, "balance PROCESSING is followed with a long wait"
    events = poller.bus_events()
    assert [(e["detail"]["status"], e["detail"].get("balanceStatus")) for e in events] == [
        ("STARTING", None),
        ("STARTED", None),
        ("COMPLETE", "PROCESSING"),
        ("COMPLETE", "PAID"),
    ]
    assert {e["detail-type"] for e in events} == {"SessionStatusChanged"}
    assert {e["source"] for e in events} == {"backbone.sessions"}
    [cdr] = poller.cdrs()
    assert (cdr["source"], cdr["partnerId"]) == ("drive-api", "plugsurfing")
    raw = json.loads(cdr["raw"])
    assert raw["sessionStatus"] == "COMPLETE"
    assert raw["sessionId"] == poller.record("happy-1").session_id


def test_completion_is_seen_within_five_minutes_of_happening(poller: Harness) -> None:
    poller.sim.script_connector("conn-1", start_delay=20, auto_complete_after=5000, balance_delay=0)

    poller.start("latency-1")
    poller.finish("latency-1")

    record = poller.record("latency-1")
    completed_at = record.start_requested_at + timedelta(seconds=20 + 5000 + 2)  # + stop_to_complete
    assert record.completed_at is not None
    assert timedelta(0) <= record.completed_at - completed_at <= timedelta(seconds=300)


def test_failed_start_is_recorded_and_the_execution_ends_without_a_cdr(poller: Harness) -> None:
    poller.sim.script_connector("conn-1", outcome="fail", start_delay=5)

    poller.start("failed-1")

    assert poller.finish("failed-1")["status"] == "SUCCEEDED"
    assert poller.record("failed-1").status == "FAILED"
    assert poller.cdrs() == []


def test_stuck_starting_is_recorded_as_failed_to_start_then_followed_with_longer_waits(
    poller: Harness,
) -> None:
    poller.sim.script_connector("conn-1", outcome="stuck")

    poller.start("stuck-1")

    assert poller.finish("stuck-1")["status"] == "SUCCEEDED"
    record = poller.record("stuck-1")
    assert record.status == "FAILED_TO_START"
    waits = poller.waits_of("stuck-1")
    assert waits[:18] == [10] * 18, "every 10 s until the 3-min start timeout"
    assert waits[18:22] == [60, 120, 240, 300], "then longer waits"
    assert [e["detail"]["status"] for e in poller.bus_events()] == ["STARTING", "FAILED_TO_START"]


def test_a_late_start_after_the_start_timeout_is_still_accepted_and_completes(poller: Harness) -> None:
    poller.sim.script_connector("conn-1", start_delay=400, auto_complete_after=600, balance_delay=0)

    poller.start("late-1")

    assert poller.finish("late-1")["status"] == "SUCCEEDED"
    assert [status for status, _ in poller.history("late-1")] == [
        "REQUESTED",
        "STARTING",
        "FAILED_TO_START",
        "STARTED",
        "COMPLETE",
        "COMPLETE",
    ]
    assert len(poller.cdrs()) == 1


def test_partner_5xx_is_retried_with_backoff_and_the_session_still_completes(poller: Harness) -> None:
    poller.sim.script_connector("conn-1", start_delay=5, auto_complete_after=60, balance_delay=0)
    poller.sim.add_fault(kind="status", status=503, method="GET", path="/drive/emp/v1/sessions/*", count=3)

    poller.start("flaky-1")

    assert poller.finish("flaky-1")["status"] == "SUCCEEDED"
    assert len(poller.retry_sleeps) == 3
    # IntervalSeconds 10, BackoffRate 2, full jitter: each back-off is at most 10, 20, 40 s.
    assert all(0 <= s <= bound for s, bound in zip(poller.retry_sleeps, [10, 20, 40], strict=True))
    assert poller.record("flaky-1").status == "COMPLETE"
    assert len(poller.cdrs()) == 1


def test_a_session_the_partner_does_not_know_is_recorded_not_found_and_fails_the_execution(
    poller: Harness,
) -> None:
    poller.sim.script_connector("conn-1", start_delay=20)
    poller.sim.add_fault(kind="status", status=404, method="GET", path="/drive/emp/v1/sessions/*", count=1)

    poller.start("gone-1")
    execution = poller.finish("gone-1")

    assert execution["status"] == "FAILED"
    assert execution["error"] == "SessionNotFound"
    assert poller.record("gone-1").status == "NOT_FOUND"


def test_an_unexpected_partner_answer_is_recorded_as_error_and_fails_the_execution(poller: Harness) -> None:
    poller.sim.script_connector("conn-1", start_delay=20)
    poller.sim.add_fault(kind="status", status=400, method="GET", path="/drive/emp/v1/sessions/*", count=1)

    poller.start("odd-1")
    execution = poller.finish("odd-1")

    assert execution["status"] == "FAILED"
    assert execution["error"] == "SessionPollerFailed"
    record = poller.record("odd-1")
    assert record.status == "ERROR"
    assert record.error is not None
    assert record.error.startswith("BadRequest")
    assert [e["detail"]["status"] for e in poller.bus_events()][-1] == "ERROR"


def test_a_stop_request_during_a_long_wait_is_acted_on_at_once_and_completion_seen_quickly(
    poller: Harness,
) -> None:
    poller.sim.script_connector("conn-1", start_delay=20, stop_to_complete=40, balance_delay=0)
    stopped: list[Wait] = []

    def stop_during_first_long_wait(wait: Wait) -> float | None:
        if wait.execution == "stop-1" and wait.seconds == 300 and not stopped:
            stopped.append(wait)
            poller.clock.advance(60)  # the stop request comes a minute into a 5-min wait
            poller.stop("stop-1")
            return 0
        return None

    poller.on_wait = stop_during_first_long_wait
    poller.start("stop-1")

    assert poller.finish("stop-1")["status"] == "ABORTED"
    assert poller.finish("stop-1.stop")["status"] == "SUCCEEDED"
    record = poller.record("stop-1")
    stop_at = stopped[0].at + timedelta(seconds=60)
    assert record.stop_requested_at == stop_at
    assert record.execution_arn.endswith(":stop-1.stop")
    assert poller.waits_of("stop-1.stop") == [15, 15, 15], "polled at once, then every 15 s"
    assert record.completed_at is not None
    assert record.completed_at - (stop_at + timedelta(seconds=40)) <= timedelta(seconds=15)
    assert [path for path in poller.partner_requests("POST") if path.endswith("/stop")] == [
        f"/drive/emp/v1/sessions/{record.session_id}/stop"
    ]
    assert len(poller.cdrs()) == 1


def test_a_repeated_start_request_starts_nothing_new_and_returns_the_same_session(poller: Harness) -> None:
    poller.sim.script_connector("conn-1", start_delay=5, auto_complete_after=30, balance_delay=0)

    first = poller.start("dup-1")
    poller.finish("dup-1")
    status, again = poller.api(
        "POST",
        "/internal/sessions",
        {"requestId": "dup-1", "connectorId": "conn-1", "keyIdentifier": "3633e0e0"},
    )

    assert status == 200
    assert again["executionArn"] == first["executionArn"]
    assert again["created"] is False
    executions = poller.session.client("stepfunctions").list_executions(
        stateMachineArn=poller.state_machine_arn
    )
    assert [e["name"] for e in executions["executions"]] == ["dup-1"]
    assert len([p for p in poller.partner_requests("POST") if p.endswith("/start")]) == 1


def test_a_request_id_reused_for_another_connector_is_refused(poller: Harness) -> None:
    poller.sim.script_connector("conn-1", start_delay=5, auto_complete_after=30, balance_delay=0)
    poller.start("dup-2")

    status, body = poller.api(
        "POST",
        "/internal/sessions",
        {"requestId": "dup-2", "connectorId": "conn-2", "keyIdentifier": "3633e0e0"},
    )

    assert status == 409
    assert body["error"] == "RequestIdConflict"
    poller.finish("dup-2")
