"""Domain errors. Each carries the OIOI result code it maps to; one exception handler in the
receiver turns them into the HTTP status and `{"result": {...}}` body."""

from __future__ import annotations

from backbone.oioi.codes import ResultCode


class DomainError(Exception):
    """A business rule refused the request. `http_status` and `code` say how to answer."""

    http_status: int = 400
    code: ResultCode = ResultCode.CLIENT_REQUEST_ERROR

    def __init__(self, detail: str, *, code: ResultCode | None = None, http_status: int | None = None):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status


class InvalidRequest(DomainError):
    """The body is not a valid OIOI message (code 230)."""

    code = ResultCode.INVALID_REQUEST_FORMAT


class InvalidPartnerIdentifier(DomainError):
    """The partner identifier does not belong to the caller (code 211)."""

    code = ResultCode.INVALID_PARTNER_IDENTIFIER


class NotFound(DomainError):
    http_status = 404
    code = ResultCode.ENTITY_NOT_FOUND


class TemporaryFailure(DomainError):
    """Something we depend on failed; the sender must retry (5xx, code 100)."""

    http_status = 503
    code = ResultCode.SYSTEM_ERROR
