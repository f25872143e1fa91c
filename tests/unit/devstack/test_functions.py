"""The function runtime: each function in its own worker process, like a Lambda sandbox."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.functions import FunctionRuntime, FunctionSpec

HANDLER = """
import os
import sys
import time

COLD = {"count": 0}


def handler(event, context):
    COLD["count"] += 1
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("fail"):
        raise KeyError(event["fail"])
    return {
        "invocations": COLD["count"],
        "stage": os.environ.get("STAGE"),
        "profile": os.environ.get("AWS_PROFILE"),
        "first_path": sys.path[0],
        "function": context.function_name,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "remaining": context.get_remaining_time_in_millis(),
    }
"""


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FunctionRuntime]:
    monkeypatch.setenv("AWS_PROFILE", "my-real-account")  # must not leak into the sandbox
    code = tmp_path / "probe"
    code.mkdir()
    (code / "handler_probe.py").write_text(textwrap.dedent(HANDLER), encoding="utf-8")
    spec = FunctionSpec(
        logical_id="ProbeFunction",
        function_name="stk-ProbeFunction",
        arn="arn:aws:lambda:eu-west-1:123456789012:function:stk-ProbeFunction",
        handler="handler_probe.handler",
        code_dir=str(code),
        layer_dirs=(),
        environment={"STAGE": "local"},
        timeout_s=2.0,
        memory_mb=256,
        max_workers=1,
    )
    functions = FunctionRuntime([spec])
    yield functions
    functions.close()


def test_given_function_when_invoked_twice_then_cold_start_once_and_sandbox_environment(
    runtime: FunctionRuntime,
) -> None:
    first = runtime.invoke("ProbeFunction", {}, "test")
    second = runtime.invoke("stk-ProbeFunction", {}, "test")  # by name, too

    assert first.ok
    assert first.cold_start
    assert second.ok
    assert not second.cold_start
    assert second.payload["invocations"] == 2  # the same warm worker
    assert first.payload["stage"] == "local"
    assert first.payload["profile"] is None
    assert first.payload["first_path"].endswith("probe")
    assert first.payload["function"] == "stk-ProbeFunction"
    assert first.payload["memory"] == 256
    assert 0 < first.payload["remaining"] <= 2000


def test_given_handler_raises_when_invoked_then_lambda_error_object(runtime: FunctionRuntime) -> None:
    result = runtime.invoke("ProbeFunction", {"fail": "missing-key"}, "test")

    assert not result.ok
    assert result.status == "error"
    assert result.payload["errorType"] == "KeyError"
    assert "missing-key" in result.payload["errorMessage"]
    assert result.payload["stackTrace"]
    assert runtime.history[-1]["errorType"] == "KeyError"


def test_given_invocation_exceeds_timeout_when_invoked_then_timed_out_and_next_call_gets_fresh_worker(
    runtime: FunctionRuntime,
) -> None:
    timed_out = runtime.invoke("ProbeFunction", {"sleep": 5}, "test")
    after = runtime.invoke("ProbeFunction", {}, "test")

    assert timed_out.status == "timeout"
    assert timed_out.payload["errorMessage"] == "Task timed out after 2.00 seconds"
    assert after.ok
    assert after.cold_start
    assert after.payload["invocations"] == 1


def test_given_unknown_function_when_invoked_then_key_error(runtime: FunctionRuntime) -> None:
    with pytest.raises(KeyError):
        runtime.invoke("Nope", {}, "test")
