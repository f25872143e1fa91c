"""The narrow interfaces partner health works through; DynamoDB implementations in `aws.py`,
built in `wiring.py`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from backbone.partner_health.rule import Family, PartnerActivity
from backbone.timeutil import utc_now


class ActivityWriter(Protocol):
    def record(self, partner_id: str, family: Family, at: datetime) -> None:
        """Store `at` as the family's last-seen time unless a later one is stored."""


class ActivityReader(Protocol):
    def list_all(self) -> list[PartnerActivity]: ...


class ActivePartners(Protocol):
    def active_partner_ids(self) -> Iterable[str]: ...


@dataclass(frozen=True)
class HealthDependencies:
    activity: ActivityReader
    partners: ActivePartners
    period: timedelta
    clock: Callable[[], datetime] = field(default=utc_now)
