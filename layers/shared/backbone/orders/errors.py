"""Errors of the key-order capability (no AWS imports)."""

from __future__ import annotations

from backbone.errors import DomainError, NotFound


class OrderNotFound(NotFound):
    """No order (or Drive order request) with this id in our tables."""


class RetryLater(Exception):
    """Not now, but this will work later: the queue consumer hides the message for `delay_seconds`
    (None: its back-off by receive count) and reports it failed, so it comes back. Never a drop."""

    def __init__(self, reason: str, delay_seconds: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay_seconds = delay_seconds


class RecordBusy(RetryLater):
    """Another processor holds the record's lease right now (a duplicate or concurrent delivery)."""


class LeaseLost(RetryLater):
    """Our lease ran out and someone else took the record over: stop touching it, retry later."""


class NotFulfillable(DomainError):
    """The order cannot be fulfilled as it is (e.g. a claimed key was disabled meanwhile); it goes
    to FAILED with the reason for the operator."""

    http_status = 409


class PartnerCallFailed(Exception):
    """A call to Plugsurfing failed and may have been processed (5xx, timeout, unreachable):
    `orders.partner` translates the client's errors into this family, so the logic never sees
    HTTP. `status` and `retry_after` are the partner's, when it gave them."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        detail: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


class PartnerRefused(PartnerCallFailed):
    """Plugsurfing refused the request for good (400, 404; 409 for an assign): retrying the same
    request cannot change the answer."""


class PartnerThrottled(PartnerCallFailed):
    """429: Plugsurfing refused the request for now (not processed); `retry_after` says when."""
