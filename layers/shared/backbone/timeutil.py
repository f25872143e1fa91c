"""One time format for storage: UTC, millisecond precision, `Z` suffix, fixed width.

Fixed width matters: DynamoDB sort keys and range conditions compare these strings
lexicographically, which equals chronological order only if every value has the same shape.
"""

from __future__ import annotations

from datetime import UTC, datetime

FAR_FUTURE = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is a programming error, never guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no timezone")
    return value.astimezone(UTC)


def to_storage(value: datetime) -> str:
    """`2024-05-01T10:00:00.000Z`: sortable text for DynamoDB."""
    return to_utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_storage(text: str) -> datetime:
    """Inverse of `to_storage`; also accepts any RFC 3339 text with an offset."""
    return to_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
