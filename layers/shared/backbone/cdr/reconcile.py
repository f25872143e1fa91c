"""Reconciliation: completed Plugsurfing sessions whose CDR is not in CdrTable are enqueued again.

Which sessions: those the session poller recorded as COMPLETE (SessionsTable) in the look-back
window, plus, in Drive mode, the COMPLETE sessions in the Drive session history of those
sessions' users. Users come from the sessions table rather than from every charging-key owner:
the cost stays proportional to activity (one history call per active user per run) instead of
one call per key owner every hour, and a user with no remote session has nothing the poller
could have lost. Sessions completed within the settle time are left alone: their CDR may still
be on its way. A re-enqueued CDR that turns out to be there after all is a no-op for ingestion
(same payload hash), so a race costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

from backbone.cdr.envelope import CdrEnvelope
from backbone.cdr.partner import PartnerMode, session_text
from backbone.observability import MetricUnit, logger, metrics
from backbone.partners.errors import PartnerError
from backbone.timeutil import from_storage

_DURATION = TypeAdapter(timedelta)


@dataclass(frozen=True)
class PollerSession:
    """A SessionsTable record the poller saw COMPLETE."""

    session_id: str
    mode: PartnerMode
    user_id: str | None
    completed_at: datetime


class PollerSessions(Protocol):
    def completed_since(self, since: datetime) -> Iterable[PollerSession]: ...


class SessionSource(Protocol):
    def completed_sessions(self, user_id: str, limit: int) -> list[dict[str, Any]]: ...

    def session(self, mode: PartnerMode, user_id: str | None, session_id: str) -> dict[str, Any]: ...


class CdrQueue(Protocol):
    def send(self, envelope: CdrEnvelope) -> None: ...


class StoredCdrs(Protocol):
    def has_final(self, session_id: str) -> bool: ...


@dataclass(frozen=True)
class ReconcileOptions:
    partner_id: str  # CDR partner id of Drive/EMP sessions (the poller's CDR_PARTNER_ID)
    partner_mode: PartnerMode
    lookback: timedelta = timedelta(days=7)
    settle: timedelta = timedelta(minutes=15)
    history_limit: int = 50


@dataclass
class ReconcileReport:
    checked: int = 0
    missing: int = 0
    reenqueued: int = 0
    errors: int = 0
    reenqueued_sessions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "missing": self.missing,
            "reenqueued": self.reenqueued,
            "errors": self.errors,
            "reenqueuedSessions": self.reenqueued_sessions,
        }


@dataclass
class _Candidate:
    mode: PartnerMode
    user_id: str | None
    session: dict[str, Any] | None = None  # the partner's JSON, when the history gave it


@dataclass(frozen=True)
class ReconcileDependencies:
    poller: PollerSessions
    partner: SessionSource
    cdrs: StoredCdrs
    queue: CdrQueue


def reconcile(deps: ReconcileDependencies, options: ReconcileOptions, now: datetime) -> ReconcileReport:
    """Check every due completed session; enqueue the CDR of each one without a final CDR."""
    report = ReconcileReport()
    candidates = _candidates(deps, options, now, report)
    for session_id, candidate in sorted(candidates.items()):
        report.checked += 1
        if deps.cdrs.has_final(session_id):
            continue
        report.missing += 1
        logger.warning("completed session without a final CDR", extra={"session_id": session_id})
        try:
            session = candidate.session or deps.partner.session(candidate.mode, candidate.user_id, session_id)
        except (PartnerError, ValueError) as error:
            report.errors += 1
            logger.error(
                "session could not be fetched", extra={"session_id": session_id, "error": str(error)}
            )
            continue
        envelope = CdrEnvelope(
            source="drive-api",
            partner_id=options.partner_id,
            received_at=now,
            raw=session_text(session),
            user_id=candidate.user_id,
        )
        deps.queue.send(envelope)
        report.reenqueued += 1
        report.reenqueued_sessions.append(session_id)
    for name, value in (
        ("CdrReconcileChecked", report.checked),
        ("CdrReconcileMissing", report.missing),
        ("CdrReconcileReenqueued", report.reenqueued),
        ("CdrReconcileErrors", report.errors),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    logger.info("CDR reconciliation done", extra=report.as_dict())
    return report


def _candidates(
    deps: ReconcileDependencies, options: ReconcileOptions, now: datetime, report: ReconcileReport
) -> dict[str, _Candidate]:
    since = now - options.lookback
    candidates: dict[str, _Candidate] = {}
    users: set[str] = set()
    for known in deps.poller.completed_since(since):
        if known.user_id and known.mode == "drive":
            users.add(known.user_id)
        if known.completed_at + options.settle <= now:
            candidates[known.session_id] = _Candidate(known.mode, known.user_id)
    if options.partner_mode != "drive":
        return candidates  # EMP has no session history: the poller's records are all we know
    for user_id in sorted(users):
        try:
            history = deps.partner.completed_sessions(user_id, options.history_limit)
        except PartnerError as error:
            report.errors += 1
            logger.error("session history unavailable", extra={"user_id": user_id, "error": str(error)})
            continue
        for session in history:
            session_id = session.get("sessionId")
            if isinstance(session_id, str) and session_id and _due(session, since, now - options.settle):
                candidate = candidates.setdefault(session_id, _Candidate("drive", user_id))
                candidate.session = session
    return candidates


def _due(session: dict[str, Any], since: datetime, settled_before: datetime) -> bool:
    """COMPLETE, started within the look-back window and ended before the settle time."""
    if str(session.get("sessionStatus", "")).upper() != "COMPLETE":
        return False
    try:
        start = from_storage(str(session["startTime"]))
        duration = _DURATION.validate_python(session.get("duration") or "PT0S")
    except (KeyError, ValueError, ValidationError):
        logger.warning(
            "history session without a usable startTime/duration",
            extra={"partner_session_id": session.get("sessionId")},
        )
        return False
    return start >= since and start + duration <= settled_before
