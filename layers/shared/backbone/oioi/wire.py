"""Reading OIOI bodies off the wire: strict UTF-8, JSON with exact decimals, one message per body.

Every failure is a `backbone.errors.DomainError` carrying the OIOI code to answer with, so the
receiver's single exception handler turns it into the response.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from backbone.errors import InvalidRequest
from backbone.oioi.codes import ResultCode
from backbone.oioi.models import MESSAGE_MODELS, OIOI_MESSAGE_NAMES, OioiMessage


class MalformedMessage(InvalidRequest):
    """Not UTF-8, not JSON, or not shaped `{"<message-name>": {...}}` (code 230)."""


class UnknownMessage(InvalidRequest):
    """The body names a message OIOI does not define (code 230)."""


class UnsupportedMessage(InvalidRequest):
    """An OIOI message this endpoint does not offer (HTTP 400, code 220): the key is fine, the
    message is simply not one we receive (e.g. rfid-post is ours to send, not to accept)."""

    http_status = 400
    code = ResultCode.API_KEY_NOT_ALLOWED


class InvalidMessage(InvalidRequest):
    """A known message whose fields break the spec (code 230); `errors` names each field."""

    def __init__(self, name: str, error: ValidationError):
        self.errors = [_describe(name, item) for item in error.errors(include_url=False)]
        super().__init__(f"invalid {name}: " + "; ".join(self.errors))


@dataclass(frozen=True)
class ParsedMessage:
    name: str
    message: OioiMessage


MAX_DEPTH = 32
"""Nesting levels a body may have. OIOI messages use 5; the bound keeps every reader (ours,
pydantic's, the canonical form's) far from Python's recursion limit."""
_SPECIAL = re.compile(r'[\[\]{}"\\]')


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def json_value(text: str) -> Any:
    """Parse JSON text: floats become `Decimal` exactly as written, NaN/Infinity are refused,
    nesting deeper than `MAX_DEPTH` is refused before parsing. Raises `ValueError`."""
    # Nesting needs an opening bracket per level: a text with few cannot be too deep.
    if text.count("{") + text.count("[") > MAX_DEPTH and (deepest := nesting_depth(text)) > MAX_DEPTH:
        raise ValueError(f"nested {deepest}+ levels deep; at most {MAX_DEPTH} are accepted")
    return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)


def nesting_depth(text: str) -> int:
    """How deep `text` nests arrays and objects (outside strings), in one linear pass over its
    brackets, quotes and backslashes; stops counting once past `MAX_DEPTH`."""
    depth = deepest = 0
    in_string, escaped_at = False, -1
    for match in _SPECIAL.finditer(text):
        at, char = match.start(), match.group()
        if at == escaped_at:
            continue
        if in_string:
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest and (deepest := depth) > MAX_DEPTH:
                break
        elif char in "]}":
            depth -= 1
    return deepest


def loads(raw: bytes | str) -> Any:
    """Parse a body: bytes must be UTF-8 (no BOM), then `json_value`."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise MalformedMessage(f"body is not UTF-8: {exc.reason} at byte {exc.start}") from exc
    try:
        return json_value(text)
    except ValueError as exc:  # JSONDecodeError included
        raise MalformedMessage(f"body is not valid JSON: {exc}") from exc


def split_envelope(body: Any) -> tuple[str, Any]:
    """`{"rfid-post": {...}}` → ("rfid-post", {...})."""
    if not isinstance(body, dict) or len(body) != 1:
        raise MalformedMessage(
            'body must be a JSON object with exactly one message, e.g. {"rfid-verify": {...}}'
        )
    [(name, payload)] = body.items()
    return name, payload


def parse_message(raw: bytes | str, accepted: frozenset[str] | None = None) -> ParsedMessage:
    """Parse and validate a request body.

    `accepted` narrows the messages this endpoint handles (default: every modelled message);
    a known OIOI message outside it raises `UnsupportedMessage`, a name OIOI does not define
    raises `UnknownMessage`.
    """
    name, payload = split_envelope(loads(raw))
    allowed = MESSAGE_MODELS.keys() if accepted is None else accepted & MESSAGE_MODELS.keys()
    if name not in allowed:
        if name in OIOI_MESSAGE_NAMES:
            raise UnsupportedMessage(f"message {name!r} is not accepted here")
        raise UnknownMessage(f"unknown message {name!r}")
    if not isinstance(payload, dict):
        raise MalformedMessage(f"{name} must be a JSON object")
    try:
        return ParsedMessage(name, MESSAGE_MODELS[name].model_validate(payload))
    except ValidationError as exc:
        raise InvalidMessage(name, exc) from exc


def _describe(name: str, item: ErrorDetails) -> str:
    where = ".".join(str(part) for part in (name, *item["loc"]))
    return f"{where}: {item['msg']}"
