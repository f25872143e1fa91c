"""The real session poller ASL executed by moto, its Lambda tasks run in-process, the partner
played by the Plugsurfing simulator on a manual clock that the Wait states and Retry back-offs
advance instead of sleeping. Module name unique across test dirs."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import handler_session_api
import handler_session_tasks
from moto.awslambda.models import LambdaFunction
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

from backbone.sessions.models import SessionRecord
from simulator import ManualClock, PlugsurfingSimulator

REPO = Path(__file__).resolve().parents[3]
ASL = (REPO / "statemachine" / "session_poller.asl.json").read_text()
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FUNCTION_NAME = "SessionTasksFunction"
STATE_MACHINE_NAME = "SessionPollerStateMachine"


@dataclass
class LambdaContext:
    function_name: str = FUNCTION_NAME
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:eu-west-1:123456789012:function:{FUNCTION_NAME}"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


@dataclass
class Wait:
    execution: str  # the execution's name
    state: str
    seconds: float
    at: datetime  # simulated time the wait began


WaitHook = Callable[[Wait], float | None]


@dataclass
class Harness:
    """Drives sessions through the internal API handler and watches what the poller does."""

    session: boto3.Session
    resources: dict[str, str]
    sim: PlugsurfingSimulator
    clock: ManualClock
    state_machine_arn: str
    events_queue_url: str
    waits: list[Wait] = field(default_factory=list)
    retry_sleeps: list[float] = field(default_factory=list)
    on_wait: WaitHook | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- the internal API, as API Gateway would call it ---------------------------------------

    def api(
        self, method: str, path: str, body: dict[str, Any] | str | None = None
    ) -> tuple[int, dict[str, Any]]:
        """One internal API request; a `str` body is sent as it is (malformed on purpose)."""
        resource = path
        params = None
        parts = path.strip("/").split("/")
        if len(parts) >= 3:
            params = {"identifier": parts[2]}
            resource = "/internal/sessions/{identifier}" + ("/stop" if path.endswith("/stop") else "")
        event = {
            "resource": resource,
            "path": path,
            "httpMethod": method,
            "headers": {"Content-Type": "application/json"},
            "queryStringParameters": None,
            "pathParameters": params,
            "requestContext": {
                "requestId": "test",
                "stage": "test",
                "identity": {"userArn": "arn:aws:iam::123456789012:user/tester", "caller": "tester"},
            },
            "body": body if body is None or isinstance(body, str) else json.dumps(body),
            "isBase64Encoded": False,
        }
        response = handler_session_api.handler(event, LambdaContext(function_name="SessionApiFunction"))
        return response["statusCode"], json.loads(response["body"])

    def start(self, request_id: str, connector: str = "conn-1", key: str = "3633e0e0") -> dict[str, Any]:
        status, body = self.api(
            "POST",
            "/internal/sessions",
            {"requestId": request_id, "connectorId": connector, "keyIdentifier": key},
        )
        assert status in (200, 202), body
        return body

    def stop(self, request_id: str) -> dict[str, Any]:
        status, body = self.api("POST", f"/internal/sessions/{request_id}/stop")
        assert status == 202, body
        return body

    # --- watching -------------------------------------------------------------------------------

    def execution_arn(self, name: str) -> str:
        return f"{self.state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"

    def finish(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        """Wait (real time, briefly) until the execution is no longer running; describe it."""
        sfn = self.session.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            described = sfn.describe_execution(executionArn=self.execution_arn(name))
            if described["status"] != "RUNNING":
                return dict(described)
            if time.monotonic() > deadline:
                raise AssertionError(f"execution {name} still running; waits so far: {self.waits}")
            time.sleep(0.02)

    def record(self, request_id: str) -> SessionRecord:
        status, body = self.api("GET", f"/internal/sessions/{request_id}")
        assert status == 200, body
        return SessionRecord.model_validate(body)

    def history(self, request_id: str) -> list[tuple[str, str | None]]:
        return [(str(entry.status), entry.balance_status) for entry in self.record(request_id).history]

    def bus_events(self) -> list[dict[str, Any]]:
        """SessionStatusChanged events, as delivered by a rule on SessionEventBus to a queue."""
        sqs = self.session.client("sqs")
        events: list[dict[str, Any]] = []
        while True:
            answer = sqs.receive_message(QueueUrl=self.events_queue_url, MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                return events
            for message in messages:
                events.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.events_queue_url, ReceiptHandle=message["ReceiptHandle"])

    def cdrs(self) -> list[dict[str, Any]]:
        sqs = self.session.client("sqs")
        answer = sqs.receive_message(QueueUrl=self.resources["CdrQueue"], MaxNumberOfMessages=10)
        return [json.loads(message["Body"]) for message in answer.get("Messages", [])]

    def waits_of(self, name: str) -> list[float]:
        return [wait.seconds for wait in self.waits if wait.execution == name]

    def partner_requests(self, method: str) -> list[str]:
        return [entry["path"] for entry in self.sim.requests(method, "/drive/emp/v1/sessions")]

    # --- moto patches -------------------------------------------------------------------------

    def invoke_lambda(self, function: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        """moto would run the function in Docker; run the handler in-process (Lambda's error shape)."""
        payload = json.loads(event) if isinstance(event, str | bytes) else event
        try:
            result = handler_session_tasks.handler(payload, LambdaContext())
        except Exception as error:
            return json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}), True, ""
        return json.dumps(result), False, ""

    def wait_interval(self, env: Any, seconds: float) -> None:
        """A Wait state: record its length and move the simulated clock instead of sleeping."""
        context = env.states.context_object.context_object_data
        wait = Wait(context["Execution"]["Name"], context["State"]["Name"], seconds, self.clock.now())
        with self.lock:
            self.waits.append(wait)
        advance = self.on_wait(wait) if self.on_wait else None
        self.clock.advance(seconds if advance is None else advance)

    def retry_sleep(self, seconds: float) -> None:
        with self.lock:
            self.retry_sleeps.append(seconds)
        self.clock.advance(seconds)


def zipped_placeholder() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("placeholder.py", "# the handler runs in-process in these tests\n")
    return buffer.getvalue()


def create_poller(session: boto3.Session) -> str:
    """The tasks function (a placeholder package: its ARN must resolve) and the real ASL."""
    iam = session.client("iam")
    role = iam.create_role(RoleName="session-poller", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    function_arn = session.client("lambda").create_function(
        FunctionName=FUNCTION_NAME,
        Runtime="python3.13",
        Role=role,
        Handler="handler_session_tasks.handler",
        Code={"ZipFile": zipped_placeholder()},
    )["FunctionArn"]
    definition = ASL.replace("${SessionTasksFunctionArn}", function_arn)
    return session.client("stepfunctions").create_state_machine(
        name=STATE_MACHINE_NAME, definition=definition, roleArn=role, type="STANDARD"
    )["stateMachineArn"]


def tap_event_bus(session: boto3.Session, bus_name: str) -> str:
    """A rule sending every SessionStatusChanged event on the bus to a queue we can read."""
    sqs, events = session.client("sqs"), session.client("events")
    queue_url = sqs.create_queue(QueueName="session-events-tap")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    pattern = {"source": ["backbone.sessions"], "detail-type": ["SessionStatusChanged"]}
    events.put_rule(Name="session-events-tap", EventBusName=bus_name, EventPattern=json.dumps(pattern))
    events.put_targets(
        Rule="session-events-tap", EventBusName=bus_name, Targets=[{"Id": "tap", "Arn": queue_arn}]
    )
    return queue_url


def patch_moto(harness: Harness, monkeypatch: Any) -> None:
    class RetryTime:
        """Stands in for `time` inside moto's retrier: back-offs move the simulated clock."""

        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        @staticmethod
        def sleep(seconds: float) -> None:
            harness.retry_sleep(seconds)

    monkeypatch.setattr(
        LambdaFunction, "_invoke_lambda", lambda fn, event=None: harness.invoke_lambda(fn, event)
    )
    monkeypatch.setattr(
        WaitFunction,
        "_wait_interval",
        lambda _self, env, wait_seconds: harness.wait_interval(env, wait_seconds),
    )
    monkeypatch.setattr(retrier_decl, "time", RetryTime())
