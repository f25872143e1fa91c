"""Answers: the one mapping from outcomes and errors to HTTP status, headers and OIOI body."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from backbone.errors import DomainError
from backbone.oioi.codes import ResultCode
from backbone.oioi.models import result_body

RETRY_AFTER_SECONDS = 5
"""The spec makes partners retry 5xx with exponential back-off honouring Retry-After."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


def answer(code: ResultCode = ResultCode.SUCCESS, status: int = 200) -> Answer:
    """A processed request: `{"result": {"code": ..., "message": ...}}` (rfid-verify answers a
    refused UID with 200 too: the request worked, the answer is "no")."""
    return Answer(status, result_body(code))


def error_answer(error: BaseException) -> Answer:
    """A refused or failed request. Domain errors carry their status and code; anything else is
    an internal error (500, code 100) whose details stay in our logs."""
    if isinstance(error, DomainError):
        status, code, detail = error.http_status, error.code, error.detail
    else:
        status, code, detail = 500, ResultCode.SYSTEM_ERROR, "internal error; please retry later"
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status >= 500 else {}
    return Answer(status, result_body(code, error=detail), headers)
