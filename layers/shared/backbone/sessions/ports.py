"""The small interfaces session logic works through; AWS and HTTP implementations live in
`store.py` and `gateways.py`, in-memory fakes in the tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from backbone.cdr.envelope import CdrEnvelope
from backbone.sessions.models import SessionRecord, StatusChanged


class SessionStore(Protocol):
    """SessionsTable. Writes are whole records guarded by `version` (optimistic lock)."""

    def get(self, request_id: str) -> SessionRecord | None: ...

    def find_by_session_id(self, session_id: str) -> SessionRecord | None: ...

    def put_new(self, record: SessionRecord) -> bool:
        """Insert; False (and no write) when the request id is already taken."""
        ...

    def save(self, record: SessionRecord) -> SessionRecord:
        """Write `record` if the stored version is still `record.version`; returns it with the
        version bumped. Raises `SessionRecordConflict` otherwise."""
        ...


@dataclass(frozen=True)
class ObservedSession:
    """A session as the partner reported it: the parsed JSON and its text for the CDR."""

    data: dict[str, Any]
    raw: str

    @property
    def status(self) -> str:
        return str(self.data.get("sessionStatus", "UNKNOWN")).upper()

    @property
    def session_id(self) -> str | None:
        value = self.data.get("sessionId")
        return None if value is None else str(value)

    @property
    def balance_status(self) -> str | None:
        value = self.data.get("balanceStatus")
        return None if value is None else str(value).upper()


class PartnerSessions(Protocol):
    """Remote start, session by id, remote stop (Drive or EMP, per the record's mode).

    Raises `PartnerRetryable` when a repeat is safe and may succeed, `PartnerSessionGone` on 404,
    `StartRefused` / `StartOutcomeUnknown` for a start that failed for good / maybe happened."""

    def start(self, record: SessionRecord) -> str: ...

    def get(self, record: SessionRecord) -> ObservedSession: ...

    def stop(self, record: SessionRecord) -> None: ...

    def find_started(self, record: SessionRecord) -> list[ObservedSession]:
        """Sessions the partner has for the record's user and connector that started at or after
        its remote start (oldest first): where a start with an unknown outcome may have gone.
        Drive only (session history); raises `PartnerRetryable` when the partner is busy."""
        ...


class EventPublisher(Protocol):
    def publish(self, change: StatusChanged) -> None: ...


class CdrSink(Protocol):
    def send(self, envelope: CdrEnvelope) -> None: ...


class Executions(Protocol):
    """The session poller state machine."""

    def arn_for(self, name: str) -> str:
        """The ARN an execution of this name has (or will have)."""
        ...

    def start(self, name: str, payload: dict[str, Any]) -> str:
        """Start (or find the same-named, same-input) execution; returns its ARN."""
        ...

    def stop(self, execution_arn: str, cause: str) -> None:
        """Stop a running execution; a finished or unknown one is fine."""
        ...
