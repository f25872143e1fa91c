"""The OIOI v4 endpoint as Plugsurfing receives it: `rfid-post` and `session-post` only."""

from __future__ import annotations

import json
import re
from typing import Any

from simulator.oioi_answers import AnswerStyle
from simulator.state import SimState

UID_PATTERN = re.compile(r"^(?:[0-9A-F]{8}|[0-9A-F]{14}|[0-9A-F]{20})$")
PARTNER_IDENTIFIER_MIN_LENGTH = 16  # glossary: "a random string that is at least 16 characters long"
IDENTIFIER_TYPES = ("evco-id", "rfid", "username")

RESULT_MESSAGES = {
    0: "Success.",
    100: "System error",
    101: "Database error",
    102: "System timeout",
    180: "Entity not found",
    210: "Invalid API key",
    211: "Invalid partner identifier",
    220: "API key not allowed to access the requested resource",
    230: "Invalid request format",
}

Answer = tuple[int, dict[str, Any]]


def result(code: int, message: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message or RESULT_MESSAGES.get(code, "Error")}


def error(status: int, code: int, detail: str) -> Answer:
    """4xx/5xx answer: result code plus the `error` property the spec requires on 4xx."""
    return status, {"result": result(code), "error": detail}


class OioiHandler:
    """Parses one OIOI request body and applies it to the state."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.answers = AnswerStyle()

    def handle(self, raw: bytes) -> Answer:
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return error(400, 230, "Body is not UTF-8 JSON")
        if not isinstance(body, dict) or len(body) != 1:
            return error(400, 230, "Body must be an object with exactly one message type key")
        [(message_type, message)] = body.items()
        if not isinstance(message, dict):
            return error(400, 230, f"{message_type} must be an object")
        if message_type == "rfid-post":
            return self.answers.shape(message_type, *self.rfid_post(message))
        if message_type == "session-post":
            return self.answers.shape(message_type, *self.session_post(message))
        return error(400, 230, f"Unknown message type {message_type!r}")

    def rfid_post(self, message: dict[str, Any]) -> Answer:
        partner = message.get("partner-identifier")
        if not isinstance(partner, str) or len(partner) < PARTNER_IDENTIFIER_MIN_LENGTH:
            return error(400, 211, "partner-identifier must be a string of at least 16 characters")
        rfids = message.get("rfids")
        if not isinstance(rfids, list):
            return error(400, 230, "rfids must be an array of strings")
        for uid in rfids:
            if not isinstance(uid, str) or not UID_PATTERN.match(uid):
                return error(400, 230, f"Invalid UID {uid!r}: must be 8, 14 or 20 upper-case hex characters")
        processed = self.state.store_whitelist(partner, rfids)
        return 200, {"rfid": {"processed": processed}, "result": result(0)}

    def session_post(self, message: dict[str, Any]) -> Answer:
        problem = _session_post_problem(message)
        if problem:
            return error(400, 230, problem)
        self.state.store_oioi_session(message)
        return 200, {"result": result(0)}


def _session_post_problem(message: dict[str, Any]) -> str | None:
    """What is missing from a session-post (only the fields the spec marks as required)."""
    user = message.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("identifier"), str):
        return "user.identifier is required"
    if user.get("identifier-type") not in IDENTIFIER_TYPES:
        return f"user.identifier-type must be one of {', '.join(IDENTIFIER_TYPES)}"
    for name in ("session-id", "connector-id", "partner-identifier"):
        if not isinstance(message.get(name), str) or not message[name]:
            return f"{name} is required"
    interval = message.get("session-interval")
    if not isinstance(interval, dict) or not isinstance(interval.get("start"), str):
        return "session-interval.start is required"
    return None
