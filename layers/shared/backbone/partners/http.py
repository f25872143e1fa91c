"""`PartnerHttpClient`: httpx with our timeouts, the retry policy, JSON in/out and typed errors.

Every call is logged with method, path, status, attempt and latency; never headers, query or
bodies, so API keys cannot leak into logs. Keys are set per request by `ApiKeyAuth`. Paths are
logged, handed to hooks and traced with key and user ids masked (`scrub_path`): Plugsurfing's
paths name the driver's key and user (docs/privacy.md, "Logs and traces").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.models import http as xray_http
from aws_xray_sdk.ext.util import get_hostname, inject_trace_header

from backbone.observability import logger, tracer
from backbone.partners.errors import PartnerError, error_from_response, parsed_body, safe_url
from backbone.partners.retry import RetryPolicy, describe
from backbone.privacy.masking import scrub_path

DEFAULT_CONNECT_TIMEOUT = 3.0
DEFAULT_READ_TIMEOUT = 10.0
# Methods whose repetition has the same effect as one call (RFC 9110); POST and PATCH are not.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

ApiKey = str | Callable[[], str]
"""An API key, or a function returning the current one (e.g. a cached secret lookup)."""


class ApiKeyAuth(httpx.Auth):
    """Puts the API key in one header when each request is sent. Reading it per request (from a
    cached secret) lets a rotated key take effect without rebuilding the client's pool."""

    def __init__(self, header: str, key: ApiKey, *, prefix: str = "") -> None:
        self._header = header
        self._key = key
        self._prefix = prefix

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        key = self._key if isinstance(self._key, str) else self._key()
        request.headers[self._header] = f"{self._prefix}{key}"
        yield request

    def __repr__(self) -> str:
        return f"ApiKeyAuth(header={self._header!r})"


@dataclass(frozen=True)
class PartnerResponse:
    """A successful call: `data` is the parsed JSON (text if not JSON, None if empty)."""

    status: int
    data: Any
    attempts: int
    duration: float


@dataclass(frozen=True)
class CallRecord:
    """One logical call (all its attempts), handed to the `on_call` hook, e.g. for a metric."""

    method: str
    path: str
    status: int | None
    attempts: int
    duration: float
    ok: bool
    api: str = ""
    """The API family of the client that made the call (e.g. "emp", "drive"), if it says."""


CallHook = Callable[[CallRecord], None]


class TracedTransport(httpx.BaseTransport):
    """Each request as an X-Ray `remote` subsegment, as aws_xray_sdk's httpx patch records it
    (method, URL, status; the trace header sent on), but with the URL's key and user ids masked:
    the patch records `request.url` as it is, and X-Ray keeps it for 30 days out of reach of
    our log redaction. Used instead of `tracer.patch(["httpx"])`."""

    def __init__(self, inner: httpx.BaseTransport, recorder: Any = xray_recorder) -> None:
        self._inner = inner
        self._recorder = recorder

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._recorder.in_subsegment(get_hostname(str(request.url)), namespace="remote") as subsegment:
            if subsegment is not None:
                subsegment.put_http_meta(xray_http.METHOD, request.method)
                subsegment.put_http_meta(xray_http.URL, safe_url(request.url))
                inject_trace_header(request.headers, subsegment)
            response = self._inner.handle_request(request)
            if subsegment is not None:
                subsegment.put_http_meta(xray_http.STATUS, response.status_code)
            return response

    def close(self) -> None:
        self._inner.close()


def traced(transport: httpx.BaseTransport | None) -> httpx.BaseTransport | None:
    """`transport` (httpx's default if None) wrapped in `TracedTransport` when tracing is on;
    as it is when off (tests, the local stack), so nothing changes there."""
    if tracer.disabled:
        return transport
    return TracedTransport(transport or httpx.HTTPTransport())


class PartnerHttpClient:
    """Sync client (Lambda handlers are sync); build once per process to reuse connections."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        retry_policy: RetryPolicy | None = None,
        check_oioi_result: bool = False,
        on_call: CallHook | None = None,
        transport: httpx.BaseTransport | None = None,
        api: str = "",
    ) -> None:
        self.api = api
        self._client = httpx.Client(
            base_url=base_url,
            auth=auth,
            headers={"Accept": "application/json", **(headers or {})},
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            transport=traced(transport),
        )
        self.retry_policy = retry_policy or RetryPolicy()
        self._check_oioi_result = check_oioi_result
        self._on_call = on_call

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int | None] | None = None,
        idempotent: bool | None = None,
        idempotency_key: str | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> PartnerResponse:
        """Send one logical request, retried per the policy; raise a typed `PartnerError`.

        `idempotent` defaults to the method's nature (POST/PATCH: no). A caller may pass True for a
        POST it knows to be safe, or an `idempotency_key` (sent as `Idempotency-Key`), which also
        makes the request retryable. `None` query values are left out.
        """
        method = method.upper()
        shown = scrub_path(path)  # what logs and hooks get: no key or user id
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS or bool(idempotency_key)
        query = {name: value for name, value in (params or {}).items() if value is not None}
        attempt_number = 0

        def attempt() -> httpx.Response:
            nonlocal attempt_number
            attempt_number += 1
            started = time.perf_counter()
            try:
                response = self._client.request(method, path, json=json, params=query, headers=headers)
            except httpx.TransportError as error:
                self._log_attempt(method, shown, attempt_number, started, outcome=describe(error))
                raise
            self._log_attempt(method, shown, attempt_number, started, outcome=str(response.status_code))
            failure = error_from_response(response, check_oioi_result=self._check_oioi_result)
            if failure is not None:
                raise failure
            return response

        policy = retry_policy or self.retry_policy
        try:
            done = policy.run(attempt, idempotent=idempotent)
        except PartnerError as error:
            self._finish(
                CallRecord(
                    method, shown, error.status, error.attempts, error.duration, ok=False, api=self.api
                )
            )
            raise
        status = done.value.status_code
        self._finish(CallRecord(method, shown, status, done.attempts, done.duration, ok=True, api=self.api))
        return PartnerResponse(status, parsed_body(done.value), done.attempts, done.duration)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    @staticmethod
    def _log_attempt(method: str, path: str, attempt: int, started: float, *, outcome: str) -> None:
        latency_ms = round((time.perf_counter() - started) * 1000, 1)
        logger.debug(
            "partner attempt",
            extra={
                "method": method,
                "path": path,
                "attempt": attempt,
                "outcome": outcome,
                "latency_ms": latency_ms,
            },
        )

    def _finish(self, record: CallRecord) -> None:
        fields = {
            "method": record.method,
            "path": record.path,
            "status": record.status,
            "attempts": record.attempts,
            "latency_ms": round(record.duration * 1000, 1),
        }
        if record.ok:
            logger.info("partner call", extra=fields)
        else:
            logger.warning("partner call failed", extra=fields)
        if self._on_call is not None:
            try:
                self._on_call(record)
            except Exception:  # a metrics hook must never fail the partner call itself
                logger.exception("partner call hook failed")
