"""The session poller's tasks: what each state of `statemachine/session_poller.asl.json` does.

    StartSession -> Wait -> Poll -> Wait -> Poll ... (SessionFinished / SessionTimedOut /
    SessionNotFound leave the loop through the ASL's Catch; anything else is recorded by
    RecordFailure and fails the execution).

Each task reads the session record, talks to the partner, and writes the record back only when
something changed; the event is published and the CDR sent before that write, so a retried task
repeats them rather than losing them (consumers see at-least-once delivery, with a `changeId`).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from backbone.cdr.envelope import CdrEnvelope
from backbone.errors import TemporaryFailure
from backbone.observability import MetricUnit, bind_correlation, logger, metrics, put_breakdown_metrics
from backbone.sessions.errors import (
    PartnerRetryable,
    SessionFinished,
    SessionNotFound,
    SessionRecordConflict,
    SessionTimedOut,
    SessionUnknown,
    StartOutcomeUnknown,
    StartRefused,
)
from backbone.sessions.models import (
    FINAL_BALANCES,
    FINAL_STATUSES,
    SessionRecord,
    Status,
    StatusChanged,
    charge_fingerprint,
)
from backbone.sessions.ports import ObservedSession, SessionStore, TaskDependencies
from backbone.sessions.schedule import PollPolicy, PollState, next_wait

CDR_SOURCE = "drive-api"  # CdrEnvelope's name for the Drive/EMP REST APIs (both modes)
_PARTNER_STATUSES = frozenset({Status.STARTING, Status.STARTED, Status.FAILED, Status.COMPLETE})
_ERROR_TEXT_LIMIT = 1000
# Where a session ends up (FAILED_TO_START may still turn STARTED late): `SessionsEnded` by status.
_END_STATUSES = FINAL_STATUSES | {Status.COMPLETE, Status.FAILED_TO_START}


class TaskInput(BaseModel):
    """The `Parameters` every Lambda task of the ASL receives."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, frozen=True)

    action: Literal["start", "poll", "record_failure"]
    request_id: str = Field(min_length=1)
    execution_arn: str = ""
    error: dict[str, Any] | None = None  # the Catch's {Error, Cause} for record_failure


# Raised on purpose: how a task tells the state machine to leave the loop or to retry. Counted
# (`SessionTaskSignals`) so the function's Errors alarm can tell them from real failures.
ASL_SIGNALS = (SessionFinished, SessionTimedOut, SessionNotFound, PartnerRetryable, SessionRecordConflict)


def run_task(task: TaskInput, deps: TaskDependencies) -> dict[str, Any]:
    """Dispatch one task of the state machine."""
    try:
        if task.action == "start":
            return start_session(task.request_id, deps)
        if task.action == "poll":
            return poll_session(task.request_id, deps)
        return record_failure(task.request_id, task.error or {}, deps)
    except ASL_SIGNALS:
        metrics.add_metric(name="SessionTaskSignals", unit=MetricUnit.Count, value=1)
        raise


def start_session(request_id: str, deps: TaskDependencies) -> dict[str, Any]:
    """Remote start, then record the partner's session id as STARTING.

    When the record already has a session id - a retried start, or the execution a stop request
    hands over to - the session is polled instead: starting twice could charge twice.
    """
    now = deps.clock()
    record = _load(deps.store, request_id)
    if record.session_id is not None:
        return _poll(request_id, deps, now)
    try:
        session_id = deps.partner.start(record)
    except StartRefused as refused:
        failed = record.with_change(
            now,
            status=Status.FAILED_TO_START,
            note="partner refused the remote start",
            error=_text(refused),
            start_requested_at=now,
        )
        _commit(deps, record, failed)
        raise SessionFinished(f"remote start refused: {refused}") from refused
    except StartOutcomeUnknown as unknown:
        return _start_outcome_unknown(record, unknown, deps, now)
    started = record.with_change(
        now,
        status=Status.STARTING,
        session_id=session_id,
        start_requested_at=now,
        note="remote start accepted",
    )
    bind_correlation(session_id=session_id)
    _commit(deps, record, started)
    logger.info("remote start accepted", extra={"session_id": session_id})
    return _continue(started, now, deps.policy)


def poll_session(request_id: str, deps: TaskDependencies) -> dict[str, Any]:
    """Get the session from the partner, record what changed, decide when to look again."""
    return _poll(request_id, deps, deps.clock())


def _poll(request_id: str, deps: TaskDependencies, now: datetime) -> dict[str, Any]:
    record = _load(deps.store, request_id)
    if finished(record, now, deps.policy):
        raise SessionFinished(f"session already {record.status}")
    metrics.add_metric(name="SessionPolls", unit=MetricUnit.Count, value=1)
    if record.session_id is None and record.start_outcome_unknown:
        return _look_for_session(record, deps, now)
    try:
        observed = deps.partner.get(record)
    except SessionNotFound as gone:
        missing = record.with_change(
            now, status=Status.NOT_FOUND, note="partner answered 404 for the session"
        )
        _commit(deps, record, missing)
        raise SessionNotFound(f"partner does not know session {record.session_id}") from gone
    after = observe(record, observed, now, deps.policy)
    after = _with_cdr(deps, after, observed, now)
    if after is not record:
        _commit(deps, record, after)
    if after.status == Status.TIMED_OUT:
        raise SessionTimedOut(
            f"session {record.session_id} not complete after {deps.policy.poll_max_duration} s"
        )
    if finished(after, now, deps.policy):
        raise SessionFinished(f"session {after.status}, balance {after.balance_status}")
    return _continue(after, now, deps.policy)


def _start_outcome_unknown(
    record: SessionRecord, unknown: StartOutcomeUnknown, deps: TaskDependencies, now: datetime
) -> dict[str, Any]:
    """The remote start failed in a way that may have started a session. Never start again (it
    could charge twice): follow the session the failed answer named, or look for it (Drive:
    the user's session history), or, where nothing can be looked up, record ERROR for a person."""
    metrics.add_metric(name="SessionStartsUnknown", unit=MetricUnit.Count, value=1)
    logger.warning("remote start outcome unknown", extra={"error": _text(unknown)})
    marks: dict[str, Any] = {
        "start_requested_at": now,
        "start_outcome_unknown": True,
        "error": _text(unknown),
    }
    if unknown.session_id is not None:
        named = record.with_change(
            now,
            status=Status.STARTING,
            session_id=unknown.session_id,
            note=f"remote start outcome unknown; its answer named session {unknown.session_id}: following it",
            **marks,
        )
        bind_correlation(session_id=unknown.session_id)
        _commit(deps, record, named)
        return _continue(named, now, deps.policy)
    if not deps.partner.can_find_started(record):
        raise StartOutcomeUnknown(
            f"{unknown}; the EMP API cannot list sessions by key or connector, so whether one "
            f"started on {record.connector_id} must be checked at Plugsurfing"
        ) from unknown
    looking = record.with_change(
        now,
        status=Status.START_UNKNOWN,
        note="remote start outcome unknown: looking for the session in the partner's history",
        **marks,
    )
    _commit(deps, record, looking)
    return _continue(looking, now, deps.policy)


def _look_for_session(record: SessionRecord, deps: TaskDependencies, now: datetime) -> dict[str, Any]:
    """A start with an unknown outcome: adopt the session it started (on its connector, since its
    remote start, not another record's), or record that none exists once the start timeout has
    passed (FAILED_TO_START; still looked for until the late-start window closes)."""
    metrics.add_metric(name="SessionSearches", unit=MetricUnit.Count, value=1)
    for candidate in deps.partner.find_started(record):
        session_id = candidate.session_id or ""
        owner = deps.store.find_by_session_id(session_id)
        if owner is not None and owner.request_id != record.request_id:
            continue
        adopted = record.with_change(
            now,
            session_id=session_id,
            note=f"adopted session {session_id}: in the partner's history after an unknown start outcome",
            error=None,
        )
        bind_correlation(session_id=session_id)
        metrics.add_metric(name="SessionsAdopted", unit=MetricUnit.Count, value=1)
        logger.info("session adopted after an unknown start outcome", extra={"session_id": session_id})
        after = observe(adopted, candidate, now, deps.policy)
        after = _with_cdr(deps, after, candidate, now)
        _commit(deps, record, after)
        if finished(after, now, deps.policy):
            raise SessionFinished(f"adopted session {after.status}, balance {after.balance_status}")
        return _continue(after, now, deps.policy)
    started_at = record.start_requested_at or record.created_at
    if record.status == Status.START_UNKNOWN and now >= started_at + timedelta(
        seconds=deps.policy.poll_start_timeout
    ):
        none = record.with_change(
            now,
            status=Status.FAILED_TO_START,
            note=(
                f"no session on {record.connector_id} in the partner's history since the remote start: "
                "none was started"
            ),
        )
        _commit(deps, record, none)
        record = none
    if finished(record, now, deps.policy):
        raise SessionFinished(f"no session found for {record.connector_id}")
    return _continue(record, now, deps.policy)


def record_failure(request_id: str, error: dict[str, Any], deps: TaskDependencies) -> dict[str, Any]:
    """The ASL's Catch landed here: write the error into the record (never a silent stop).

    A COMPLETE session keeps its status (only the balance follow-up failed); any other becomes
    ERROR. Returns normally so the execution can go on to its Fail state.
    """
    now = deps.clock()
    detail = _error_detail(error)
    metrics.add_metric(name="SessionFailuresRecorded", unit=MetricUnit.Count, value=1)
    record = deps.store.get(request_id)
    if record is None:
        logger.error("poller failed for a request without record", extra={"error": detail})
        return {"requestId": request_id, "recorded": False}
    bind_correlation(session_id=record.session_id)
    status = Status.COMPLETE if record.status == Status.COMPLETE else Status.ERROR
    failed = record.with_change(now, status=status, note=f"poller failed: {detail[:200]}", error=detail)
    _commit(deps, record, failed)
    logger.error("poller failure recorded", extra={"error": detail, "status": status})
    return {"requestId": request_id, "recorded": True, "status": status}


def observe(
    record: SessionRecord, observed: ObservedSession, now: datetime, policy: PollPolicy
) -> SessionRecord:
    """The record after seeing `observed` (the same object when nothing changed).

    Adds our verdicts to the partner's status: FAILED_TO_START when STARTING outlasts the start
    timeout (a later STARTED/COMPLETE still wins), TIMED_OUT past the maximum duration.
    """
    reported = Status(observed.status) if observed.status in _PARTNER_STATUSES else Status.UNKNOWN
    status = reported
    note = f"partner reported status {observed.status!r}" if reported == Status.UNKNOWN else None
    started_at = record.start_requested_at or record.created_at
    if reported == Status.STARTING and (
        record.status == Status.FAILED_TO_START
        or now >= started_at + timedelta(seconds=policy.poll_start_timeout)
    ):
        status = Status.FAILED_TO_START
        note = f"still STARTING {int((now - started_at).total_seconds())} s after the remote start"
    if status not in (Status.COMPLETE, Status.FAILED) and now >= started_at + timedelta(
        seconds=policy.poll_max_duration
    ):
        status, note = Status.TIMED_OUT, f"not complete within {policy.poll_max_duration} s"
    balance = observed.balance_status if status == Status.COMPLETE else record.balance_status
    if status == record.status and balance == record.balance_status:
        return record
    completed = {"completed_at": now} if status == Status.COMPLETE and record.completed_at is None else {}
    return record.with_change(now, status=status, balance_status=balance, note=note, **completed)


def finished(record: SessionRecord, now: datetime, policy: PollPolicy) -> bool:
    """Nothing left to follow: a final status, a settled (or long-followed) balance, or a start
    that never came within the late-start window."""
    if record.status in FINAL_STATUSES:
        return True
    if record.status == Status.COMPLETE:
        completed_at = record.completed_at or record.status_since
        balance_window_over = now >= completed_at + timedelta(seconds=policy.poll_balance_window)
        return record.balance_status in FINAL_BALANCES or balance_window_over
    if record.status == Status.FAILED_TO_START:
        started_at = record.start_requested_at or record.created_at
        return now >= started_at + timedelta(seconds=policy.poll_late_start_window)
    return False


def poll_state(record: SessionRecord, now: datetime) -> PollState:
    return PollState(
        status=record.status,
        now=now,
        status_since=record.status_since,
        start_requested_at=record.start_requested_at or record.created_at,
        stop_requested_at=record.stop_requested_at,
        completed_at=record.completed_at,
    )


def _continue(record: SessionRecord, now: datetime, policy: PollPolicy) -> dict[str, Any]:
    """The task output the ASL's Wait reads (`SecondsPath: $.waitSeconds`)."""
    wait = next_wait(poll_state(record, now), policy)
    return {"requestId": record.request_id, "status": record.status, "waitSeconds": wait}


def _with_cdr(
    deps: TaskDependencies, record: SessionRecord, observed: ObservedSession, now: datetime
) -> SessionRecord:
    """Send the CDR of a COMPLETE session once, and again only if the partner changed it beyond
    its payment state: ingestion stores that as a correction. Balance changes alone send nothing."""
    if record.status != Status.COMPLETE:
        return record
    fingerprint = charge_fingerprint(observed.data)
    if fingerprint == record.cdr_fingerprint:
        return record
    envelope = CdrEnvelope(
        source=CDR_SOURCE,
        partner_id=deps.cdr_partner_id,
        received_at=now,
        raw=observed.raw,
        user_id=record.user_id,  # Drive: makes the CDR findable by driver; EMP has none
    )
    try:
        deps.cdrs.send(envelope)
    except TemporaryFailure as error:
        # Nothing was queued and the record is not written: the ASL's Retry runs the poll again,
        # which sends the CDR again.
        raise PartnerRetryable(f"the CDR queue did not take the CDR: {error}") from error
    metrics.add_metric(name="SessionCdrsSent", unit=MetricUnit.Count, value=1)
    note = "CDR sent" if record.cdr_fingerprint is None else "CDR re-sent: the partner changed the charge"
    return record.with_change(now, note=note, cdr_sent_at=now, cdr_fingerprint=fingerprint)


def _commit(deps: TaskDependencies, before: SessionRecord, after: SessionRecord) -> None:
    """Publish the status change (if any), then write the record."""
    if (before.status, before.balance_status) != (after.status, after.balance_status):
        added = after.history[len(before.history) :] or after.history[-1:]
        change = StatusChanged.between(before, after, note=added[0].note if added else None)
        deps.events.publish(change)
        metrics.add_metric(name="SessionStatusChanges", unit=MetricUnit.Count, value=1)
        if after.status != before.status and after.status in _END_STATUSES:
            put_breakdown_metrics({"status": after.status.value}, ("SessionsEnded", MetricUnit.Count, 1))
        logger.info(
            "session status changed",
            extra={"from": before.status, "to": after.status, "balance": after.balance_status},
        )
    deps.store.save(after)


def _load(store: SessionStore, request_id: str) -> SessionRecord:
    record = store.get(request_id)
    if record is None:
        raise SessionUnknown(request_id)
    bind_correlation(session_id=record.session_id)  # the partner's id, once remote start answered
    return record


def _error_detail(error: dict[str, Any]) -> str:
    """`Error: message` from the Catch's {Error, Cause}; a Lambda's Cause is JSON with errorMessage."""
    name = str(error.get("Error", "Unknown"))
    cause = error.get("Cause")
    message = cause
    if isinstance(cause, str):
        try:
            parsed = json.loads(cause)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict) and "errorMessage" in parsed:
            message = parsed["errorMessage"]
    return _text(f"{name}: {message}" if message else name)


def _text(value: object) -> str:
    return str(value)[:_ERROR_TEXT_LIMIT]
