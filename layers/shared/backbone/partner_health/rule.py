"""The silence rule, without AWS: message families, last-seen times and who is silent.

A partner is watched while it has an active API key. Each message family it has used
(session-post, rfid-verify, POI) has a last-seen time, the receipt time of its latest accepted
message; a family is silent once that is older than the silence period, and a partner is silent
when any of its families is. A family the partner never used is not watched (a CPO without
online authorisation never sends rfid-verify), and a partner without an active key is not
watched at all (revoking its keys is how a partner is offboarded).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class Family(StrEnum):
    """What a partner's accepted messages are grouped by: the metric's `family` dimension."""

    SESSION_POST = "session-post"
    RFID_VERIFY = "rfid-verify"
    POI = "poi"


FAMILY_OF_MESSAGE: Mapping[str, Family] = {
    "session-post": Family.SESSION_POST,
    "rfid-verify": Family.RFID_VERIFY,
    "station-post": Family.POI,
    "connector-post-status": Family.POI,
}

RECORD_EVERY = timedelta(minutes=1)
"""How stale a stored last-seen time may get before the receiver writes it again: a busy partner
costs one write per family per minute (per warm receiver instance), not one per message."""


def family_of(message: str) -> Family | None:
    return FAMILY_OF_MESSAGE.get(message)


@dataclass(frozen=True)
class PartnerActivity:
    """What is stored per partner: the last accepted message of each family it used."""

    partner_id: str
    last_seen: Mapping[Family, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class FamilyHealth:
    family: Family
    last_seen: datetime
    silence: timedelta
    silent: bool


@dataclass(frozen=True)
class PartnerHealth:
    partner_id: str
    families: tuple[FamilyHealth, ...]
    """Only the families the partner used, in `Family` order."""

    @property
    def silent(self) -> bool:
        return any(family.silent for family in self.families)

    @property
    def ever_seen(self) -> bool:
        return bool(self.families)

    def of(self, family: Family) -> FamilyHealth | None:
        return next((health for health in self.families if health.family is family), None)


def assess(activity: PartnerActivity, now: datetime, period: timedelta) -> PartnerHealth:
    """Each used family's silence (never negative: a clock a little ahead is not "in the future")."""
    families = tuple(
        FamilyHealth(family, seen, silence, silence > period)
        for family in Family
        if (seen := activity.last_seen.get(family)) is not None
        for silence in [max(now - seen, timedelta(0))]
    )
    return PartnerHealth(activity.partner_id, families)


def watched_health(
    activities: Iterable[PartnerActivity], active_partners: Iterable[str], now: datetime, period: timedelta
) -> list[PartnerHealth]:
    """Every partner with an active key, by partner id; one never seen has no families."""
    seen = {activity.partner_id: activity for activity in activities}
    return [
        assess(seen.get(partner_id, PartnerActivity(partner_id)), now, period)
        for partner_id in sorted(set(active_partners))
    ]


def due(last_written: datetime | None, at: datetime) -> bool:
    """Whether a message received `at` should write the family's last-seen time again."""
    return last_written is None or at - last_written >= RECORD_EVERY
