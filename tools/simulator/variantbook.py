"""Real-world variants the spec allows and the simulator can be told to play (issue 14, part A):
what is switched on, kept with the rest of the partner's data so `reset()` clears it.

Data and small rules only (no Flask, no state): `state.py` asks the book at the few places a
variant changes an answer; `variants.py` is how tests and operators switch them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FORBIDDEN_KEY_MESSAGE = "Forbidden. You have no access to this charging key."
UNKNOWN_KEY_MESSAGE = (
    "The provided body is invalid: keyIdentifier is not a charging key of this organization "
    "(hexadecimal, little-endian, as created)"
)
UNKNOWN_CONNECTOR_MESSAGE = "The provided body is invalid: connectorId is not a known connector"

UnknownKeys = Literal["refuse", "accept"]


@dataclass
class LostAnswer:
    """The next `count` remote starts on a connector start their session, then answer `status`:
    the caller cannot tell whether anything started (a gateway timeout, a crash after the write)."""

    status: int
    count: int


@dataclass
class VariantBook:
    forbidden_keys: set[str] = field(default_factory=set)
    """EMP key identifiers (as created) and Drive keyIds/contractIds whose enable, disable or
    PATCH answers 403 "no access to this charging key"."""
    unknown_connectors: set[str] = field(default_factory=set)
    """Connector ids a Drive remote start refuses (400)."""
    lost_answers: dict[str, LostAnswer] = field(default_factory=dict)
    emp_unknown_keys: UnknownKeys = "refuse"
    """EMP session start with a keyIdentifier no key was created with: refused (400), as the
    partner would; "accept" restores the old, trusting behaviour."""
    order_throttle_retry_after: bool = True
    """Whether the Drive order throttle's 429 carries Retry-After (False: a bare 429)."""

    def forbids(self, *identifiers: str | None) -> bool:
        return any(i is not None and i.lower() in self.forbidden_keys for i in identifiers)

    def take_lost_answer(self, connector_id: str) -> int | None:
        """The status to answer instead of the session id, consuming one lost answer."""
        lost = self.lost_answers.get(connector_id)
        if lost is None:
            return None
        lost.count -= 1
        if lost.count <= 0:
            del self.lost_answers[connector_id]
        return lost.status

    def view(self) -> dict[str, object]:
        return {
            "forbiddenKeys": sorted(self.forbidden_keys),
            "unknownConnectors": sorted(self.unknown_connectors),
            "lostAnswers": {c: {"status": a.status, "count": a.count} for c, a in self.lost_answers.items()},
            "empUnknownKeys": self.emp_unknown_keys,
            "orderThrottleRetryAfter": self.order_throttle_retry_after,
        }
