"""How long personal data is kept (docs/privacy.md, "Retention"): the pure "expires at" rules.

Every table whose rule DynamoDB TTL can express carries the same attribute, `expiresAt`, in epoch
seconds, set when the item is written through `ttl_attribute` (sessions, whitelist audit lists
and attempts, CDRs). What TTL cannot express (a CDR's driver identity 90 days after it is final,
an order's address 90 days after the order is finished) the daily purge does
(`backbone.privacy.purge`), with the cut-offs computed here. No I/O, no clock: callers pass times.

TTL deletes lazily (typically within days of `expiresAt`), so no reader may rely on an expired
item being gone; the retention promised in docs/privacy.md is "deleted soon after", not "at".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

TTL_ATTRIBUTE = "expiresAt"
"""The TimeToLiveSpecification attribute of every table with a TTL (template.yaml)."""

DEFAULT_ACTIVITY_DAYS = 90
DEFAULT_CDR_IDENTITY_DAYS = 90
DEFAULT_ORDER_ADDRESS_DAYS = 90
DEFAULT_ACCOUNTING_YEARS = 10


@dataclass(frozen=True)
class RetentionPolicy:
    """The retention periods of one stage (template parameters, docs/privacy.md)."""

    activity_days: int = DEFAULT_ACTIVITY_DAYS
    """Sessions and whitelist audit (attempts and the UID lists pushed)."""
    cdr_identity_days: int = DEFAULT_CDR_IDENTITY_DAYS
    """A final CDR's driver identifier, then pseudonymised."""
    order_address_days: int = DEFAULT_ORDER_ADDRESS_DAYS
    """A finished key order's names and address, then blanked."""
    accounting_years: int = DEFAULT_ACCOUNTING_YEARS
    """A CDR's billing fields: full calendar years after the year it was received."""

    def __post_init__(self) -> None:
        for name in ("activity_days", "cdr_identity_days", "order_address_days", "accounting_years"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")


def epoch_seconds(at: datetime) -> int:
    """A TTL value: whole epoch seconds of an aware time."""
    if at.tzinfo is None:
        raise ValueError("TTL times must be timezone-aware")
    return int(at.timestamp())


def expires_after(at: datetime, days: int) -> int:
    """`at` plus `days`, as a TTL value."""
    return epoch_seconds(at + timedelta(days=days))


def accounting_expiry(received_at: datetime, years: int) -> int:
    """End of a record's accounting retention, as a TTL value.

    Retention of accounting records runs from the end of the calendar year in which the record
    was made (e.g. German HGB s. 257(5), AO s. 147(4)): a CDR received any time in 2026 with 10
    years' retention is kept until the end of 2036 and expires at 2037-01-01T00:00Z.
    """
    year = received_at.astimezone(UTC).year
    return epoch_seconds(datetime(year + years + 1, 1, 1, tzinfo=UTC))


def ttl_attribute(expires_at: int) -> dict[str, int]:
    """The item attribute that lets DynamoDB delete the item after `expires_at`."""
    return {TTL_ATTRIBUTE: expires_at}


def cdr_identity_cutoff(today: date, days: int) -> date:
    """The newest billing day (UTC date of a final CDR's or correction's `receivedAt`) whose
    records' driver identity is due for pseudonymisation on `today`."""
    return today - timedelta(days=days)


def address_cutoff(now: datetime, days: int) -> datetime:
    """Orders finished (last updated) at or before this have their address blanked."""
    return now - timedelta(days=days)


KEPT_ADDRESS_FIELDS = frozenset({"country"})
"""Left in a blanked address: the country decides taxation and says nothing about the person."""


def blanked_address(address: dict[str, str]) -> dict[str, str]:
    """The address as it is kept after the retention period: names, company, street, postal
    code and city dropped; only `KEPT_ADDRESS_FIELDS` stay."""
    return {name: value for name, value in address.items() if name in KEPT_ADDRESS_FIELDS}


def days_between(first: date, last: date) -> list[date]:
    """`first` to `last` inclusive, oldest first (empty when first > last)."""
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
