"""The state machine definition and its template resource keep their contract with the tasks."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode.cfn_yaml import load

from backbone.sessions import errors

REPO = Path(__file__).resolve().parents[3]
ASL_PATH = REPO / "statemachine" / "session_poller.asl.json"
ASL: dict[str, Any] = json.loads(ASL_PATH.read_text())
STATES: dict[str, Any] = ASL["States"]
TEMPLATE: Any = load(str(REPO / "template.yaml"))
TASK_ERRORS = {
    name for name, value in vars(errors).items() if inspect.isclass(value) and issubclass(value, Exception)
}


def error_names(state: dict[str, Any]) -> set[str]:
    names = {name for rule in state.get("Retry", []) + state.get("Catch", []) for name in rule["ErrorEquals"]}
    return {name for name in names if not name.startswith(("States.", "Lambda."))}


def test_every_error_the_asl_retries_or_catches_is_raised_by_the_tasks_under_that_name() -> None:
    for name, state in STATES.items():
        assert error_names(state) <= TASK_ERRORS, f"{name} handles errors no task raises"


def test_the_poll_loop_costs_two_state_transitions_per_poll() -> None:
    """Poll -> Wait -> Poll, no Choice: the benchmark's cost model depends on it."""
    assert STATES["StartSession"]["Next"] == "Wait"
    assert STATES["Wait"] == {
        **STATES["Wait"],
        "Type": "Wait",
        "SecondsPath": "$.waitSeconds",
        "Next": "Poll",
    }
    assert STATES["Poll"]["Next"] == "Wait"


@pytest.mark.parametrize("task", ["StartSession", "Poll"])
def test_partner_trouble_is_retried_with_backoff_and_everything_else_is_recorded(task: str) -> None:
    state = STATES[task]
    [retry] = [rule for rule in state["Retry"] if rule["ErrorEquals"] == ["PartnerRetryable"]]
    assert retry["IntervalSeconds"] >= 1
    assert retry["BackoffRate"] > 1
    assert retry["MaxAttempts"] >= 5
    catches = {name: rule["Next"] for rule in state["Catch"] for name in rule["ErrorEquals"]}
    assert catches == {
        "SessionFinished": "Finished",
        "SessionTimedOut": "TimedOut",
        "SessionNotFound": "NotFound",
        "States.ALL": "RecordFailure",
    }
    assert state["Catch"][-1]["ErrorEquals"] == ["States.ALL"], "the catch-all comes last"
    assert state["Catch"][-1]["ResultPath"] == "$.error", "the failure record needs the input and the error"


def test_a_recorded_failure_timeout_and_404_fail_the_execution_under_their_own_names() -> None:
    assert STATES["RecordFailure"]["Next"] == "Failed"
    assert STATES["RecordFailure"]["Parameters"]["error.$"] == "$.error"
    fails = {name: state["Error"] for name, state in STATES.items() if state["Type"] == "Fail"}
    assert fails == {
        "TimedOut": "SessionTimedOut",
        "NotFound": "SessionNotFound",
        "Failed": "SessionPollerFailed",
    }


def test_every_task_passes_the_action_request_id_and_execution_to_the_one_tasks_function() -> None:
    tasks = {name: state for name, state in STATES.items() if state["Type"] == "Task"}
    assert {state["Parameters"]["action"] for state in tasks.values()} == {"start", "poll", "record_failure"}
    for state in tasks.values():
        assert state["Resource"] == "${SessionTasksFunctionArn}"
        assert state["Parameters"]["requestId.$"] == "$.requestId"
        assert state["Parameters"]["executionArn.$"] == "$$.Execution.Id"


def test_the_template_runs_it_as_a_standard_workflow_with_logging_tracing_and_every_substitution() -> None:
    props = TEMPLATE["Resources"]["SessionPollerStateMachine"]["Properties"]
    assert props["DefinitionUri"] == "statemachine/session_poller.asl.json"
    assert props["Type"] == "STANDARD", "execution-name idempotency needs Standard workflows"
    assert props["Tracing"] == {"Enabled": True}
    assert props["Logging"]["Destinations"]
    placeholders = set(re.findall(r"\$\{(\w+)\}", ASL_PATH.read_text()))
    assert placeholders == set(props["DefinitionSubstitutions"])


def test_the_state_machine_outlives_the_longest_session_it_follows() -> None:
    variables = TEMPLATE["Resources"]["SessionTasksFunction"]["Properties"]["Environment"]["Variables"]
    longest = int(variables["POLL_MAX_DURATION"]) + int(variables["POLL_BALANCE_WINDOW"])
    assert ASL["TimeoutSeconds"] > longest
