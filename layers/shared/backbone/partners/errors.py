"""Typed errors for calls to Plugsurfing, and the one function that maps a response to them.

Callers catch by meaning (`NotFound`, `Conflict`, `PartnerUnavailable`) instead of reading status
codes. Every error carries what an operator needs (status, parsed body, OIOI result code, method,
URL without query) and never a secret: API keys travel in headers, which are not kept here. Its
message and URL name no driver either (key and user ids masked, `backbone.privacy.masking`):
they reach log lines, stored `last_error` texts and X-Ray, which records every exception that
escapes a traced function.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from backbone.oioi.codes import AnyResultCode, is_success, parse_code
from backbone.privacy.masking import mask_text, scrub_path

# Longest Retry-After we pass on: SQS's maximum visibility timeout (12 h), so a caller can hand
# `retry_after` straight to ChangeMessageVisibility; anything longer is a partner mistake.
RETRY_AFTER_CEILING_SECONDS = 43_200.0


class PartnerError(Exception):
    """A call to a partner failed. `attempts` and `duration` are set by the retry policy."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: Any = None,
        oioi_code: int | None = None,
        method: str = "",
        url: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.oioi_code = oioi_code
        self.method = method
        self.url = url
        self.retry_after = retry_after
        self.attempts = 0
        self.duration = 0.0

    @property
    def transient(self) -> bool:
        """Worth trying again later: see `is_transient`."""
        return is_transient(self)

    @property
    def detail(self) -> str | None:
        """The partner's own words: OIOI's `error` property, or a REST `message`."""
        return error_detail(self.body)


class BadRequest(PartnerError):
    """400: our request is malformed; retrying the same request cannot help."""


class Forbidden(PartnerError):
    """401/403: the API key is wrong, rotated, or not allowed on this resource."""


class NotFound(PartnerError):
    """404: the user, key, session, order or receipt does not exist."""


class Conflict(PartnerError):
    """409: e.g. charging key already activated / in use."""


class TooManyRequests(PartnerError):
    """429: the partner refused the request; `retry_after` says when to come back (if known)."""


class ServerError(PartnerError):
    """5xx: the partner failed; for a non-idempotent request the outcome is unknown."""


class PartnerUnavailable(PartnerError):
    """Network error, timeout, or retries exhausted. `last_error` is the final failure (an httpx
    exception or a typed error such as `ServerError`); status, body and retry_after are copied
    from it so a caller can delay (e.g. SQS visibility) without digging."""

    def __init__(self, message: str, *, last_error: Exception, method: str = "", url: str = "") -> None:
        last = last_error if isinstance(last_error, PartnerError) else None
        super().__init__(
            message,
            status=last.status if last else None,
            body=last.body if last else None,
            oioi_code=last.oioi_code if last else None,
            method=last.method if last else method,
            url=last.url if last else url,
            retry_after=last.retry_after if last else None,
        )
        self.last_error = last_error


class OioiRejected(PartnerError):
    """HTTP 200, but the OIOI `result.code` is not a success (0xx), e.g. rfid-post answered 100."""

    @property
    def result_code(self) -> AnyResultCode | None:
        return None if self.oioi_code is None else parse_code(self.oioi_code)


class RepeatedCursor(PartnerError):
    """The partner handed back a cursor it had already given: paging would never end."""


_ERROR_BY_STATUS: dict[int, type[PartnerError]] = {
    400: BadRequest,
    401: Forbidden,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    429: TooManyRequests,
}


def error_from_response(response: httpx.Response, *, check_oioi_result: bool = False) -> PartnerError | None:
    """The typed error `response` stands for, or None when it is a success.

    With `check_oioi_result`, a 2xx whose OIOI `result` is present but not a 0xx code is an
    `OioiRejected`: OIOI reports business failures inside an HTTP 200. A 2xx without `result`
    is a success: the OIOI document says result codes are "not part of the OIOI response, yet"
    (the caller logs it, see `has_oioi_result`).
    """
    body = parsed_body(response)
    code = oioi_code_of(body)
    detail = mask_text(error_detail(body) or "no detail")
    method, url = response.request.method, safe_url(response.request.url)
    status = response.status_code
    if 200 <= status < 300:
        if not check_oioi_result or not has_oioi_result(body) or (code is not None and is_success(code)):
            return None
        reason = "no result code" if code is None else f"result code {code:03d}"
        return OioiRejected(
            f"{method} {url} answered {status} with {reason}: {detail}",
            status=status,
            body=body,
            oioi_code=code,
            method=method,
            url=url,
        )
    error_type = ServerError if status >= 500 else _ERROR_BY_STATUS.get(status, PartnerError)
    return error_type(
        f"{method} {url} answered {status}: {detail}",
        status=status,
        body=body,
        oioi_code=code,
        method=method,
        url=url,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


def parsed_body(response: httpx.Response) -> Any:
    """JSON if the body is JSON, the text otherwise, None when empty."""
    if not response.content:
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text


def has_oioi_result(body: Any) -> bool:
    """Whether an OIOI body carries a `result` at all (many answers do not, yet)."""
    return isinstance(body, dict) and body.get("result") is not None


def oioi_code_of(body: Any) -> int | None:
    """`result.code` of an OIOI body, if there is a readable one."""
    result = body.get("result") if isinstance(body, dict) else None
    if not isinstance(result, dict) or "code" not in result:
        return None
    try:
        return int(parse_code(result["code"]))
    except ValueError:
        return None


def error_detail(body: Any) -> str | None:
    """OIOI puts the reason of a 4xx in `error`; REST APIs tend to use `message`."""
    if isinstance(body, dict):
        for key in ("error", "message"):
            if body.get(key):
                return str(body[key])
        result = body.get("result")
        if isinstance(result, dict) and result.get("message"):
            return str(result["message"])
        return None
    if isinstance(body, str) and body.strip():
        return body.strip()[:200]
    return None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds ("120") or an HTTP-date.

    A date in the past means "now" (0); unreadable values are ignored (None); values are capped
    at `RETRY_AFTER_CEILING_SECONDS`.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:  # HTTP-dates are GMT by definition
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_CEILING_SECONDS)


def safe_url(url: httpx.URL) -> str:
    """The URL without query, user info, key or user ids: enough to say where, never a
    credential nor a driver (`/v1/users/[user]/charging-keys/[key]`)."""
    return scrub_path(str(url.copy_with(query=None, fragment=None, username=None, password=None)))


NO_ANSWER_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)
"""The partner did not answer (a bad URL or proxy setting is not among them: it fails again)."""
CALL_FAILURES: tuple[type[Exception], ...] = (PartnerError, httpx.TransportError)
"""Everything a partner call raises when it fails: catch these, then ask `is_transient`."""


def is_transient(error: BaseException) -> bool:
    """The one rule for "worth trying again later" (by a retry, an SQS redelivery, a Step
    Functions Retry): no answer (`NO_ANSWER_ERRORS`, or our `PartnerUnavailable` after the
    retries), 408, 429 and 5xx. Anything else will fail the same way again."""
    if isinstance(error, (*NO_ANSWER_ERRORS, PartnerUnavailable, TooManyRequests, ServerError)):
        return True
    return (
        isinstance(error, PartnerError)
        and error.status is not None
        and (error.status in (408, 429) or error.status >= 500)
    )
