"""Run each Lambda function in worker processes of its own, like a Lambda execution environment.

A worker is a "spawn" process with the function's environment and `sys.path` (its CodeUri
folder, then its layers), which imports the handler once (cold start) and then serves one
invocation at a time until it is stopped. Workers start on first use and stay warm. A timeout
kills the worker, as Lambda discards a timed-out sandbox.

This module is imported by every worker, so it only imports the standard library.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger("devstack.functions")

DEFAULT_POOL_SIZE = 2
_STOP = ("stop",)
# Host variables a Lambda sandbox also has (or that Python needs to run at all); everything
# else from the developer's shell (AWS_PROFILE, real credentials...) stays out of the worker.
_KEPT_HOST_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "SYSTEMROOT", "VIRTUAL_ENV")


@dataclass(frozen=True)
class FunctionSpec:
    """Everything a worker needs to become this function; picklable for "spawn"."""

    logical_id: str
    function_name: str
    arn: str
    handler: str
    code_dir: str
    layer_dirs: tuple[str, ...]
    environment: dict[str, str]
    timeout_s: float = 3.0
    memory_mb: int = 128
    max_workers: int = DEFAULT_POOL_SIZE


@dataclass
class Invocation:
    """The outcome of one invocation, as the caller (and the invocation log) sees it."""

    function: str
    source: str
    request_id: str
    ok: bool
    payload: Any  # the handler's JSON result, or Lambda's error object
    duration_ms: float
    cold_start: bool
    started_at: float = field(default_factory=time.time)

    @property
    def status(self) -> str:
        if self.ok:
            return "ok"
        return "timeout" if self.error_type == "Sandbox.Timedout" else "error"

    @property
    def error_type(self) -> str | None:
        return None if self.ok else str(self.payload.get("errorType", "Unknown"))

    def summary(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "function": self.function,
            "source": self.source,
            "requestId": self.request_id,
            "status": self.status,
            "durationMs": round(self.duration_ms, 1),
            "coldStart": self.cold_start,
            "startedAt": self.started_at,
        }
        if not self.ok:
            entry["errorType"] = self.error_type
            entry["errorMessage"] = self.payload.get("errorMessage")
        return entry


def error_payload(error_type: str, message: str, stack: list[str] | None = None) -> dict[str, Any]:
    """Lambda's error object for a failed invocation."""
    return {"errorMessage": message, "errorType": error_type, "requestId": "", "stackTrace": stack or []}


# -- the worker process --------------------------------------------------------------------------


class LambdaContext:
    """The context object handlers receive (the attributes Powertools and handlers read)."""

    def __init__(self, spec: FunctionSpec, request_id: str, deadline_ms: int) -> None:
        self.function_name = spec.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{spec.function_name}"
        self.log_stream_name = f"devstack/[$LATEST]{os.getpid()}"
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _enter_sandbox(spec: FunctionSpec) -> None:
    """Give this process the function's environment and import path, as Lambda does."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's job
    kept = {name: os.environ[name] for name in _KEPT_HOST_VARIABLES if name in os.environ}
    os.environ.clear()
    os.environ.update(kept)
    os.environ.update(spec.environment)
    interpreter_paths = [p for p in sys.path if p and p.startswith((sys.prefix, sys.base_prefix))]
    sys.path[:] = [spec.code_dir, *spec.layer_dirs, *interpreter_paths]
    os.chdir(spec.code_dir)


def _load_handler(handler: str) -> Callable[[Any, Any], Any]:
    module_name, _, function_name = handler.rpartition(".")
    module = importlib.import_module(module_name)
    return getattr(module, function_name)  # type: ignore[no-any-return]


def _describe(exc: BaseException) -> dict[str, Any]:
    stack = traceback.format_list(traceback.extract_tb(exc.__traceback__))
    return error_payload(type(exc).__name__, str(exc), [line.rstrip() for line in stack])


def worker_main(spec: FunctionSpec, conn: Connection) -> None:
    """Entry point of a worker process: init once, then serve invocations until told to stop."""
    _enter_sandbox(spec)
    handler: Callable[[Any, Any], Any] | None = None
    init_error: dict[str, Any] | None = None
    try:
        handler = _load_handler(spec.handler)
    except ImportError as exc:
        init_error = error_payload(
            "Runtime.ImportModuleError", f"Unable to import module '{spec.handler.rpartition('.')[0]}': {exc}"
        )
        traceback.print_exc()
    except AttributeError as exc:
        init_error = error_payload("Runtime.HandlerNotFound", f"Handler '{spec.handler}' missing: {exc}")
    except Exception as exc:  # init code raised: Lambda reports it on every invocation
        init_error = _describe(exc)
        traceback.print_exc()
    while True:
        try:
            message = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if message == _STOP:
            return
        _, request_id, event_json, deadline_ms = message
        if init_error is not None or handler is None:
            conn.send(("error", init_error))
            continue
        conn.send(_run_once(spec, handler, request_id, event_json, deadline_ms))


def _run_once(
    spec: FunctionSpec, handler: Callable[[Any, Any], Any], request_id: str, event_json: str, deadline_ms: int
) -> tuple[str, Any]:
    try:
        result = handler(json.loads(event_json), LambdaContext(spec, request_id, deadline_ms))
    except Exception as exc:
        print(f"[ERROR] {type(exc).__name__}: {exc}", file=sys.stderr)
        traceback.print_exc()
        return "error", _describe(exc)
    try:
        return "ok", json.dumps(result)
    except (TypeError, ValueError) as exc:
        return "error", error_payload("Runtime.MarshalError", f"Unable to marshal response: {exc}")
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


# -- the parent side -----------------------------------------------------------------------------


class _Worker:
    """One warm sandbox: a process and the pipe to it."""

    def __init__(self, spec: FunctionSpec) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(
            target=worker_main, args=(spec, child_conn), name=f"lambda:{spec.logical_id}", daemon=True
        )
        self.process.start()
        child_conn.close()

    def call(self, request_id: str, event_json: str, timeout_s: float) -> tuple[str, Any] | None:
        """Send one event; the reply, or None when the deadline passed."""
        deadline_ms = int((time.time() + timeout_s) * 1000)
        self.conn.send(("invoke", request_id, event_json, deadline_ms))
        if not self.conn.poll(timeout_s):
            return None
        reply: tuple[str, Any] = self.conn.recv()
        return reply

    def stop(self, grace_s: float = 1.0) -> None:
        with contextlib.suppress(OSError, ValueError):  # already gone
            self.conn.send(_STOP)
        self.process.join(grace_s)
        if self.process.is_alive():
            self.kill()
        self.conn.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)


class FunctionPool:
    """Up to `max_workers` warm workers of one function; callers wait when all are busy."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self._slots = threading.BoundedSemaphore(max(1, spec.max_workers))
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._closed = False

    def _checkout(self) -> tuple[_Worker, bool]:
        with self._lock:
            if self._closed:
                raise RuntimeError("function runtime is shut down")
            if self._idle:
                return self._idle.pop(), False
            worker = _Worker(self.spec)
            self._all.add(worker)
            return worker, True

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)

    def invoke(self, event: Any, source: str) -> Invocation:
        request_id = str(uuid.uuid4())
        event_json = json.dumps(event)
        if self.spec.max_workers == 0:  # ReservedConcurrentExecutions: 0 disables the function
            throttled = error_payload("TooManyRequestsException", "Rate Exceeded.")
            return Invocation(self.spec.logical_id, source, request_id, False, throttled, 0.0, False)
        with self._slots:
            started = time.perf_counter()
            worker, cold = self._checkout()
            try:
                reply = worker.call(request_id, event_json, self.spec.timeout_s)
            except (EOFError, OSError):
                reply = ("crash", None)
            duration_ms = (time.perf_counter() - started) * 1000
            if reply is None:
                self._discard(worker)
                message = f"Task timed out after {self.spec.timeout_s:.2f} seconds"
                payload: Any = error_payload("Sandbox.Timedout", message)
                ok = False
            elif reply[0] == "crash":
                self._discard(worker)
                payload, ok = (
                    error_payload("Runtime.ExitError", "Runtime exited without providing a reason"),
                    False,
                )
            else:
                with self._lock:
                    self._idle.append(worker)
                ok = reply[0] == "ok"
                payload = json.loads(reply[1]) if ok else reply[1]
        if not ok:
            payload["requestId"] = request_id
        return Invocation(self.spec.logical_id, source, request_id, ok, payload, duration_ms, cold)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
            self._idle.clear()
        for worker in workers:
            worker.stop()


class FunctionRuntime:
    """All functions of the stack, looked up by logical id, name or ARN, plus a log of calls."""

    def __init__(self, specs: list[FunctionSpec], history: int = 500) -> None:
        self._pools = {spec.logical_id: FunctionPool(spec) for spec in specs}
        self._aliases: dict[str, str] = {}
        for spec in specs:
            for alias in (spec.logical_id, spec.function_name, spec.arn):
                self._aliases[alias] = spec.logical_id
        self.history: deque[dict[str, Any]] = deque(maxlen=history)

    @property
    def specs(self) -> dict[str, FunctionSpec]:
        return {logical_id: pool.spec for logical_id, pool in self._pools.items()}

    def logical_id(self, name_or_arn: str) -> str | None:
        """Logical id for a logical id, function name or (qualified) function ARN."""
        if name_or_arn in self._aliases:
            return self._aliases[name_or_arn]
        parts = name_or_arn.split(":")
        if len(parts) == 8:  # arn:aws:lambda:region:account:function:name:qualifier
            return self._aliases.get(":".join(parts[:7]))
        return None

    def invoke(self, name_or_arn: str, event: Any, source: str) -> Invocation:
        logical_id = self.logical_id(name_or_arn)
        if logical_id is None:
            raise KeyError(f"no function {name_or_arn}")
        result = self._pools[logical_id].invoke(event, source)
        self.history.append(result.summary())
        detail = "" if result.ok else f" {result.error_type}: {result.payload.get('errorMessage')}"
        log.info(
            "invoke %s from %s%s %.0f ms -> %s%s",
            logical_id,
            source,
            " (cold start)" if result.cold_start else "",
            result.duration_ms,
            result.status,
            detail,
        )
        return result

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
