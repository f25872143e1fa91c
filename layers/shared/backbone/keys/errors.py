"""Errors of the charging-key capability, shared by logic and data access (no AWS imports)."""

from __future__ import annotations

from collections.abc import Sequence

from backbone.errors import DomainError, NotFound
from backbone.keys.models import ChargingKey, PartnerView
from backbone.oioi.codes import ResultCode


class KeyNotFound(NotFound):
    """No key with this UID or visual number."""

    code = ResultCode.EVCO_ID_NOT_FOUND


class TransitionNotAllowed(DomainError):
    """The lifecycle does not allow this change from the key's current state."""

    http_status = 409


class ConcurrentModification(DomainError):
    """Someone else changed the key between our read and our write (optimistic lock)."""

    http_status = 409


class DuplicateKey(DomainError):
    """A key with this UID (or visual number) is already in the table."""

    http_status = 409

    def __init__(self, detail: str, uids: Sequence[str] = ()) -> None:
        super().__init__(detail)
        self.uids = list(uids)


class OutOfStock(DomainError):
    """Fewer IN_STOCK keys than an order needs. `claimed` holds what the order got so far; they
    stay claimed, so a rerun after restocking only claims the rest."""

    http_status = 409

    def __init__(self, detail: str, claimed: Sequence[ChargingKey], missing: int) -> None:
        super().__init__(detail)
        self.claimed = list(claimed)
        self.missing = missing


class SyncRefused(Exception):
    """Plugsurfing refused for good, or the key cannot be synced as it is; retrying cannot help.
    `partner` is what Plugsurfing holds after the calls that did succeed."""

    def __init__(self, message: str, partner: PartnerView) -> None:
        super().__init__(message)
        self.partner = partner


class TemporarySyncFailure(Exception):
    """Plugsurfing was unavailable (after the client's retries); the stream should retry.
    `partner` is what Plugsurfing holds after the calls that did succeed."""

    def __init__(self, message: str, partner: PartnerView) -> None:
        super().__init__(message)
        self.partner = partner
