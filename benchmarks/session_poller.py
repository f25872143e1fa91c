"""Session poller cost and latency: our adaptive schedule against a fixed 30 s polling loop.

A discrete-event simulation of one remote session: the request at t=0, the partner reports the
start at t=20 s, a stop is requested at t=2 h, the partner completes 40 s later (balance settled
at once, so balance follow-up adds nothing to either side). The partner is the Plugsurfing
simulator's session model on a manual clock; every task runs the real logic
(`backbone.sessions.poller` / `.commands`, in-memory store); every execution walks the real ASL
(`statemachine/session_poller.asl.json`) state by state, counting each state entered as one
Step Functions state transition (what Standard workflows bill); a Wait moves the clock.

Rows, measured in the same run:
  adaptive (ours)        our ASL, `next_wait`, a stop request hands over to a fast poller
  adaptive, stop flag    the same without the hand-over: the running Wait (up to 5 min) ends first
  fixed 30 s, our ASL    our two-state loop with every wait forced to 30 s
  fixed 30 s loop        the conventional Task -> Choice -> Wait(30) loop (the baseline)

Targets (ours): <= 1/10 of the baseline's transitions; start seen <= 15 s after it happened,
completion <= 5 min, the first poll <= 30 s after a stop request.

Usage: .venv/bin/python benchmarks/session_poller.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "layers" / "shared"), str(REPO / "tools"), str(REPO / "tests")]
os.environ.update(
    POWERTOOLS_METRICS_NAMESPACE="Bench",
    POWERTOOLS_METRICS_DISABLED="true",
    POWERTOOLS_LOG_LEVEL="ERROR",
    POWERTOOLS_TRACE_DISABLED="true",
)

from fakes.sessions import (  # noqa: E402
    InMemorySessionStore,
    RecordingCdrs,
    RecordingEvents,
    RecordingExecutions,
)

from backbone.keys.lifecycle import new_key  # noqa: E402
from backbone.keys.models import ChargingKey  # noqa: E402
from backbone.observability import metrics  # noqa: E402
from backbone.sessions.commands import EmpStarts, request_stop, submit_start  # noqa: E402
from backbone.sessions.errors import SessionFinished, SessionNotFound  # noqa: E402
from backbone.sessions.models import SessionRecord, StartRequest, Status  # noqa: E402
from backbone.sessions.poller import TaskInput, run_task  # noqa: E402
from backbone.sessions.ports import ApiDependencies, ObservedSession, TaskDependencies  # noqa: E402
from backbone.sessions.schedule import PollPolicy  # noqa: E402
from simulator import ManualClock, SimulatorCore  # noqa: E402
from simulator.state import ApiError  # noqa: E402

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REQUEST_ID = "bench-1"
OUR_ASL: dict[str, Any] = json.loads((REPO / "statemachine" / "session_poller.asl.json").read_text())
# The conventional loop: the task returns `done`, a Choice decides, a fixed Wait.
FIXED_LOOP_ASL: dict[str, Any] = {
    "StartAt": "StartSession",
    "States": {
        "StartSession": {"Type": "Task", "Parameters": {"action": "start"}, "Next": "Route"},
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.done", "BooleanEquals": True, "Next": "Finished"}],
            "Default": "Wait",
        },
        "Wait": {"Type": "Wait", "Seconds": 30, "Next": "Poll"},
        "Poll": {"Type": "Task", "Parameters": {"action": "poll"}, "Next": "Route"},
        "Finished": {"Type": "Succeed"},
    },
}
PRICE_PER_1000_TRANSITIONS = 0.025  # USD, Standard workflows (eu-west-1 list price)


class SimulatedPartner:
    """`PartnerSessions` straight on the simulator's state (no HTTP): EMP mode."""

    def __init__(self, core: SimulatorCore) -> None:
        self.core = core
        self.get_times: list[datetime] = []

    def start(self, record: SessionRecord) -> str:
        return self.core.state.start_session("emp", record.connector_id, key_identifier=record.key_identifier)

    def get(self, record: SessionRecord) -> ObservedSession:
        self.get_times.append(self.core.clock.now())
        try:
            data = self.core.state.get_session(str(record.session_id), mode="emp")
        except ApiError as error:
            raise SessionNotFound(error.message) from error
        return ObservedSession(data=data, raw=json.dumps(data))

    def stop(self, record: SessionRecord) -> None:
        self.core.state.stop_session(str(record.session_id), mode="emp")

    def can_find_started(self, record: SessionRecord) -> bool:
        return False

    def find_started(self, record: SessionRecord) -> list[ObservedSession]:
        raise ValueError("the EMP API cannot list sessions")


@dataclass
class Scenario:
    start_after: float = 20
    stop_at: float = 2 * 3600
    complete_after_stop: float = 40


@dataclass
class Variant:
    name: str
    asl: dict[str, Any]
    hand_over: bool  # a stop request starts `<id>.stop` and aborts the running execution
    fixed_wait: int | None = None


@dataclass
class Result:
    variant: str
    executions: int = 0
    transitions: int = 0
    polls: int = 0
    start_seen: float = 0.0
    completion_seen: float = 0.0
    stop_reaction: float = 0.0
    transitions_by_execution: dict[str, int] = field(default_factory=dict)


KEY_UID = "04523022AA4881"


class StaticKeys:
    """The charging-keys table as a session start reads it."""

    def __init__(self, keys: dict[str, ChargingKey]) -> None:
        self.keys = keys

    def get(self, uid: str) -> ChargingKey | None:
        return self.keys.get(uid.upper())


class World:
    def __init__(self, scenario: Scenario) -> None:
        self.clock = ManualClock(T0)
        self.core = SimulatorCore(clock=self.clock, seed=1)
        self.core.script_connector(
            "conn-1",
            start_delay=scenario.start_after,
            auto_complete_after=None,
            stop_to_complete=scenario.complete_after_stop,
            balance_delay=0,
        )
        self.partner = SimulatedPartner(self.core)
        self.store = InMemorySessionStore()
        self.executions = RecordingExecutions()
        self.tasks = TaskDependencies(
            self.store, self.partner, RecordingEvents(), RecordingCdrs(), PollPolicy(), clock=self.clock.now
        )
        # The key every start names: ours, and created at the simulator (which refuses unknown keys).
        key = new_key(KEY_UID, "VN-BENCH-1", T0)
        self.core.add_emp_key(keyIdentifier=key.key_identifier, visualNumber=key.visual_number)
        starts = EmpStarts(StaticKeys({key.uid: key}))
        self.commands = ApiDependencies(
            self.store, self.partner, self.executions, starts, clock=self.clock.now
        )

    def record(self) -> SessionRecord:
        record = self.store.get(REQUEST_ID)
        assert record is not None
        return record


@dataclass
class Execution:
    """One execution walking an ASL: states entered, and whether it ended or was aborted."""

    name: str
    transitions: int = 0
    status: str = "RUNNING"


def walk(
    execution: Execution,
    asl: dict[str, Any],
    world: World,
    fixed_wait: int | None,
    interrupt: tuple[datetime, Callable[[], bool]] | None,
) -> tuple[datetime, Callable[[], bool]] | None:
    """Run `execution` until it ends, or until the clock would pass `interrupt`'s time during a
    Wait: then the clock stops there and its callback runs (True aborts the execution). Returns
    the interrupt if it is still pending."""
    states, name, data = asl["States"], asl["StartAt"], {"requestId": REQUEST_ID}
    while True:
        state = states[name]
        execution.transitions += 1
        kind = state["Type"]
        if kind == "Task":
            name, data = run_state(state, data, world)
        elif kind == "Choice":
            chosen = [
                c["Next"] for c in state["Choices"] if data.get(c["Variable"][2:]) == c["BooleanEquals"]
            ]
            name = (chosen or [state["Default"]])[0]
        elif kind == "Wait":
            seconds = fixed_wait or state.get("Seconds") or int(data["waitSeconds"])
            end = world.clock.now() + timedelta(seconds=seconds)
            if interrupt is not None and interrupt[0] < end:
                world.clock.set(interrupt[0])
                aborted = interrupt[1]()
                interrupt = None
                if aborted:
                    execution.status = "ABORTED"
                    return None
            world.clock.set(end)
            name = state["Next"]
        else:
            execution.status = "SUCCEEDED" if kind == "Succeed" else "FAILED"
            return interrupt


def run_state(state: dict[str, Any], data: dict[str, Any], world: World) -> tuple[str, dict[str, Any]]:
    """One Task: the real logic; an error follows the Catch, or (fixed loop) becomes `done`."""
    task = TaskInput.model_validate({**state["Parameters"], "requestId": REQUEST_ID})
    try:
        return state["Next"], run_task(task, world.tasks)
    except Exception as error:
        for catch in state.get("Catch", []):
            if type(error).__name__ in catch["ErrorEquals"] or "States.ALL" in catch["ErrorEquals"]:
                return catch["Next"], data
        if isinstance(error, SessionFinished):
            return state["Next"], {**data, "done": True}
        raise
    finally:
        metrics.clear_metrics()  # each Lambda invocation flushes its own


def run(variant: Variant, scenario: Scenario) -> Result:
    world = World(scenario)
    request = StartRequest.model_validate(
        {"requestId": REQUEST_ID, "connectorId": "conn-1", "keyIdentifier": KEY_UID}
    )
    submit_start(request, world.commands)
    stop_at = T0 + timedelta(seconds=scenario.stop_at)

    def stop_request() -> bool:
        if variant.hand_over:
            request_stop(REQUEST_ID, world.commands)
            return True
        record = world.record()
        world.partner.stop(record)
        world.store.save(
            record.with_change(world.clock.now(), note="stop requested", stop_requested_at=stop_at)
        )
        return False

    executions = [Execution(REQUEST_ID)]
    pending = walk(executions[0], variant.asl, world, variant.fixed_wait, (stop_at, stop_request))
    if pending is None and executions[0].status == "ABORTED":
        executions.append(Execution(f"{REQUEST_ID}.stop"))
        walk(executions[1], variant.asl, world, variant.fixed_wait, None)
    return measure(variant, world, executions, scenario)


def measure(variant: Variant, world: World, executions: list[Execution], scenario: Scenario) -> Result:
    record = world.record()
    assert record.status == Status.COMPLETE, f"{variant.name}: ended {record.status}"
    started = next(entry.at for entry in record.history if entry.status == Status.STARTED)
    started_at = T0 + timedelta(seconds=scenario.start_after)
    stop_at = T0 + timedelta(seconds=scenario.stop_at)
    completed_at = stop_at + timedelta(seconds=scenario.complete_after_stop)
    first_poll_after_stop = min(t for t in world.partner.get_times if t >= stop_at)
    return Result(
        variant=variant.name,
        executions=len(executions),
        transitions=sum(e.transitions for e in executions),
        polls=len(world.partner.get_times),
        start_seen=(started - started_at).total_seconds(),
        completion_seen=(record.completed_at - completed_at).total_seconds() if record.completed_at else -1,
        stop_reaction=(first_poll_after_stop - stop_at).total_seconds(),
        transitions_by_execution={e.name: e.transitions for e in executions},
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 20-minute session instead of 2 hours")
    args = parser.parse_args()
    scenario = Scenario(stop_at=20 * 60) if args.quick else Scenario()
    variants = [
        Variant("adaptive (ours)", OUR_ASL, hand_over=True),
        Variant("adaptive, stop flag only", OUR_ASL, hand_over=False),
        Variant("fixed 30 s, our ASL", OUR_ASL, hand_over=False, fixed_wait=30),
        Variant("fixed 30 s loop (baseline)", FIXED_LOOP_ASL, hand_over=False),
    ]
    results = [run(variant, scenario) for variant in variants]
    baseline = results[-1]

    hours = scenario.stop_at / 3600
    print(
        f"Session: start after {scenario.start_after:.0f} s, stop requested at {hours:.2f} h, "
        f"complete {scenario.complete_after_stop:.0f} s later\n"
    )
    print(
        "| schedule | executions | polls | state transitions | vs baseline | cost/session (USD) "
        "| start seen after | completion seen after | first poll after stop |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        cost = r.transitions * PRICE_PER_1000_TRANSITIONS / 1000
        print(
            f"| {r.variant} | {r.executions} | {r.polls} | {r.transitions} | "
            f"{r.transitions / baseline.transitions:.3f} | {cost:.5f} | {r.start_seen:.0f} s | "
            f"{r.completion_seen:.0f} s | {r.stop_reaction:.0f} s |"
        )
    ours = results[0]
    steps = ", ".join(f"{name}: {count}" for name, count in ours.transitions_by_execution.items())
    print(f"\nOurs by execution: {steps}")
    targets = [
        ("transitions <= 1/10 of the fixed 30 s loop", ours.transitions <= baseline.transitions / 10),
        ("start seen <= 15 s after it happened", ours.start_seen <= 15),
        ("completion seen <= 5 min after it happened", ours.completion_seen <= 300),
        ("first poll <= 30 s after a stop request", ours.stop_reaction <= 30),
    ]
    print("\nTargets (set for the 2-hour session; --quick only smoke-tests the run):" if args.quick else "")
    for label, met in targets:
        print(f"- {'PASS' if met else 'FAIL'}: {label}")
    return 0 if args.quick or all(met for _, met in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
