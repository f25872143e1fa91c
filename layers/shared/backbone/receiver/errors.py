"""The receiver's refusals. Each carries its HTTP status and OIOI result code (see
`backbone.errors`); `responses.error_answer` is the one place that turns them into a response."""

from __future__ import annotations

from backbone.errors import DomainError, InvalidPartnerIdentifier, InvalidRequest, NotFound, TemporaryFailure
from backbone.oioi.codes import ResultCode


class BodyTooLarge(InvalidRequest):
    """Over our body limit, far below API Gateway's 10 MB: no OIOI message is that big (413)."""

    http_status = 413


class NotAllowed(DomainError):
    """The caller's key is not allowed this message type (403, code 220)."""

    http_status = 403
    code = ResultCode.API_KEY_NOT_ALLOWED


class ForeignPartnerIdentifier(InvalidPartnerIdentifier):
    """The message names a partner identifier, or a station, that is not the caller's (403, 211).

    The spec lists 211 for station-post; 403 ("you do not have access to this resource") is the
    status of the spec's table that fits a resource owned by someone else."""

    http_status = 403


class EvseNotFound(NotFound):
    """connector-post-status for a connector the caller never pushed (404, code 181)."""

    code = ResultCode.EVSE_NOT_FOUND


class ConcurrentChange(TemporaryFailure):
    """Another request changed the same station between our read and our write: retrying
    re-evaluates against the new state (503, code 100)."""


class BackendUnavailable(TemporaryFailure):
    """DynamoDB or SQS failed; nothing was answered as done, the partner must retry (503, 100)."""
