"""The narrow interfaces the retention purge works through (`backbone.privacy.purge`); DynamoDB
implementations in `aws.py`, built in `wiring.py`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal, Protocol

from backbone.privacy.retention import RetentionPolicy
from backbone.timeutil import utc_now

OrderTable = Literal["emp", "drive"]


@dataclass(frozen=True)
class BillableRef:
    """A final CDR or a correction as the ByBillingDay index shows it (pk, sk, driverHash)."""

    pk: str
    sk: str
    driver_hash: str | None


@dataclass(frozen=True)
class LegacyCdr:
    """A CDR item the ByBillingDay index does not show that may hold a driver identifier: written
    before pseudonymisation (driverKey holds the raw identifier, no driverHash), or never final."""

    pk: str
    sk: str
    driver_key: str
    driver_hash: str | None
    status: str
    received_at: datetime


@dataclass(frozen=True)
class LegacyPage:
    items: list[LegacyCdr]
    next_start: Mapping[str, Any] | None
    """Where the next page starts (None: the scan is complete)."""


@dataclass(frozen=True)
class FinishedOrder:
    """A key order in a final state, last changed at `updated_at`, with its stored address."""

    table: OrderTable
    key: str
    address: dict[str, str]
    updated_at: datetime
    version: int


class CdrIdentities(Protocol):
    def billable_on(self, day: date) -> Iterator[BillableRef]:
        """Every final CDR and correction received on `day` (UTC), all partners."""

    def pseudonymise(self, ref: BillableRef, pseudonym: str, at: datetime) -> bool:
        """Apply `privacy.cdr.pseudonymise_update`; False when there was nothing to change."""

    def legacy_page(self, start: Mapping[str, Any] | None) -> LegacyPage:
        """One page of the scan for legacy items, from `start` (None: the beginning)."""

    def migrate_legacy(self, item: LegacyCdr, pseudonym: str, pseudonymise_at: datetime | None) -> bool:
        """driverKey := `<type>#<pseudonym>`, driverHash := pseudonym, and, when
        `pseudonymise_at` is given, driverId := pseudonym too. False when the item changed
        meanwhile (no longer legacy) or is gone."""


class OrderAddresses(Protocol):
    def finished_before(self, cutoff: datetime) -> Iterator[FinishedOrder]:
        """Orders (both tables) in a final state, last updated at or before `cutoff`, that still
        hold more of an address than `retention.blanked_address` keeps."""

    def blank(self, order: FinishedOrder, address: dict[str, str], at: datetime) -> bool:
        """Store `address` instead, if the order is unchanged (same version); False otherwise."""


class Checkpoints(Protocol):
    """Where the purge left off, so a run cut short by its time budget resumes the next day."""

    def get(self, name: str) -> dict[str, Any] | None: ...

    def put(self, name: str, value: dict[str, Any], at: datetime) -> None: ...


@dataclass(frozen=True)
class PurgeDependencies:
    cdrs: CdrIdentities
    orders: OrderAddresses
    checkpoints: Checkpoints
    pseudonym_of: Callable[[str], str]
    """The driver's canonical key (`Driver.key`) -> its pseudonym (pepper bound in wiring)."""
    policy: RetentionPolicy
    budget: timedelta
    """Stop starting new work after this long (below the function's timeout)."""
    catch_up_days: int = 30
    """On the first run, billing days this far before the cut-off are looked at too."""
    clock: Callable[[], datetime] = field(default=utc_now)
