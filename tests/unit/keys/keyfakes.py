"""Fakes for the charging-key tests: an in-memory `KeyRepository`, a `KeyPartner` that plays
Plugsurfing without HTTP, and a key factory."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from backbone.keys.errors import ConcurrentModification, DuplicateKey
from backbone.keys.identity import partner_key_identifier
from backbone.keys.lifecycle import new_key
from backbone.keys.models import ChargingKey, KeyState, PartnerView, SyncState
from backbone.keys.plans import Action, EmpCreate, EmpSetEnabled, plan_emp
from backbone.keys.ports import Applied, KeyDependencies, ListedKey, Listing
from backbone.oioi.identifiers import InvalidUid, normalise_uid

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BASE_URL = "https://drive-api-stage.plugsurfing.com/drive"


class MemoryKeys:
    """`KeyRepository` in a dict, with the same write rules as the DynamoDB store."""

    def __init__(self, keys: Sequence[ChargingKey] = ()) -> None:
        self.items: dict[str, ChargingKey] = {key.uid: key for key in keys}
        self.sync_records: list[dict[str, object]] = []

    def get(self, uid: str) -> ChargingKey | None:
        return self.items.get(normalise_uid(uid))

    def find(self, identifier: str) -> ChargingKey | None:
        try:
            found = self.get(identifier)
        except InvalidUid:
            found = None
        return found or next((k for k in self.items.values() if k.visual_number == identifier), None)

    def list_by_owner(self, owner_id: str) -> list[ChargingKey]:
        return [key for key in self.items.values() if key.owner_id == owner_id]

    def iter_keys(self, state: KeyState | None = None) -> Iterator[ChargingKey]:
        return iter([key for key in self.items.values() if state is None or key.state is state])

    def existing_uids(self, uids: Sequence[str]) -> set[str]:
        return {uid for uid in uids if uid in self.items}

    def visual_numbers_in_use(self, visual_numbers: Sequence[str]) -> dict[str, str]:
        wanted = set(visual_numbers)
        return {k.visual_number: k.uid for k in self.items.values() if k.visual_number in wanted}

    def put_new(self, key: ChargingKey) -> ChargingKey:
        if key.uid in self.items:
            raise DuplicateKey(f"UID {key.uid} is already in the table", [key.uid])
        self.items[key.uid] = key
        return key

    def put_new_many(self, keys: Sequence[ChargingKey]) -> None:
        for key in keys:
            self.put_new(key)

    def save(self, key: ChargingKey, *, expected_version: int) -> ChargingKey:
        stored = self.items.get(key.uid)
        if stored is None or stored.version != expected_version:
            raise ConcurrentModification(f"key {key.uid} changed")
        saved = key.model_copy(update={"version": expected_version + 1, "partner": stored.partner})
        self.items[key.uid] = saved
        return saved

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
    ) -> None:
        self.sync_records.append({"uid": uid, "state": state, "error": error, "attempts": attempts})
        stored = self.items.get(uid)
        if stored is None:
            return
        update: dict[str, object] = {
            "sync_state": state,
            "sync_error": error,
            "partner": partner,
            "sync_attempts": attempts,
            "synced_at": now,
        }
        if contract_id and not stored.contract_id:
            update["contract_id"] = contract_id
        self.items[uid] = stored.model_copy(update=update)


def make_key(uid: str = "3633E0E0", visual: str = "DE-9FS-C045DS363-E", **fields: object) -> ChargingKey:
    """A key as imported (IN_STOCK) with `fields` overridden."""
    key = new_key(uid, visual, NOW)
    return key.model_copy(update=fields) if fields else key


@dataclass
class FakeKeyPartner:
    """`KeyPartner` playing Plugsurfing's EMP side in memory: plans as the EMP adapter does, keeps
    `held` (key identifier -> enabled), records the calls, raises `failures` in order first."""

    held: dict[str, bool] = field(default_factory=dict)
    listed: list[list[ListedKey]] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    contract_id: str | None = None

    def plan(self, key: ChargingKey, partner: PartnerView) -> list[Action]:
        return plan_emp(key, partner)

    def apply(self, action: Action, key: ChargingKey, partner: PartnerView) -> Applied:
        self.calls.append(type(action).__name__)
        if self.failures:
            raise self.failures.pop(0)
        identifier = partner.key_id or partner_key_identifier(key)
        enabled = action.enabled if isinstance(action, EmpSetEnabled) else True
        self.held[identifier] = enabled
        assigned = self.contract_id if isinstance(action, EmpCreate) else None
        return Applied(partner.model_copy(update={"key_id": identifier, "enabled": enabled}), assigned)

    def listings(self, ours: Sequence[ChargingKey]) -> Iterator[Listing]:
        yield Listing(ours, self.listed)


def fake_deps(store: MemoryKeys, partner: FakeKeyPartner, max_attempts: int = 4) -> KeyDependencies:
    return KeyDependencies(store, partner, clock=lambda: NOW, sync_max_attempts=max_attempts)
