"""From request body to answer: size and encoding checks, one message per body, the caller's
permission for it, validation, then the module of that message.

Every refusal is a `DomainError` raised before anything is written; `responses.error_answer`
turns it into the response. Every outcome is counted (`OioiMessages`, by message and result code).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from backbone.observability import MetricUnit, bind_correlation, put_breakdown_metrics
from backbone.oioi.models import (
    OIOI_MESSAGE_NAMES,
    ConnectorPostStatus,
    RfidVerify,
)
from backbone.oioi.wire import (
    InvalidMessage,
    MalformedMessage,
    UnknownMessage,
    UnsupportedMessage,
    loads,
    split_envelope,
)
from backbone.receiver import connector_post_status, rfid_verify, session_post, station_post
from backbone.receiver.access import Caller
from backbone.receiver.errors import BodyTooLarge, NotAllowed
from backbone.receiver.ports import Dependencies, Request
from backbone.receiver.responses import Answer, error_answer

MAX_BODY_BYTES = 64 * 1024
"""Far above any OIOI message (a station with 99 connectors is ~15 KiB) and low enough that a
session-post, JSON-escaped inside its queue envelope, always fits an SQS message (256 KiB)."""

M = TypeVar("M")


@dataclass(frozen=True)
class Route(Generic[M]):
    """A message this endpoint receives: how it is read (a model's validation, or an intake
    contract that raises `InvalidRequest` itself) and the function that handles it."""

    read: Callable[[dict[str, Any]], M]
    handle: Callable[[M, Request, Dependencies], Answer]

    def run(self, payload: dict[str, Any], request: Request, deps: Dependencies) -> Answer:
        try:
            message = self.read(payload)
        except ValidationError as exc:
            raise InvalidMessage(request.message_name, exc) from exc
        return self.handle(message, request, deps)


ROUTES: dict[str, Route[Any]] = {
    "connector-post-status": Route(ConnectorPostStatus.model_validate, connector_post_status.handle),
    "rfid-verify": Route(RfidVerify.model_validate, rfid_verify.handle),
    "session-post": Route(session_post.read, session_post.handle),
    "station-post": Route(station_post.read, station_post.handle),
}
ACCEPTED_MESSAGES: frozenset[str] = frozenset(ROUTES)
"""The messages partners may send us (and API keys may be allowed)."""


NO_MESSAGE = "none"
"""The `message` dimension of requests refused before a message this endpoint accepts was read."""


@dataclass
class _Received:
    """What the metric needs to know of a request however it ends: its message, once read."""

    message: str = NO_MESSAGE


def receive(body: bytes, authorizer_context: Mapping[str, Any] | None, deps: Dependencies) -> Answer:
    """Handle one request body from the caller the authorizer identified; count the outcome."""
    received = _Received()
    try:
        answer = _receive(body, authorizer_context, deps, received)
    except Exception as error:
        count_message(received.message, error_answer(error))
        raise
    count_message(received.message, answer)
    return answer


def count_message(message: str, answer: Answer) -> None:
    """`OioiMessages` by message (one of `ACCEPTED_MESSAGES` or `none`) and OIOI result code: both
    small fixed sets, so the breakdown stays a few dozen metrics."""
    code = str(answer.body.get("result", {}).get("code", "none"))
    put_breakdown_metrics({"message": message, "code": code}, ("OioiMessages", MetricUnit.Count, 1))


def _receive(
    body: bytes,
    authorizer_context: Mapping[str, Any] | None,
    deps: Dependencies,
    received: _Received,
) -> Answer:
    now = deps.clock()
    caller = Caller.from_context(authorizer_context)
    bind_correlation(partner_id=caller.partner_id, key_id=caller.key_id)
    if len(body) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"body is {len(body)} bytes; at most {MAX_BODY_BYTES} are accepted")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedMessage(f"body is not UTF-8: {exc.reason} at byte {exc.start}") from exc
    name, payload = split_envelope(loads(text))
    payload_text = member_text(text)
    route = ROUTES.get(name)
    if route is None:
        shown = name if len(name) <= 64 else name[:64] + "..."
        if name in OIOI_MESSAGE_NAMES:
            raise UnsupportedMessage(
                f"{name} is not accepted by this endpoint; it accepts {', '.join(sorted(ROUTES))}"
            )
        raise UnknownMessage(f"unknown message {shown!r}; this endpoint accepts {', '.join(sorted(ROUTES))}")
    received.message = name
    if not caller.may_send(name):
        raise NotAllowed(f"this API key is not allowed to send {name}")
    bind_correlation(message=name)
    if not isinstance(payload, dict):
        raise MalformedMessage(f"{name} must be a JSON object")
    answer = route.run(payload, Request(name, payload_text, caller, now), deps)
    if answer.status == 200:
        deps.on_accepted(caller.partner_id, name, now)  # partner health (backbone.partner_health)
    return answer


def event_body(body: str | None, is_base64_encoded: bool) -> bytes:
    """The request body's bytes from a proxy event: base64 for binary media types (the API
    declares every type binary so we see the exact bytes and can check UTF-8 ourselves)."""
    if body is None:
        return b""
    if is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise MalformedMessage("body is not valid base64") from exc
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates cannot have come from UTF-8
        raise MalformedMessage(f"body is not UTF-8: {exc.reason}") from exc


_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def member_text(text: str) -> str:
    """The exact source text of the value of a one-member JSON object (`text` already parsed as
    such). This is what the partner sent for the message, kept verbatim for the CDR envelope.
    Refuses a repeated top-level key, which JSON parsing would silently collapse into one."""
    position = _skip(text, 0)
    position = _skip(text, position + 1)  # "{"
    _, position = json.decoder.scanstring(text, position + 1)  # type: ignore[attr-defined]
    position = _skip(text, position)
    start = _skip(text, position + 1)  # ":"
    _, end = _DECODER.raw_decode(text, start)
    if text[_skip(text, end)] != "}":
        raise MalformedMessage(
            'body must be a JSON object with exactly one message, e.g. {"rfid-verify": {...}}'
        )
    return text[start:end]


def _skip(text: str, position: int) -> int:
    match = _WHITESPACE.match(text, position)
    return match.end() if match else position
