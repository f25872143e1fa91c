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

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError

from backbone.cdr.envelope import CdrEnvelope
from backbone.cdr.models import PartnerMode, SessionUnavailable
from backbone.cdr.ports import ReconcileDependencies
from backbone.observability import MetricUnit, logger, metrics
from backbone.timeutil import from_storage

_DURATION = TypeAdapter(timedelta)


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


def reconcile(deps: ReconcileDependencies) -> ReconcileReport:
    """Check every due completed session; enqueue the CDR of each one without a final CDR."""
    report = ReconcileReport()
    now = deps.clock()
    candidates = _candidates(deps, now, report)
    for session_id, candidate in sorted(candidates.items()):
        report.checked += 1
        if deps.cdrs.has_final(session_id):
            continue
        report.missing += 1
        logger.warning("completed session without a final CDR", extra={"session_id": session_id})
        try:
            session = candidate.session or deps.partner.session(candidate.mode, candidate.user_id, session_id)
        except SessionUnavailable as error:
            report.errors += 1
            logger.error(
                "session could not be fetched", extra={"session_id": session_id, "error": str(error)}
            )
            continue
        envelope = CdrEnvelope(
            source="drive-api",
            partner_id=deps.partner_id,
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


def _candidates(deps: ReconcileDependencies, now: datetime, report: ReconcileReport) -> dict[str, _Candidate]:
    since = now - deps.lookback
    candidates: dict[str, _Candidate] = {}
    users: set[str] = set()
    for known in deps.poller.completed_since(since):
        if known.user_id and known.mode == "drive":
            users.add(known.user_id)
        if known.completed_at + deps.settle <= now:
            candidates[known.session_id] = _Candidate(known.mode, known.user_id)
    for user_id in sorted(users):  # EMP has no session history: the poller's records are all
        try:
            history = deps.partner.completed_sessions(user_id, deps.history_limit)
        except SessionUnavailable as error:
            report.errors += 1
            logger.error("session history unavailable", extra={"error": str(error)})
            continue
        for session in history:
            session_id = session.get("sessionId")
            if isinstance(session_id, str) and session_id and _due(session, since, now - deps.settle):
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


def session_text(session: dict[str, Any]) -> str:
    """The CDR `raw` of a session, exactly as the session poller writes it (so both copies of
    one CDR hash the same)."""
    return json.dumps(session, ensure_ascii=False, separators=(",", ":"))
