"""The retry policy on its own: what is retried, how long it waits, and when it gives up."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backbone.partners.errors import (
    RETRY_AFTER_CEILING_SECONDS,
    BadRequest,
    PartnerError,
    PartnerUnavailable,
    ServerError,
    TooManyRequests,
    parse_retry_after,
)
from backbone.partners.retry import RetryPolicy, is_retryable

from .conftest import FakeTime

REQUEST = httpx.Request("GET", "https://partner.example/v1/thing?secret=no")


def _failing(*errors: Exception, value: str = "ok") -> tuple[Callable[[], str], list[int]]:
    """An attempt function that raises `errors` in turn, then returns `value`."""
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return value

    return attempt, calls


def _server_error(status: int = 503, retry_after: float | None = None) -> PartnerError:
    error_type = TooManyRequests if status == 429 else ServerError if status >= 500 else PartnerError
    return error_type(
        f"{status}", status=status, method="GET", url="https://partner.example/x", retry_after=retry_after
    )


# --- what is retried ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "idempotent", "expected"),
    [
        (httpx.ConnectError("refused", request=REQUEST), False, True),
        (httpx.ConnectTimeout("slow connect", request=REQUEST), False, True),
        (httpx.PoolTimeout("pool", request=REQUEST), False, True),
        (_server_error(429), False, True),
        (httpx.ReadTimeout("slow answer", request=REQUEST), False, False),
        (httpx.RemoteProtocolError("hung up", request=REQUEST), False, False),
        (_server_error(503), False, False),
        (_server_error(408), False, False),
        (httpx.ReadTimeout("slow answer", request=REQUEST), True, True),
        (httpx.ReadError("reset", request=REQUEST), True, True),
        (_server_error(500), True, True),
        (_server_error(408), True, True),
        (BadRequest("bad", status=400), True, False),
        (PartnerError("gone", status=410), True, False),
    ],
)
def test_given_a_failure_when_classified_then_only_safe_retries_are_allowed(
    error: Exception, idempotent: bool, expected: bool
) -> None:
    assert is_retryable(error, idempotent=idempotent) is expected


# --- back-off -------------------------------------------------------------------------------------


@given(
    attempt=st.integers(min_value=1, max_value=10_000),
    base=st.floats(min_value=0, max_value=10),
    cap=st.floats(min_value=0, max_value=60),
    seed=st.integers(),
)
def test_given_any_attempt_when_backing_off_then_delay_is_within_full_jitter_bounds(
    attempt: int, base: float, cap: float, seed: int
) -> None:
    policy = RetryPolicy(base_delay=base, max_delay=cap, jitter=random.Random(seed).uniform)
    delay = policy.backoff(attempt)
    assert 0.0 <= delay <= min(cap, base * 2 ** min(attempt - 1, 32)) + 1e-9


def test_given_attempts_when_backing_off_then_the_ceiling_doubles_up_to_max_delay() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0, jitter=lambda low, high: high)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


@given(retry_after=st.floats(min_value=0, max_value=1000), attempt=st.integers(1, 20), seed=st.integers())
def test_given_retry_after_when_computing_the_delay_then_it_is_never_shorter(
    retry_after: float, attempt: int, seed: int
) -> None:
    policy = RetryPolicy(jitter=random.Random(seed).uniform)
    assert policy.delay_after(attempt, _server_error(503, retry_after)) >= retry_after


# --- bounds ---------------------------------------------------------------------------------------


def test_given_a_transient_failure_when_run_then_it_retries_and_reports_attempts(fake_time: FakeTime) -> None:
    attempt, _calls = _failing(_server_error(503), _server_error(502))
    done = fake_time.policy().run(attempt, idempotent=True)
    assert done.value == "ok"
    assert done.attempts == 3
    assert fake_time.sleeps == [0.5, 1.0]
    assert done.duration == pytest.approx(1.5)


def test_given_failures_forever_when_run_then_attempts_are_bounded(fake_time: FakeTime) -> None:
    attempt, calls = _failing(*[_server_error(503)] * 10)
    with pytest.raises(PartnerUnavailable) as raised:
        fake_time.policy(max_attempts=3).run(attempt, idempotent=True)
    assert len(calls) == 3
    assert len(fake_time.sleeps) == 2
    assert raised.value.attempts == 3
    assert isinstance(raised.value.last_error, ServerError)
    assert raised.value.status == 503


def test_given_a_budget_when_attempts_are_slow_then_it_never_sleeps_past_the_deadline(
    fake_time: FakeTime,
) -> None:
    deadline = fake_time.now + 9.5
    attempt_starts: list[float] = []

    def slow_failure() -> str:
        attempt_starts.append(fake_time.now)
        fake_time.now += 4.0  # every attempt takes 4 s and fails
        raise httpx.ReadTimeout("slow", request=REQUEST)

    with pytest.raises(PartnerUnavailable) as raised:
        fake_time.policy(max_attempts=100, base_delay=1.0, max_delay=1.0, budget=9.5).run(
            slow_failure, idempotent=True
        )
    # 4 s + 1 s sleep + 4 s = 9 s: one more 1 s sleep would end past the 9.5 s deadline.
    assert raised.value.attempts == 2
    assert fake_time.sleeps == [1.0]
    assert all(start <= deadline for start in attempt_starts)
    assert isinstance(raised.value.last_error, httpx.ReadTimeout)


def test_given_retry_after_beyond_the_budget_when_first_attempt_fails_then_it_gives_up_at_once(
    fake_time: FakeTime,
) -> None:
    attempt, calls = _failing(_server_error(429, retry_after=120))
    with pytest.raises(TooManyRequests) as raised:
        fake_time.policy(budget=30).run(attempt, idempotent=False)
    assert len(calls) == 1
    assert fake_time.sleeps == []
    assert raised.value.retry_after == 120
    assert raised.value.transient


def test_given_retry_after_beyond_the_remaining_budget_when_retrying_then_unavailable_carries_it(
    fake_time: FakeTime,
) -> None:
    attempt, _ = _failing(_server_error(503, retry_after=5), _server_error(503, retry_after=60))
    with pytest.raises(PartnerUnavailable) as raised:
        fake_time.policy(budget=30).run(attempt, idempotent=True)
    assert fake_time.sleeps == [5]
    assert raised.value.retry_after == 60
    assert raised.value.attempts == 2


def test_given_a_non_retryable_error_when_run_then_it_is_raised_as_is_once(fake_time: FakeTime) -> None:
    error = BadRequest("bad", status=400)
    attempt, calls = _failing(error)
    with pytest.raises(BadRequest) as raised:
        fake_time.policy().run(attempt, idempotent=True)
    assert raised.value is error
    assert len(calls) == 1
    assert raised.value.attempts == 1


def test_given_a_read_timeout_on_a_non_idempotent_call_then_it_is_unavailable_without_retry(
    fake_time: FakeTime,
) -> None:
    attempt, calls = _failing(httpx.ReadTimeout("slow", request=REQUEST))
    with pytest.raises(PartnerUnavailable) as raised:
        fake_time.policy().run(attempt, idempotent=False)
    assert len(calls) == 1
    assert raised.value.method == "GET"
    assert raised.value.url == "https://partner.example/v1/thing"  # no query string


def test_given_invalid_settings_when_building_a_policy_then_it_refuses() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="budget"):
        RetryPolicy(budget=0)


# --- Retry-After ----------------------------------------------------------------------------------

NOW = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # already past: retry now
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
        ("999999999", RETRY_AFTER_CEILING_SECONDS),
    ],
)
def test_given_a_retry_after_header_when_parsed_then_seconds_are_returned(
    header: str | None, expected: float | None
) -> None:
    assert parse_retry_after(header, now=NOW) == expected


@given(seconds=st.integers(min_value=0, max_value=40_000))
def test_given_an_http_date_when_parsed_then_it_matches_the_delta_form(seconds: int) -> None:
    header = format_datetime(NOW + timedelta(seconds=seconds), usegmt=True)
    assert parse_retry_after(header, now=NOW) == parse_retry_after(str(seconds), now=NOW)
