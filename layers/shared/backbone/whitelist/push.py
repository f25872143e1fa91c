"""One whitelist push attempt: lock, read, build, guard, send, audit. Pure orchestration: the key
table, the audit table and the OIOI client come in as small interfaces (no AWS, no HTTP here).

Every attempt ends in exactly one audit record, whatever happens, and the lock is always given
back; a crash in between leaves a lock that expires after the function's timeout.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from backbone.observability import logger
from backbone.timeutil import to_storage
from backbone.whitelist.build import BuiltWhitelist, build_whitelist
from backbone.whitelist.guards import Action, Verdict, evaluate
from backbone.whitelist.models import LastSuccess, Outcome, PushAttempt, PushRequest, RfidPostFailed
from backbone.whitelist.ports import AuditLog, WhitelistDependencies

IN_PROGRESS = "push already in progress"


def attempt_key(now: datetime, attempt_id: str) -> str:
    """The audit sort key: time first (history sorts by it), the attempt id keeps it unique."""
    return f"{to_storage(now)}#{attempt_id[:8]}"


def push_whitelist(request: PushRequest, deps: WhitelistDependencies, *, attempt_id: str) -> PushAttempt:
    """Run one attempt and return its audit record (also stored)."""
    now = deps.clock()
    base: dict[str, Any] = {
        "key": attempt_key(now, attempt_id),
        "at": now,
        "attempt_id": attempt_id,
        "trigger": request.trigger,
        "override": request.override,
        "reason": request.reason,
        "requested_by": request.requested_by,
    }
    holder = deps.audit.acquire_lock(attempt_id, request.trigger, now, deps.lock_ttl)
    if holder is not None:
        attempt = PushAttempt(
            **base,
            outcome=Outcome.LOCKED,
            message=f"{IN_PROGRESS}: {holder.trigger} push {holder.owner[:8]} started at "
            f"{to_storage(holder.acquired_at)}; its lock expires at {to_storage(holder.expires_at)}",
            last_success_age_seconds=_age(deps.audit.last_success(), now),
        )
        deps.audit.record(attempt)
        return attempt
    try:
        return _push_locked(request, deps, now, base)
    finally:
        deps.audit.release_lock(attempt_id)


def _push_locked(
    request: PushRequest, deps: WhitelistDependencies, now: datetime, base: dict[str, Any]
) -> PushAttempt:
    last = deps.audit.last_success()
    partner_identifier = deps.partner_identifier()
    try:
        built = build_whitelist(deps.keys.iter_whitelist_pages(now, deps.page_size), partner_identifier)
    except Exception as error:  # the read failed: audit it, then let the invocation fail (retried)
        deps.audit.record(
            PushAttempt(
                **base,
                outcome=Outcome.FAILED,
                message="reading the charging keys failed; nothing was sent",
                error=f"{type(error).__name__}: {error}"[:1000],
                last_success_age_seconds=_age(last, now),
            )
        )
        raise
    verdict = evaluate(
        built.count, built.sha256, last, now=now, override=request.override, policy=deps.policy
    )
    facts = base | _facts(built, last, verdict)
    if verdict.action is not Action.SEND:
        attempt = PushAttempt(
            **facts,
            outcome=_NOT_SENT[verdict.action],
            message=verdict.reason,
            last_success_age_seconds=_age(last, now),
        )
        deps.audit.record(attempt)
        return attempt
    try:
        sent = deps.sender.post_rfids(built.uids(), partner_identifier)
    except RfidPostFailed as error:
        logger.warning("rfid-post failed", extra={"status": error.status, "code": error.result_code})
        attempt = PushAttempt(
            **facts,
            outcome=Outcome.FAILED,
            message=f"rfid-post failed after {error.attempts} attempt(s); the receiver keeps its "
            "previous whitelist",
            result_code=error.result_code,
            attempts=error.attempts,
            duration_ms=round(error.duration * 1000, 1),
            error=str(error)[:1000],
            last_success_age_seconds=_age(last, now),
        )
        deps.audit.record(attempt)
        return attempt
    attempt = PushAttempt(
        **facts,
        outcome=Outcome.SENT,
        message=f"sent {built.count} UIDs ({verdict.reason})",
        result_code=sent.code,
        processed=sent.processed,
        attempts=sent.attempts,
        duration_ms=round(sent.duration * 1000, 1),
        last_success_age_seconds=0.0,
    )
    return deps.audit.record_sent(attempt, built.uids())


def retry_due(recent: Iterable[PushAttempt]) -> bool:
    """Whether the probe should push again: the newest attempt (newest first in `recent`) that
    is not LOCKED ended FAILED. A retry that fails keeps the retries going; any other outcome
    (a success, an unchanged skip, a guard's refusal an operator has to look at, or an
    operator's own push) ends them. LOCKED is skipped: another push was running."""
    for attempt in recent:
        if attempt.outcome is not Outcome.LOCKED:
            return attempt.outcome is Outcome.FAILED
    return False


def last_success_age(audit: AuditLog, now: datetime) -> float | None:
    """Seconds since the last successful push (None: never), for the age metric."""
    return _age(audit.last_success(), now)


_NOT_SENT = {
    Action.SKIP_UNCHANGED: Outcome.SKIPPED_UNCHANGED,
    Action.REFUSE_EMPTY: Outcome.REFUSED_EMPTY,
    Action.REFUSE_SHRINK: Outcome.REFUSED_SHRINK,
}


def _facts(built: BuiltWhitelist, last: LastSuccess | None, verdict: Verdict) -> dict[str, Any]:
    return {
        "count": built.count,
        "sha256": built.sha256,
        "keys_read": built.keys_read,
        "invalid_count": built.invalid_count,
        "duplicate_count": built.duplicate_count,
        "skipped": list(built.skipped),
        "payload_bytes": len(built.payload),
        "overridden": list(verdict.overridden),
        "previous_count": last.count if last else None,
        "previous_sha256": last.sha256 if last else None,
        "previous_at": last.at if last else None,
    }


def _age(last: LastSuccess | None, now: datetime) -> float | None:
    return None if last is None else max(0.0, round((now - last.at).total_seconds(), 3))
