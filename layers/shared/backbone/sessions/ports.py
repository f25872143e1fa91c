"""The narrow interfaces session logic works through, and the dependency bundles of the two
functions. AWS implementations live in `aws.py`, Plugsurfing ones in `partner.py`, the start
rules of each partner mode in `commands.py`; `wiring.py` picks and builds them; in-memory fakes
live in the tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from backbone.cdr.envelope import CdrEnvelope
from backbone.keys.models import ChargingKey
from backbone.locations.models import ConnectorMatch, ConnectorQuery
from backbone.sessions.models import PartnerMode, SessionRecord, StartRequest, StatusChanged
from backbone.sessions.schedule import PollPolicy
from backbone.timeutil import utc_now

Clock = Callable[[], datetime]


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
    """Remote start, session by id, remote stop, in the partner mode of each record (Drive or
    EMP: one adapter per mode, `partner.py`).

    Raises `PartnerRetryable` when a repeat is safe and may succeed, `SessionNotFound` on 404 for
    the session, `StartRefused` / `StartOutcomeUnknown` for a start that failed for good / maybe
    happened, `PartnerRefused` / `PartnerBusy` for a stop."""

    def start(self, record: SessionRecord) -> str: ...

    def get(self, record: SessionRecord) -> ObservedSession: ...

    def stop(self, record: SessionRecord) -> None: ...

    def can_find_started(self, record: SessionRecord) -> bool:
        """Whether `find_started` can look for the record's session (Drive: the user's session
        history; the EMP API has no search, only a session by its id)."""
        ...

    def find_started(self, record: SessionRecord) -> list[ObservedSession]:
        """Sessions the partner has for the record's user and connector that started at or after
        its remote start (oldest first): where a start with an unknown outcome may have gone.
        Raises `PartnerRetryable` when the partner is busy."""
        ...


class StartRules(Protocol):
    """What a start request needs in the API's partner mode (`commands.DriveStarts`, `EmpStarts`)."""

    @property
    def mode(self) -> PartnerMode: ...

    def prepare(self, request: StartRequest) -> StartRequest:
        """The request as the partner takes it; `InvalidStartRequest` when it lacks what this mode
        needs."""
        ...


class KeyLookup(Protocol):
    """Our charging keys, read by UID (EMP: a start names one of them)."""

    def get(self, uid: str) -> ChargingKey | None: ...


class ConnectorResolver(Protocol):
    """The locations capability's EVSE id -> connector lookup (`locations.lookup.ConnectorLookup`).
    Raises `DomainError`s with their HTTP status: not found (404), Plugsurfing busy (503)..."""

    def resolve(self, query: ConnectorQuery) -> ConnectorMatch: ...


class EventPublisher(Protocol):
    def publish(self, change: StatusChanged) -> None: ...


class CdrQueue(Protocol):
    """The CDR queue; a failure is a `TemporaryFailure` (`backbone.aws.cdr_queue`)."""

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


@dataclass(frozen=True)
class TaskDependencies:
    """The state machine's tasks (SessionTasksFunction)."""

    store: SessionStore
    partner: PartnerSessions
    events: EventPublisher
    cdrs: CdrQueue
    policy: PollPolicy
    cdr_partner_id: str = "plugsurfing"
    clock: Clock = utc_now


@dataclass(frozen=True)
class ApiDependencies:
    """The internal API and the start queue (SessionApiFunction)."""

    store: SessionStore
    partner: PartnerSessions
    executions: Executions
    starts: StartRules
    connectors: ConnectorResolver
    """A start naming an `evseId` finds its connector here."""
    clock: Clock = utc_now
