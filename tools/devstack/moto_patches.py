"""The few narrow changes moto needs to serve as the local stack's AWS. Each says why.

Applied once, in-process, before the threaded moto server starts: the server then runs the same
(patched) moto code.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.core.config import default_user_config
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import TransactionCanceledException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodbstreams.models import DynamoDBStreamsBackend
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

# (function name, event) -> (JSON payload, errored)
LambdaInvoker = Callable[[str, Any], tuple[str, bool]]

_state: dict[str, Any] = {"invoker": None, "speedup": 1.0, "applied": False}
_waits: deque[dict[str, Any]] = deque(maxlen=1000)
_waits_lock = threading.Lock()


def recorded_waits() -> list[dict[str, Any]]:
    """Every Wait state and Retry back-off requested so far, with its unscaled length."""
    with _waits_lock:
        return list(_waits)


def _record(kind: str, seconds: float, env: Any = None) -> None:
    entry: dict[str, Any] = {"kind": kind, "seconds": seconds, "scaledSeconds": seconds / _state["speedup"]}
    if env is not None:
        context = env.states.context_object.context_object_data
        entry["executionArn"] = context.get("Execution", {}).get("Id")
        entry["state"] = context.get("State", {}).get("Name")
    entry["at"] = time.time()
    with _waits_lock:
        _waits.append(entry)


def _invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    """moto would run the function in Docker; hand it to our worker processes instead."""
    invoker: LambdaInvoker | None = _state["invoker"]
    if isinstance(event, str | bytes):
        event = json.loads(event or "{}")
    if invoker is None:
        return json.dumps({"errorType": "ServiceException", "errorMessage": "no runtime"}), True, ""
    payload, errored = invoker(self.function_name, event)
    return payload, errored, ""


def _wait_interval(self: WaitFunction, env: Any, wait_seconds: float) -> None:
    """Wait states sleep for real in moto; scale them by --wait-speedup and record the length
    asked for, so tests assert "waited 300 s" without waiting. Stops early when the execution
    is stopped, like moto's own version."""
    _record("Wait", float(wait_seconds), env)
    deadline = time.monotonic() + max(0.0, float(wait_seconds)) / _state["speedup"]
    while env.is_running():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        env.program_state_event.wait(remaining)


class _ScaledTime:
    """Stands in for the `time` module inside moto's retrier: Retry back-off sleeps scaled."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        _record("Retry", float(seconds))
        time.sleep(max(0.0, float(seconds)) / _state["speedup"])


_original_get_records = DynamoDBStreamsBackend.get_records


def _get_records(self: DynamoDBStreamsBackend, iterator_arn: str, limit: int) -> dict[str, Any]:
    """moto keeps every shard iterator forever; a poller asking every half second would grow
    the server without bound, so a consumed iterator is forgotten (its successor is returned)."""
    result = _original_get_records(self, iterator_arn, limit)
    self.shard_iterators.pop(iterator_arn, None)
    return result


_original_start_execution = StepFunctionsParserBackend.start_execution


def _start_execution(
    self: StepFunctionsParserBackend,
    state_machine_arn: str,
    name: str | None = None,
    execution_input: str | None = None,
    trace_header: str | None = None,
) -> Any:
    """moto's ASL backend does not name unnamed executions (AWS uses a UUID): every one got the
    ARN "...:None" and a second start with the same input returned the first execution."""
    return _original_start_execution(
        self,
        state_machine_arn,
        name or str(uuid.uuid4()),
        execution_input,  # type: ignore[arg-type]
        trace_header,  # type: ignore[arg-type]
    )


_original_transact_write_items = DynamoDBBackend.transact_write_items


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """A transaction of Puts checks every condition before it writes, as DynamoDB does. moto
    writes first and, when a later condition fails, puts back deep copies of the whole tables:
    a cost that grows with the table (seconds per call at a few thousand items) and a new table
    object whose stream shard is not the one stream readers hold iterators on, so a cancelled
    transaction silenced the table's stream. Other transactions go to moto's own code."""
    if any("Put" not in entry for entry in transact_items):
        return _original_transact_write_items(self, transact_items)
    puts = [entry["Put"] for entry in transact_items]
    keys = [_key(self, put) for put in puts]
    if len(
        {json.dumps([put["TableName"], key], sort_keys=True) for put, key in zip(puts, keys, strict=True)}
    ) < len(puts):
        return _original_transact_write_items(self, transact_items)  # moto's own error for that
    errors: list[Any] = []
    for put, key in zip(puts, keys, strict=True):
        current = self.get_item(put["TableName"], key)
        expression = put.get("ConditionExpression")
        condition = get_filter_expression(
            expression, put.get("ExpressionAttributeNames"), put.get("ExpressionAttributeValues")
        )
        if expression and not condition.expr(current):
            returned = put.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current
            item = current.to_json()["Attributes"] if returned else None
            errors.append(("ConditionalCheckFailed", "The conditional request failed", item))
        else:
            errors.append((None, None, None))
    if any(code for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    for put in puts:  # every condition holds: nothing will need rolling back
        self.put_item(put["TableName"], put["Item"])
    return None


def _key(backend: DynamoDBBackend, put: dict[str, Any]) -> dict[str, Any]:
    table = backend.get_table(put["TableName"])
    return {name: put["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name}


def transactions_check_first() -> None:
    """Install `_transact_write_items` (tests and benchmarks use it without the rest). Idempotent."""
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]


def apply(invoker: LambdaInvoker, wait_speedup: float = 1.0) -> None:
    """Route Lambda invokes to `invoker`, run real ASL, scale waits. Idempotent."""
    _state["invoker"] = invoker
    _state["speedup"] = max(wait_speedup, 1e-9)
    if _state["applied"]:
        return
    # Step Functions executes definitions only with this flag (otherwise executions just "succeed").
    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
    LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
    WaitFunction._wait_interval = _wait_interval  # type: ignore[method-assign]
    retrier_decl.time = _ScaledTime()  # type: ignore[attr-defined,assignment]
    DynamoDBStreamsBackend.get_records = _get_records  # type: ignore[method-assign]
    StepFunctionsParserBackend.start_execution = _start_execution  # type: ignore[method-assign]
    transactions_check_first()
    _state["applied"] = True
