"""What the CDR logic needs (ingestion in `ingest`, reconciliation in `reconcile`), and the
bundles the handlers pass it. AWS implementations: `backbone.cdr.aws`; Plugsurfing:
`backbone.cdr.partner`; built in `backbone.cdr.wiring`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from backbone.cdr.envelope import CdrEnvelope
from backbone.cdr.models import (
    Cdr,
    PartnerMode,
    PollerSession,
    PutResult,
    RecordWrite,
    Refused,
)
from backbone.privacy.pseudonym import Pseudonymiser
from backbone.timeutil import utc_now


class CdrStore(Protocol):
    def put_if_advances(self, cdr: Cdr) -> PutResult:
        """Make `cdr` the current record if the session has none, or its current record is
        ONGOING with a lower progress key. Atomic."""
        ...

    def put_correction(self, cdr: Cdr) -> bool:
        """Store `cdr` as a correction unless that very correction is stored already."""
        ...

    def write_all(self, writes: Sequence[RecordWrite]) -> list[Refused]:
        """All of `writes` (at most `MAX_BATCH_WRITES`, one per item) atomically, each under its
        condition (`RecordWrite`). If any condition fails nothing is written and the refused
        writes are returned; an empty list means all were written. Raises `WriteConflict` when
        cancelled without a refusal (retry), other errors as they come."""
        ...


class DeadLetters(Protocol):
    def send(self, body: str, reason: str, message_id: str, at: datetime) -> None:
        """Park a message that can never be ingested, with the reason and time beside it."""
        ...


class PollerSessions(Protocol):
    def completed_since(self, since: datetime) -> Iterable[PollerSession]: ...


class SessionSource(Protocol):
    """Plugsurfing sessions as the partner sent them (JSON objects, values untouched); failures
    raise `SessionUnavailable`."""

    def completed_sessions(self, user_id: str, limit: int) -> list[dict[str, Any]]:
        """A user's COMPLETE sessions from the Drive session history (EMP has none: empty)."""
        ...

    def session(self, mode: PartnerMode, user_id: str | None, session_id: str) -> dict[str, Any]: ...


class CdrQueue(Protocol):
    def send(self, envelope: CdrEnvelope) -> None:
        """Durably enqueue one CDR; raises a `TemporaryFailure` if it could not."""
        ...


class StoredCdrs(Protocol):
    def has_final(self, session_id: str) -> bool: ...


@dataclass(frozen=True)
class IngestDependencies:
    store: CdrStore
    dead_letters: DeadLetters
    pseudonymise: Pseudonymiser
    """Driver pseudonyms (`backbone.cdr.pseudonymise`): every stored CDR goes through it."""
    clock: Callable[[], datetime] = utc_now


@dataclass(frozen=True)
class ReconcileDependencies:
    poller: PollerSessions
    partner: SessionSource
    cdrs: StoredCdrs
    queue: CdrQueue
    partner_id: str
    """CDR partner id of Drive/EMP sessions (the poller's CDR_PARTNER_ID)."""
    lookback: timedelta = timedelta(days=7)
    settle: timedelta = timedelta(minutes=15)
    history_limit: int = 50
    clock: Callable[[], datetime] = utc_now
