"""The session capability's outside world: Plugsurfing (Drive or EMP), EventBridge, the CDR
queue and the poller state machine. Partner failures are translated here into what the logic
and the ASL act on (`PartnerRetryable`, `PartnerSessionGone`, `StartRefused`...)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from backbone.cdr.envelope import CdrEnvelope
from backbone.partners.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PartnerError,
    PartnerUnavailable,
    ServerError,
    TooManyRequests,
)
from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.partners.retry import NOT_SENT_ERRORS
from backbone.partners.schemas import Session
from backbone.sessions.errors import (
    PartnerBusy,
    PartnerRefused,
    PartnerRetryable,
    PartnerSessionGone,
    StartOutcomeUnknown,
    StartRefused,
)
from backbone.sessions.models import SessionRecord, StatusChanged
from backbone.sessions.ports import ObservedSession
from backbone.timeutil import to_utc

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

HISTORY_LIMIT = 50  # the spec's example; a start is looked for within minutes of it
HISTORY_CLOCK_SKEW = timedelta(minutes=1)  # the partner's startTime against our clock
EVENT_SOURCE = "backbone.sessions"
EVENT_DETAIL_TYPE = "SessionStatusChanged"
_BUSY = (TooManyRequests, ServerError, PartnerUnavailable)


class PlugsurfingSessions:
    """`PartnerSessions` over the Drive (`/v1/users/{u}/sessions/...`) or EMP
    (`/emp/v1/sessions/...`) API, chosen by each record's mode."""

    def __init__(self, client: PlugsurfingClient) -> None:
        self.client = client

    def start(self, record: SessionRecord) -> str:
        try:
            if record.mode == "drive":
                started = self.client.start_session(_required(record.user_id), record.connector_id)
            else:
                started = self.client.emp_start_session(record.connector_id, _required(record.key_identifier))
        except (BadRequest, NotFound, Conflict) as error:
            raise StartRefused(_describe(error)) from error
        except TooManyRequests as error:
            raise PartnerRetryable(_describe(error)) from error
        except PartnerUnavailable as error:
            # Only a start that provably never reached the partner (or was refused with 429) is
            # safe to send again; after a read timeout a session may exist.
            if isinstance(error.last_error, (*NOT_SENT_ERRORS, TooManyRequests)):
                raise PartnerRetryable(_describe(error)) from error
            raise StartOutcomeUnknown(_describe(error), _session_id_in(error.body)) from error
        except ServerError as error:
            raise StartOutcomeUnknown(_describe(error), _session_id_in(error.body)) from error
        return started.session_id

    def find_started(self, record: SessionRecord) -> list[ObservedSession]:
        """Drive: the user's session history (`POST .../sessions/history`, every status), sessions
        on the record's connector that started since its remote start, oldest first. The EMP API
        has no such search (only a session by id)."""
        if record.mode != "drive":
            raise ValueError("the EMP API cannot list sessions: only a session by its id")
        since = (record.start_requested_at or record.created_at) - HISTORY_CLOCK_SKEW
        path = f"/v1/users/{_segment(_required(record.user_id))}/sessions/history"
        try:
            data = self.client.http.request("POST", path, json={"limit": HISTORY_LIMIT}, idempotent=True).data
        except (*_BUSY, Forbidden) as error:
            raise PartnerRetryable(_describe(error)) from error
        sessions = data.get("sessions", []) if isinstance(data, dict) else []
        found: list[tuple[datetime, ObservedSession]] = []
        for session in sessions:
            if not isinstance(session, dict) or session.get("connectorId") != record.connector_id:
                continue
            started = _moment(session.get("startTime"))
            if started is None or started < since or not session.get("sessionId"):
                continue
            raw = json.dumps(session, ensure_ascii=False, separators=(",", ":"))
            found.append((started, ObservedSession(data=session, raw=raw)))
        return [observed for _, observed in sorted(found, key=lambda pair: pair[0])]

    def get(self, record: SessionRecord) -> ObservedSession:
        """The session as received. Read through the client's HTTP layer rather than its typed
        `get_session`: the CDR must carry the partner's values, not our re-serialisation."""
        session_id = _required(record.session_id)
        if record.mode == "drive":
            http = self.client.http
            path = f"/v1/users/{_segment(_required(record.user_id))}/sessions/{_segment(session_id)}"
        else:
            http, path = self.client.emp_http, f"/sessions/{_segment(session_id)}"
        try:
            data = http.request("GET", path).data
        except NotFound as error:
            raise PartnerSessionGone(_describe(error)) from error
        except (*_BUSY, Forbidden) as error:
            # 401/403 on a read means our API key is wrong or being rotated: worth retrying
            # while an operator fixes the secret, rather than dropping every session.
            raise PartnerRetryable(_describe(error)) from error
        Session.model_validate(data)  # the shape we rely on; anything else is a partner fault
        return ObservedSession(data=data, raw=json.dumps(data, ensure_ascii=False, separators=(",", ":")))

    def stop(self, record: SessionRecord) -> None:
        session_id = _required(record.session_id)
        try:
            if record.mode == "drive":
                self.client.stop_session(_required(record.user_id), session_id)
            else:
                self.client.emp_stop_session(session_id)
        except NotFound as error:
            raise PartnerRefused(
                f"the partner does not know session {session_id}: {_describe(error)}"
            ) from error
        except _BUSY as error:
            raise PartnerBusy(f"the partner is busy, retry the stop: {_describe(error)}") from error
        except PartnerError as error:
            raise PartnerRefused(f"the partner refused the stop: {_describe(error)}") from error


class EventBridgePublisher:
    """`EventPublisher` on one bus: source `backbone.sessions`, detail-type `SessionStatusChanged`."""

    def __init__(self, client: EventBridgeClient, bus_name: str) -> None:
        self.client = client
        self.bus_name = bus_name

    def publish(self, change: StatusChanged) -> None:
        entry = {
            "Source": EVENT_SOURCE,
            "DetailType": EVENT_DETAIL_TYPE,
            "Detail": change.detail(),
            "EventBusName": self.bus_name,
            "Resources": [change.execution_arn],
        }
        answer = self.client.put_events(Entries=[entry])  # type: ignore[list-item]
        if answer.get("FailedEntryCount"):
            failure = answer["Entries"][0]
            raise RuntimeError(
                f"EventBridge refused the event: {failure.get('ErrorCode')} {failure.get('ErrorMessage')}"
            )


class SqsCdrSink:
    """`CdrSink` on the CDR queue (CdrEnvelope JSON bodies)."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def send(self, envelope: CdrEnvelope) -> None:
        self.client.send_message(QueueUrl=self.queue_url, MessageBody=envelope.to_message())


class StepFunctionsExecutions:
    """`Executions` of the session poller state machine."""

    def __init__(self, client: SFNClient, state_machine_arn: str) -> None:
        self.client = client
        self.state_machine_arn = state_machine_arn

    def arn_for(self, name: str) -> str:
        # arn:aws:states:<region>:<account>:stateMachine:<sm> -> ...:execution:<sm>:<name>
        return f"{self.state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"

    def start(self, name: str, payload: dict[str, Any]) -> str:
        try:
            answer = self.client.start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(payload, sort_keys=True)
            )
        except ClientError as error:
            # Same name, finished execution (or, impossibly here, other input): it exists, fine.
            if _code(error) == "ExecutionAlreadyExists":
                return self.arn_for(name)
            raise
        return answer["executionArn"]

    def stop(self, execution_arn: str, cause: str) -> None:
        try:
            self.client.stop_execution(executionArn=execution_arn, cause=cause)
        except ClientError as error:
            if _code(error) not in ("ExecutionDoesNotExist", "ValidationException"):
                raise


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _required(value: str | None) -> str:
    if not value:
        raise ValueError("the session record lacks an identifier its partner mode needs")
    return value


def _segment(value: str) -> str:
    """One path segment, percent-encoded (connector and session ids may contain `/`)."""
    return quote(value, safe="")


def _describe(error: PartnerError) -> str:
    return str(error)[:500]


def _session_id_in(body: Any) -> str | None:
    """The Drive spec says a start always answers a session id; a failed answer may carry one."""
    value = body.get("sessionId") if isinstance(body, dict) else None
    return value if isinstance(value, str) and value.strip() else None


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return to_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


class SessionEventTap:
    """A queue subscribed to SessionStatusChanged on the bus: how an operator (or a test) watches
    the events. Creating it twice is harmless; `remove` takes it away again."""

    def __init__(self, events: EventBridgeClient, sqs: SQSClient, bus_name: str, name: str) -> None:
        self.events, self.sqs, self.bus_name, self.name = events, sqs, bus_name, name

    def attach(self) -> str:
        queue_url = self.sqs.create_queue(
            QueueName=self.name, Attributes={"MessageRetentionPeriod": "86400"}
        )["QueueUrl"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        pattern = {"source": [EVENT_SOURCE], "detail-type": [EVENT_DETAIL_TYPE]}
        rule_arn = self.events.put_rule(
            Name=self.name, EventBusName=self.bus_name, EventPattern=json.dumps(pattern)
        )["RuleArn"]
        queue_arn = attributes["Attributes"]["QueueArn"]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                }
            ],
        }
        self.sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
        self.events.put_targets(
            Rule=self.name, EventBusName=self.bus_name, Targets=[{"Id": "tap", "Arn": queue_arn}]
        )
        return queue_url

    def read(self, queue_url: str, wait_seconds: int = 0) -> list[dict[str, Any]]:
        """The events that arrived (each once: read messages are deleted)."""
        answer = self.sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        )
        events = []
        for message in answer.get("Messages", []):
            events.append(json.loads(message["Body"]))
            self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return events

    def remove(self) -> None:
        self.events.remove_targets(Rule=self.name, EventBusName=self.bus_name, Ids=["tap"])
        self.events.delete_rule(Name=self.name, EventBusName=self.bus_name)
        queue_url = self.sqs.get_queue_url(QueueName=self.name)["QueueUrl"]
        self.sqs.delete_queue(QueueUrl=queue_url)
