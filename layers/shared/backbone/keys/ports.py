"""The narrow interfaces key logic works through, and the bundle a function hands it. The
charging-keys table is `aws.KeyStore`; Plugsurfing is `partner.EmpKeyPartner` or
`partner.DriveKeyPartner`, picked in `wiring.py`; tests pass fakes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from backbone.keys.models import ChargingKey, KeyState, PartnerView, SyncState
from backbone.timeutil import utc_now

if TYPE_CHECKING:
    from backbone.keys.plans import Action


class KeyRepository(Protocol):
    """What lifecycle changes, CSV import, sync and reconciliation need from the table."""

    def get(self, uid: str) -> ChargingKey | None: ...
    def find(self, identifier: str) -> ChargingKey | None: ...
    def list_by_owner(self, owner_id: str) -> list[ChargingKey]: ...
    def iter_keys(self, state: KeyState | None = None) -> Iterator[ChargingKey]: ...
    def existing_uids(self, uids: Sequence[str]) -> set[str]: ...
    def visual_numbers_in_use(self, visual_numbers: Sequence[str]) -> dict[str, str]: ...
    def put_new(self, key: ChargingKey) -> ChargingKey: ...
    def put_new_many(self, keys: Sequence[ChargingKey]) -> None: ...
    def save(self, key: ChargingKey, *, expected_version: int) -> ChargingKey: ...
    def record_sync(
        self,
        uid: str,
        *,
        state: SyncState,
        error: str | None,
        partner: PartnerView,
        attempts: int,
        now: datetime,
        contract_id: str | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class Applied:
    """What Plugsurfing holds after one call, and a contract id it assigned (if any)."""

    partner: PartnerView
    contract_id: str | None = None


@dataclass(frozen=True)
class ListedKey:
    """A key as Plugsurfing lists it."""

    identifier: str
    visual_number: str | None
    enabled: bool
    owner_id: str | None = None


@dataclass(frozen=True)
class Listing:
    """Keys Plugsurfing lists, page by page, next to the keys of ours that can be among them
    (EMP: every key; Drive: one user's)."""

    ours: Sequence[ChargingKey]
    pages: Iterable[Sequence[ListedKey]]


class KeyPartner(Protocol):
    """Plugsurfing's side of our charging keys, in the API the stack runs against (EMP or Drive;
    `wiring.py` picks the implementation). Failures of a call arrive as `SyncRefused` (retrying
    cannot help) or `TemporarySyncFailure` (try again later), both with the progress made."""

    def plan(self, key: ChargingKey, partner: PartnerView) -> list[Action]:
        """The calls still needed to make Plugsurfing hold `key` as we want it (no I/O)."""
        ...

    def apply(self, action: Action, key: ChargingKey, partner: PartnerView) -> Applied:
        """Make one planned call (create, enable, disable, reserve, activate, patch)."""
        ...

    def listings(self, ours: Sequence[ChargingKey]) -> Iterator[Listing]:
        """What Plugsurfing lists, for comparing with `ours`."""
        ...


@dataclass(frozen=True)
class KeyDependencies:
    """Everything key sync and reconciliation need. `sync_max_attempts`: transient failures of
    one key before its syncState shows ERROR; `repair`: reconciliation repairs unless told not to."""

    store: KeyRepository
    partner: KeyPartner
    clock: Callable[[], datetime] = utc_now
    sync_max_attempts: int = 4
    repair: bool = False
