"""The push guards: pure decisions on the candidate list against the last successful push.

`rfid-post` replaces the receiver's whole whitelist, so a wrong push locks drivers out (a list
that is empty or much shorter because a read or a bulk change went wrong) or keeps blocked keys
in (a push that never happens). The guards refuse the first kind unless an operator overrides
with a reason; the heartbeat makes sure the second never lasts longer than the maximum age.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from backbone.timeutil import to_storage
from backbone.whitelist.models import LastSuccess


class Action(StrEnum):
    SEND = "SEND"
    SKIP_UNCHANGED = "SKIP_UNCHANGED"
    REFUSE_EMPTY = "REFUSE_EMPTY"
    REFUSE_SHRINK = "REFUSE_SHRINK"


@dataclass(frozen=True)
class GuardPolicy:
    """`max_shrink`: largest allowed drop against the last success, as a fraction of its count.
    `max_age`: the receiver's list is re-sent (heartbeat) at least this often, changed or not.
    `heartbeat_margin`: a push is due from `(1 - margin) * max_age` on, so a schedule whose
    period equals `max_age` never misses the heartbeat by a few seconds of schedule jitter."""

    max_shrink: float = 0.2
    max_age: timedelta = timedelta(hours=24)
    heartbeat_margin: float = 0.1

    def __post_init__(self) -> None:
        if not 0 <= self.max_shrink <= 1:
            raise ValueError("max_shrink is a fraction between 0 and 1")
        if self.max_age <= timedelta(0):
            raise ValueError("max_age must be positive")
        if not 0 <= self.heartbeat_margin < 1:
            raise ValueError("heartbeat_margin is a fraction in [0, 1)")

    @property
    def heartbeat_due_after(self) -> timedelta:
        return self.max_age * (1 - self.heartbeat_margin)


@dataclass(frozen=True)
class Verdict:
    action: Action
    reason: str
    overridden: tuple[str, ...] = ()
    """Guards that would have refused, bypassed by an override."""


def shrink_of(count: int, last: LastSuccess | None) -> float:
    """How much smaller than the last success the list is (0.25 = a quarter fewer UIDs)."""
    if last is None or last.count == 0 or count >= last.count:
        return 0.0
    return (last.count - count) / last.count


def evaluate(
    count: int,
    sha256: str,
    last: LastSuccess | None,
    *,
    now: datetime,
    override: bool,
    policy: GuardPolicy,
) -> Verdict:
    """What to do with a list of `count` UIDs hashing to `sha256`.

    Refuse an empty list; refuse a list that shrank by more than `policy.max_shrink` (no baseline
    before the first success: nothing to compare with); an override sends anyway and names what
    it bypassed. Skip an unchanged list while the last success is younger than the heartbeat.
    An override also sends an unchanged list: an operator asking for a push gets one.
    """
    refusals = _refusals(count, last, policy)
    if override:
        return Verdict(Action.SEND, "override: sending without guards", tuple(refusals))
    if refusals:
        return next(iter(refusals.values()))
    if last is None:
        return Verdict(Action.SEND, "first push: no earlier successful push to compare with")
    if last.sha256 != sha256:
        return Verdict(Action.SEND, f"changed: {last.count} -> {count} UIDs")
    age = now - last.at
    if age < policy.heartbeat_due_after:
        return Verdict(
            Action.SKIP_UNCHANGED,
            f"unchanged since the last successful push at {to_storage(last.at)} "
            f"({_hours(age)} ago); the heartbeat is due after {_hours(policy.heartbeat_due_after)}",
        )
    return Verdict(Action.SEND, f"unchanged, heartbeat: the last successful push is {_hours(age)} old")


def _refusals(count: int, last: LastSuccess | None, policy: GuardPolicy) -> dict[str, Verdict]:
    """Every guard that refuses this list, by guard name, in the order they are checked."""
    refusals: dict[str, Verdict] = {}
    if count == 0:
        refusals["empty"] = Verdict(
            Action.REFUSE_EMPTY,
            "refused: the list is empty; sending it would remove every key from the "
            "receiver's whitelist (override with a reason if that is intended)",
        )
    shrink = shrink_of(count, last)
    if last is not None and shrink > policy.max_shrink:
        refusals["shrink"] = Verdict(
            Action.REFUSE_SHRINK,
            f"refused: the list shrank by {shrink:.0%} ({last.count} -> {count} UIDs) since "
            f"the last successful push at {to_storage(last.at)}, more than the allowed "
            f"{policy.max_shrink:.0%} (override with a reason if that is intended)",
        )
    return refusals


def _hours(value: timedelta) -> str:
    """`42 min` below an hour, `3.5 h` above: readable in the audit and the CLI."""
    seconds = value.total_seconds()
    return f"{seconds / 60:.0f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"
