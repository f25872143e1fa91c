"""The one retry policy for every partner call: exponential back-off with full jitter, honouring
Retry-After, bounded by attempts and by a time budget.

What is retried:
- idempotent requests: network errors, timeouts, 408, 429 and 5xx;
- non-idempotent requests (remote start, key create, order...): only failures where the request
  provably never reached the server (connect error, connect/pool timeout) and 429 (refused).
  A 5xx or read timeout may have been processed: resending could start a second session.

Hand-written rather than tenacity: the rules above are the whole policy, and clock, sleep and
jitter are plain callables so tests run instantly.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import httpx

from backbone.observability import logger
from backbone.partners.errors import PartnerError, PartnerUnavailable, TooManyRequests, is_transient, safe_url

T = TypeVar("T")

# The request never left us: resending cannot duplicate a side effect.
NOT_SENT_ERRORS: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_MAX_EXPONENT = 32  # keeps 2**n finite whatever the attempt number


@dataclass(frozen=True)
class Attempted(Generic[T]):
    """A successful call, with what it took: the whitelist push audits `attempts`."""

    value: T
    attempts: int
    duration: float


def is_retryable(error: Exception, *, idempotent: bool) -> bool:
    """May `error` be followed by another attempt of the same request?"""
    if isinstance(error, (*NOT_SENT_ERRORS, TooManyRequests)):
        return True
    # Anything else may have been processed: resent only when the request is idempotent.
    return idempotent and is_transient(error)


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts `max_attempts` times at most, and never sleeps past `budget` seconds after the
    first attempt started. A Retry-After longer than what is left ends the call at once, the
    error's `retry_after` telling the caller (e.g. via SQS visibility) when to try again."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    budget: float = 25.0
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    jitter: Callable[[float, float], float] = field(default=random.uniform, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.budget <= 0:
            raise ValueError("delays must not be negative and budget must be positive")

    @classmethod
    def no_retry(cls) -> RetryPolicy:
        """One attempt only, for requests where any retry could be harmful."""
        return cls(max_attempts=1)

    def backoff(self, attempt_number: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2^(n-1))]."""
        exponent = min(max(attempt_number - 1, 0), _MAX_EXPONENT)
        return self.jitter(0.0, min(self.max_delay, self.base_delay * 2**exponent))

    def delay_after(self, attempt_number: int, error: Exception) -> float:
        """How long to wait after failed attempt `attempt_number`: never less than Retry-After."""
        delay = self.backoff(attempt_number)
        retry_after = error.retry_after if isinstance(error, PartnerError) else None
        return delay if retry_after is None else max(delay, retry_after)

    def run(self, attempt: Callable[[], T], *, idempotent: bool) -> Attempted[T]:
        """Call `attempt` until it succeeds, fails for good, or the attempts or budget run out.

        Raises the typed error of a failure that is not retried (including a Retry-After beyond
        the budget on the first attempt), or `PartnerUnavailable` wrapping the last failure for
        network errors and retries exhausted. Either way the error carries `attempts`,
        `duration` and, where the partner sent one, `retry_after`.
        """
        started = self.clock()
        number = 0
        while True:
            number += 1
            try:
                value = attempt()
            except (PartnerError, httpx.TransportError) as error:
                elapsed = self.clock() - started
                retryable = is_retryable(error, idempotent=idempotent)
                delay = self.delay_after(number, error) if retryable else 0.0
                if not retryable or number >= self.max_attempts or delay > self.budget - elapsed:
                    final = _final_error(error, retryable=retryable, attempts=number, duration=elapsed)
                    if final is error:
                        raise
                    raise final from error
                logger.info(
                    "partner call failed, retrying",
                    extra={"attempt": number, "retry_in_s": round(delay, 3), "reason": describe(error)},
                )
                self.sleep(delay)
            else:
                return Attempted(value=value, attempts=number, duration=self.clock() - started)


def describe(error: Exception) -> str:
    """A short reason for logs: the status for HTTP errors, the exception type otherwise."""
    if isinstance(error, PartnerError) and error.status is not None:
        return str(error.status)
    return type(error).__name__


def _final_error(error: Exception, *, retryable: bool, attempts: int, duration: float) -> PartnerError:
    """The error the caller sees: network errors and retries exhausted after more than one attempt
    as `PartnerUnavailable`; anything else (400, or a 503 not worth retrying) as its typed self."""
    if isinstance(error, PartnerError) and not (retryable and attempts > 1):
        final = error
    else:
        method, url = _request_of(error)
        reason = f"gave up after {attempts} attempt(s)" if retryable else "failed"
        what = (
            str(error) if isinstance(error, PartnerError) else f"{method} {url}: {describe(error)}: {error}"
        )
        final = PartnerUnavailable(
            f"{reason} in {duration:.2f}s: {what}",
            last_error=error,
            method=method,
            url=url,
        )
    final.attempts = attempts
    final.duration = duration
    return final


def _request_of(error: Exception) -> tuple[str, str]:
    if isinstance(error, PartnerError):
        return error.method, error.url
    try:
        request = error.request if isinstance(error, httpx.RequestError) else None
    except RuntimeError:  # an httpx error raised without a request attached
        request = None
    return (request.method, safe_url(request.url)) if request else ("", "")
