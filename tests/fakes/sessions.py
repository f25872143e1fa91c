"""In-memory stand-ins for the session ports, with the same semantics as the AWS ones (version
check, conditional insert, a queue that can be down). For unit tests and the benchmark, which run
the real logic without AWS."""

from __future__ import annotations

import threading
from typing import Any

from backbone.aws.cdr_queue import CdrQueueUnavailable
from backbone.cdr.envelope import CdrEnvelope
from backbone.sessions.errors import SessionRecordConflict
from backbone.sessions.models import SessionRecord, StatusChanged


class InMemorySessionStore:
    def __init__(self) -> None:
        self.records: dict[str, SessionRecord] = {}
        self.writes = 0
        self._lock = threading.Lock()

    def get(self, request_id: str) -> SessionRecord | None:
        return self.records.get(request_id)

    def find_by_session_id(self, session_id: str) -> SessionRecord | None:
        return next((r for r in self.records.values() if r.session_id == session_id), None)

    def put_new(self, record: SessionRecord) -> bool:
        with self._lock:
            if record.request_id in self.records:
                return False
            self.records[record.request_id] = record
            self.writes += 1
            return True

    def save(self, record: SessionRecord) -> SessionRecord:
        with self._lock:
            stored = self.records.get(record.request_id)
            if stored is None or stored.version != record.version:
                raise SessionRecordConflict(f"session {record.request_id} changed meanwhile")
            saved = record.model_copy(update={"version": record.version + 1})
            self.records[record.request_id] = saved
            self.writes += 1
            return saved


class RecordingEvents:
    """`EventPublisher` keeping what was published."""

    def __init__(self) -> None:
        self.published: list[StatusChanged] = []

    def publish(self, change: StatusChanged) -> None:
        self.published.append(change)


class RecordingCdrs:
    """`CdrQueue` keeping what was sent; the next `unavailable` sends fail as SQS's would."""

    def __init__(self) -> None:
        self.sent: list[CdrEnvelope] = []
        self.unavailable = 0

    def send(self, envelope: CdrEnvelope) -> None:
        if self.unavailable:
            self.unavailable -= 1
            raise CdrQueueUnavailable("the CDR could not be queued; please retry")
        self.sent.append(envelope)


class RecordingExecutions:
    """`Executions` that only remembers starts and stops (same-name starts are one execution)."""

    def __init__(
        self, state_machine_arn: str = "arn:aws:states:eu-west-1:123456789012:stateMachine:poller"
    ) -> None:
        self.state_machine_arn = state_machine_arn
        self.started: dict[str, dict[str, Any]] = {}
        self.stopped: list[str] = []

    def arn_for(self, name: str) -> str:
        return f"{self.state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"

    def start(self, name: str, payload: dict[str, Any]) -> str:
        self.started.setdefault(name, payload)
        return self.arn_for(name)

    def stop(self, execution_arn: str, cause: str) -> None:
        self.stopped.append(execution_arn)
