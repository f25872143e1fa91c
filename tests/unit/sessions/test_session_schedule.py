"""The adaptive schedule: short while starting, doubling while charging, short after a stop."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sessionfakes import T0, at

from backbone.sessions.models import Status
from backbone.sessions.schedule import DEFAULT_POLICY, PollPolicy, PollState, next_wait


def waits_while(
    status: Status, since: datetime, polls: int, policy: PollPolicy = DEFAULT_POLICY
) -> list[int]:
    """The waits the poller chooses in `status`, poll after poll, from `since`."""
    now, waits = since, []
    for _ in range(polls):
        wait = next_wait(PollState(status=status, now=now, status_since=since, start_requested_at=T0), policy)
        waits.append(wait)
        now += timedelta(seconds=wait)
    return waits


def test_given_a_starting_session_when_polled_then_it_is_looked_at_every_ten_seconds() -> None:
    assert waits_while(Status.STARTING, T0, 4) == [10, 10, 10, 10]


def test_given_a_charging_session_then_waits_double_from_30_s_up_to_the_5_min_cap() -> None:
    assert waits_while(Status.STARTED, at(20), 7) == [30, 60, 120, 240, 300, 300, 300]


def test_given_a_completed_session_with_balance_processing_then_waits_grow_from_10_min_to_an_hour() -> None:
    state = PollState(
        status=Status.COMPLETE, now=at(100), status_since=at(100), start_requested_at=T0, completed_at=at(100)
    )
    assert next_wait(state) == 600
    later = PollState(
        status=Status.COMPLETE,
        now=at(100 + 7200),
        status_since=at(100),
        start_requested_at=T0,
        completed_at=at(100),
    )
    assert next_wait(later) == 3600


def test_given_a_stop_request_when_charging_for_hours_then_the_next_wait_is_short() -> None:
    state = PollState(
        status=Status.STARTED,
        now=at(7200),
        status_since=at(20),
        start_requested_at=T0,
        stop_requested_at=at(7200),
    )
    assert next_wait(state) == 15


def test_given_a_stop_request_long_ago_then_the_normal_schedule_is_back() -> None:
    state = PollState(
        status=Status.STARTED,
        now=at(7200),
        status_since=at(20),
        start_requested_at=T0,
        stop_requested_at=at(1000),
    )
    assert next_wait(state) == 300


def test_given_starting_near_the_start_timeout_then_the_poll_lands_on_the_timeout() -> None:
    state = PollState(status=Status.STARTING, now=at(175), status_since=T0, start_requested_at=T0)
    assert next_wait(state) == 5


def test_given_a_session_that_failed_to_start_then_late_polls_start_at_a_minute_and_grow() -> None:
    assert waits_while(Status.FAILED_TO_START, at(180), 4) == [60, 120, 240, 300]


def test_given_the_maximum_duration_is_near_then_the_wait_ends_on_it() -> None:
    policy = PollPolicy(poll_max_duration=3600)
    state = PollState(status=Status.STARTED, now=at(3500), status_since=at(20), start_requested_at=T0)
    assert next_wait(state, policy) == 100


statuses = st.sampled_from([Status.STARTING, Status.STARTED, Status.UNKNOWN, Status.FAILED_TO_START])
offsets = st.integers(min_value=0, max_value=200_000)


@given(status=statuses, since=offsets, elapsed=offsets, stop=st.none() | offsets)
def test_property_a_session_still_running_is_polled_at_least_every_max_wait(
    status: Status, since: int, elapsed: int, stop: int | None
) -> None:
    """Whatever the history, a running session is never left alone longer than the 5-min cap,
    so a completion is seen within it; and the wait is a positive whole number (SecondsPath)."""
    state = PollState(
        status=status,
        now=at(since + elapsed),
        status_since=at(since),
        start_requested_at=T0,
        stop_requested_at=None if stop is None else at(stop),
    )
    wait = next_wait(state)
    assert isinstance(wait, int)
    assert 1 <= wait <= DEFAULT_POLICY.poll_max_wait


@given(
    status=statuses,
    since=offsets,
    after_stop=st.integers(min_value=0, max_value=DEFAULT_POLICY.poll_stop_window - 1),
)
def test_property_after_a_stop_request_the_next_poll_comes_within_the_stop_wait(
    status: Status, since: int, after_stop: int
) -> None:
    stop = since + 10
    state = PollState(
        status=status,
        now=at(stop + after_stop),
        status_since=at(since),
        start_requested_at=T0,
        stop_requested_at=at(stop),
    )
    assert next_wait(state) <= DEFAULT_POLICY.poll_stop_wait
