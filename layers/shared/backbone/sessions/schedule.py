"""Adaptive polling: how long the state machine waits before it looks at a session again.

Every poll costs two Step Functions state transitions (Wait + Poll), so waits are as long as the
promises allow: a start is seen within `poll_starting_wait` seconds, a completion within
`poll_max_wait` (5 min by default), and after a stop request the session is polled every
`poll_stop_wait` seconds. `next_wait` is a pure function of the session's timestamps, so a retried
task or a hand-over execution computes the same schedule. benchmarks/session_poller.py measures it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from backbone.sessions.models import Status

Seconds = int


class PollPolicy(BaseModel):
    """Polling knobs, in seconds. A settings mixin: each field is read from the environment
    variable of the same name in upper case (e.g. `POLL_MAX_WAIT`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    poll_starting_wait: Seconds = Field(default=10, ge=1)
    """Wait while STARTING: bounds how late a start is seen."""
    poll_started_wait: Seconds = Field(default=30, ge=1)
    """First wait once STARTED; doubles with every poll up to `poll_max_wait`."""
    poll_max_wait: Seconds = Field(default=300, ge=1)
    """Longest wait while charging: bounds how late a completion is seen (5 min)."""
    poll_stop_wait: Seconds = Field(default=15, ge=1)
    """Wait after a stop request, until COMPLETE or `poll_stop_window` has passed."""
    poll_stop_window: Seconds = Field(default=900, ge=0)
    poll_start_timeout: Seconds = Field(default=180, ge=1)
    """STARTING for longer than this is recorded as FAILED_TO_START..."""
    poll_late_start_wait: Seconds = Field(default=60, ge=1)
    """...and then polled with waits from this (doubling up to `poll_max_wait`)..."""
    poll_late_start_window: Seconds = Field(default=1800, ge=0)
    """...until this long after the remote start, in case the partner reports a late start."""
    poll_max_duration: Seconds = Field(default=86_400, ge=60)
    """A session not COMPLETE this long after its remote start is recorded as TIMED_OUT."""
    poll_balance_wait: Seconds = Field(default=600, ge=1)
    """After COMPLETE, while the balance is PROCESSING: first wait, doubling..."""
    poll_balance_max_wait: Seconds = Field(default=3600, ge=1)
    """...up to this..."""
    poll_balance_window: Seconds = Field(default=86_400, ge=0)
    """...for at most this long after completion."""


DEFAULT_POLICY = PollPolicy()


@dataclass(frozen=True)
class PollState:
    """What the schedule depends on: the session's status and timestamps, and the time now."""

    status: Status
    now: datetime
    status_since: datetime
    start_requested_at: datetime
    stop_requested_at: datetime | None = None
    completed_at: datetime | None = None


def next_wait(state: PollState, policy: PollPolicy = DEFAULT_POLICY) -> Seconds:
    """Seconds to wait before the next poll (at least 1).

    Growing waits double without remembering the previous one: with waits w, 2w, 4w... the time
    spent in a status after k polls is w(2^k - 1), so the next wait is `w + time in status`.
    """
    in_status = _seconds(state.now - state.status_since)
    if state.status == Status.COMPLETE:
        since_complete = _seconds(state.now - (state.completed_at or state.status_since))
        return _growing(policy.poll_balance_wait, since_complete, policy.poll_balance_max_wait)
    if state.status in (Status.REQUESTED, Status.STARTING, Status.START_UNKNOWN):
        wait = policy.poll_starting_wait
        start_deadline = state.start_requested_at + timedelta(seconds=policy.poll_start_timeout)
        wait = min(wait, _until(state.now, start_deadline))  # be there when it becomes late
    elif state.status == Status.FAILED_TO_START:
        wait = _growing(policy.poll_late_start_wait, in_status, policy.poll_max_wait)
    else:  # STARTED, UNKNOWN
        wait = _growing(policy.poll_started_wait, in_status, policy.poll_max_wait)
    if state.stop_requested_at is not None:
        since_stop = _seconds(state.now - state.stop_requested_at)
        if since_stop < policy.poll_stop_window:
            wait = min(wait, policy.poll_stop_wait)
    deadline = state.start_requested_at + timedelta(seconds=policy.poll_max_duration)
    return max(1, min(wait, _until(state.now, deadline)))


def _growing(first: Seconds, elapsed: Seconds, cap: Seconds) -> Seconds:
    return max(1, min(cap, first + max(0, elapsed)))


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


def _until(now: datetime, moment: datetime) -> Seconds:
    """Whole seconds from now to moment, at least 1 (a Wait of 0 would spin)."""
    return max(1, int((moment - now).total_seconds() + 0.999))
