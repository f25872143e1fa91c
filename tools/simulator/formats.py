"""Wire formats shared by the simulator's routes: timestamps, durations, identifiers, cursors."""

from __future__ import annotations

import base64
import binascii
import json
import random
import string
from datetime import UTC, datetime, timedelta
from typing import Any

_ALPHANUM = string.ascii_letters + string.digits


class CursorError(ValueError):
    """A cursor the simulator did not issue (clients must treat cursors as opaque)."""


def iso_millis(when: datetime) -> str:
    """`2021-12-08T10:33:01.000Z`, the form the Drive/EMP examples use for keys and sessions."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def iso_seconds(when: datetime) -> str:
    """`2023-06-26T10:00:00Z`, the form the EMP order examples use (no milliseconds)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """An ISO-8601 timestamp; a naive one is read as UTC. Raises ValueError when malformed."""
    parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso_duration(elapsed: timedelta) -> str:
    """ISO-8601 duration as in the examples: `PT15M`, `PT21.379S`, `PT1H2M3S`."""
    millis = max(0, round(elapsed.total_seconds() * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    text = "PT"
    if hours:
        text += f"{hours}H"
    if minutes:
        text += f"{minutes}M"
    if seconds or millis or text == "PT":
        text += f"{seconds}.{millis:03d}".rstrip("0").rstrip(".") + "S"
    return text


def reverse_hex_bytes(hex_text: str) -> str:
    """Byte order swap of a hex string: `e0e03336` <-> `3633e0e0`."""
    return "".join(reversed([hex_text[i : i + 2] for i in range(0, len(hex_text), 2)]))


def encode_cursor(position: Any) -> str:
    """An opaque cursor that carries the sort key of the last item returned."""
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    """The sort key inside a cursor from `encode_cursor`; CursorError for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise CursorError(f"Invalid cursor {cursor!r}") from exc


class IdFactory:
    """Random-looking ids; seedable so a run can be replayed."""

    def __init__(self, seed: int | None = None) -> None:
        # Not security relevant: ids only need to look like Plugsurfing's and be reproducible.
        self._random = random.Random(seed)  # noqa: S311

    def alnum(self, length: int) -> str:
        return "".join(self._random.choice(_ALPHANUM) for _ in range(length))

    def hex(self, length: int) -> str:
        return "".join(self._random.choice("0123456789abcdef") for _ in range(length))

    def contract_id(self) -> str:
        """Like `DE-8PS-C0CD0C002-Q`. The last character is random, not an ISO 15118 check digit."""
        body = "".join(self._random.choice("0123456789ABCDEF") for _ in range(8))
        return f"DE-SIM-C{body}-{self._random.choice(string.ascii_uppercase)}"
