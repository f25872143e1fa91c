"""Charging-key lifecycle rules and CSV import: pure logic, handed its data access as arguments.

Lifecycle (see docs/charging-keys.md for the diagram)::

    IN_STOCK --claim--> RESERVED --assign--> ASSIGNED --enable--> ACTIVE <--enable-- DISABLED
       RESERVED --unclaim--> IN_STOCK (the order was called off before the key was handed over)
       any state but LOST --disable--> DISABLED;  any state --lost--> LOST (final)

Every change sets `syncState` back to PENDING: the key-sync function sees the stream record and
tells Plugsurfing. A change that changes nothing is not written (no sync, no version bump).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from backbone.keys.errors import ConcurrentModification, KeyNotFound, TransitionNotAllowed
from backbone.keys.models import ChargingKey, KeyState, KeyType, OwnerType, SyncState
from backbone.oioi.identifiers import (
    InvalidIdentifier,
    is_contract_id,
    key_identifier_to_uid,
    normalise_uid,
    uid_to_key_identifier,
)
from backbone.timeutil import from_storage

if TYPE_CHECKING:
    from backbone.keys.store import KeyRepository

PartnerMode = Literal["emp", "drive"]
UidOrder = Literal["big", "little"]

_ANY_BUT_LOST = frozenset(KeyState) - {KeyState.LOST}
ALLOWED_FROM: Mapping[str, frozenset[KeyState]] = {
    "claim": frozenset({KeyState.IN_STOCK}),
    "unclaim": frozenset({KeyState.RESERVED}),
    "assign": frozenset({KeyState.IN_STOCK, KeyState.RESERVED, KeyState.ASSIGNED}),
    "enable": _ANY_BUT_LOST,
    "disable": _ANY_BUT_LOST,
    "rename": _ANY_BUT_LOST,
    "lost": frozenset(KeyState),
}
"""Which states each operation accepts. Once a key is ACTIVE (known to Plugsurfing under an
owner) it cannot change owner: neither partner API can move a key, so disable or lose it."""


# --- lifecycle -----------------------------------------------------------------------------------


def _check(key: ChargingKey, operation: str) -> None:
    if key.state not in ALLOWED_FROM[operation]:
        allowed = ", ".join(sorted(ALLOWED_FROM[operation]))
        raise TransitionNotAllowed(
            f"cannot {operation} key {key.uid} in state {key.state}; allowed from: {allowed}"
        )


def _change(key: ChargingKey, now: datetime, **changes: Any) -> ChargingKey:
    """`key` with `changes` applied and marked for sync, or `key` itself if nothing changes."""
    if all(getattr(key, name) == value for name, value in changes.items()):
        return key
    updated = key.model_copy(update=changes | {"sync_state": SyncState.PENDING, "sync_error": None})
    updated.updated_at = now  # validated assignment: stored in UTC
    return updated


def enable(key: ChargingKey, now: datetime, *, partner_mode: PartnerMode = "emp") -> ChargingKey:
    """ACTIVE and enabled: the key authorises, joins the next whitelist and is enabled at
    Plugsurfing. Drive activates keys *for a user*, so there the key needs a user owner first."""
    _check(key, "enable")
    if partner_mode == "drive" and key.owner_type != "user":
        raise TransitionNotAllowed(
            f"key {key.uid} has no user owner; in Drive mode assign it to a user before enabling it"
        )
    return _change(key, now, state=KeyState.ACTIVE, enabled=True)


def disable(key: ChargingKey, now: datetime) -> ChargingKey:
    """DISABLED: refused at once by rfid-verify, disabled at Plugsurfing, off the next whitelist."""
    _check(key, "disable")
    return _change(key, now, state=KeyState.DISABLED, enabled=False)


def mark_lost(key: ChargingKey, now: datetime) -> ChargingKey:
    """LOST is final: like DISABLED, but the key can never be enabled or reassigned again."""
    return _change(key, now, state=KeyState.LOST, enabled=False)


def assign(key: ChargingKey, owner_id: str, owner_type: OwnerType, now: datetime) -> ChargingKey:
    """ASSIGNED to a user or fleet (not yet usable: enable it when it reaches its owner)."""
    _check(key, "assign")
    if not owner_id.strip():
        raise TransitionNotAllowed("owner id must not be empty")
    return _change(key, now, state=KeyState.ASSIGNED, owner_id=owner_id.strip(), owner_type=owner_type)


def claim_for_order(key: ChargingKey, order_id: str, now: datetime) -> ChargingKey:
    """RESERVED for a key order (the store makes the IN_STOCK check atomic)."""
    _check(key, "claim")
    return _change(key, now, state=KeyState.RESERVED, order_id=order_id)


def return_to_stock(key: ChargingKey, now: datetime) -> ChargingKey:
    """IN_STOCK again: a key claimed for an order that will not be fulfilled. Only a RESERVED key
    goes back; one already handed to an owner is known to Plugsurfing under it (disable it)."""
    _check(key, "unclaim")
    return _change(key, now, state=KeyState.IN_STOCK, order_id=None, owner_id=None, owner_type=None)


def rename(key: ChargingKey, name: str, now: datetime) -> ChargingKey:
    """The owner's label for the key (Drive shows it to the user)."""
    _check(key, "rename")
    return _change(key, now, name=name.strip() or None)


def change_key(
    store: KeyRepository,
    identifier: str,
    change: Callable[[ChargingKey], ChargingKey],
    *,
    attempts: int = 3,
) -> ChargingKey:
    """Load a key by UID or visual number, apply `change` and save it with optimistic locking;
    on a concurrent write, reload and apply again (the rules are re-checked on fresh data)."""
    for attempt in range(1, attempts + 1):
        key = store.find(identifier)
        if key is None:
            raise KeyNotFound(f"no charging key with UID or visual number {identifier!r}")
        updated = change(key)
        if updated == key:
            return key
        try:
            return store.save(updated, expected_version=key.version)
        except ConcurrentModification:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


# --- CSV import ----------------------------------------------------------------------------------

IMPORT_TYPES: tuple[KeyType, ...] = ("tag", "card")
_COLUMNS = {
    "uid": "uid",
    "visualnumber": "visual_number",
    "referenceid": "visual_number",
    "type": "type",
    "contractid": "contract_id",
    "evcoid": "contract_id",
    "validfrom": "valid_from",
    "validto": "valid_to",
    "name": "name",
}


@dataclass(frozen=True)
class RowError:
    """A rejected line of the file (1-based, the header is line 1)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ParsedImport:
    """Good rows as new keys (with their line numbers) and the bad rows."""

    keys: list[tuple[int, ChargingKey]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class ImportResult:
    """`imported` were written; `errors` were rejected. With errors and no `skip_bad`, nothing is
    written (`imported` is empty)."""

    imported: list[ChargingKey]
    errors: list[RowError]
    total_rows: int

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_keys_csv(text: str, now: datetime, *, uid_order: UidOrder = "big") -> ParsedImport:
    """Parse and validate a key file on its own (no table look-ups).

    Columns (header row, any case, `_`/`-`/spaces ignored): `uid` and `visual_number` required;
    `type` (tag|card, default tag), `contract_id`, `valid_from`, `valid_to`, `name` optional.
    `uid` is read as the reader prints it: big-endian (MSB first, the OIOI form) unless
    `uid_order="little"` says the reader printed the chip's bytes LSB first.
    """
    parsed = ParsedImport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), skipinitialspace=True)
    columns = {name: _COLUMNS.get(_header(name)) for name in reader.fieldnames or []}
    missing = {"uid", "visual_number"} - set(columns.values())
    if missing:
        found = ", ".join(reader.fieldnames or []) or "nothing"
        needed = " and ".join(sorted(missing))
        parsed.errors.append(RowError(1, f"header must name the columns {needed}; found {found}"))
        return parsed
    first_line: dict[tuple[str, str], int] = {}
    for row in reader:
        line = reader.line_num
        values: dict[str, str] = {}
        for header, raw in row.items():
            column = columns.get(header) if header is not None else None
            if column and isinstance(raw, str):
                values[column] = raw.strip()
        if not any(values.values()):
            continue  # blank line
        try:
            key = _key_from_row(values, now, uid_order)
        except ValueError as error:
            parsed.errors.append(RowError(line, str(error)))
            continue
        duplicate = _first_duplicate(first_line, key, line)
        if duplicate:
            parsed.errors.append(RowError(line, duplicate))
            continue
        parsed.keys.append((line, key))
    return parsed


def import_keys(
    text: str, store: KeyRepository, now: datetime, *, skip_bad: bool = False, uid_order: UidOrder = "big"
) -> ImportResult:
    """Validate a whole file (including against the table) and add its keys as IN_STOCK.

    All or nothing: one bad row and no key is written, unless `skip_bad`, which writes the good
    rows and still reports the bad ones.
    """
    parsed = parse_keys_csv(text, now, uid_order=uid_order)
    errors = list(parsed.errors)
    taken_uids = store.existing_uids([key.uid for _, key in parsed.keys])
    taken_numbers = store.visual_numbers_in_use([key.visual_number for _, key in parsed.keys])
    good: list[ChargingKey] = []
    for line, key in parsed.keys:
        if key.uid in taken_uids:
            errors.append(RowError(line, f"UID {key.uid} is already in the table"))
        elif key.visual_number in taken_numbers:
            owner = taken_numbers[key.visual_number]
            message = f"visual number {key.visual_number!r} already belongs to key {owner}"
            errors.append(RowError(line, message))
        else:
            good.append(key)
    errors.sort(key=lambda error: error.line)
    total = len(parsed.keys) + len(parsed.errors)
    if errors and not skip_bad:
        return ImportResult(imported=[], errors=errors, total_rows=total)
    store.put_new_many(good)
    return ImportResult(imported=good, errors=errors, total_rows=total)


def new_key(
    uid: str,
    visual_number: str,
    now: datetime,
    *,
    key_type: KeyType = "tag",
    contract_id: str | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    name: str | None = None,
) -> ChargingKey:
    """A new IN_STOCK key; the partner key identifier is derived from the UID."""
    normalised = normalise_uid(uid)
    return ChargingKey(
        uid=normalised,
        key_identifier=uid_to_key_identifier(normalised),
        visual_number=visual_number,
        type=key_type,
        contract_id=contract_id,
        valid_from=valid_from,
        valid_to=valid_to,
        name=name,
        state=KeyState.IN_STOCK,
        created_at=now,
        updated_at=now,
    )


def _header(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _key_from_row(values: dict[str, str], now: datetime, uid_order: UidOrder) -> ChargingKey:
    raw_uid = values.get("uid", "")
    try:
        uid = key_identifier_to_uid(raw_uid) if uid_order == "little" else normalise_uid(raw_uid)
    except InvalidIdentifier as error:
        raise ValueError(f"bad UID: {error}") from None
    visual_number = values.get("visual_number", "")
    if not visual_number:
        raise ValueError(f"visual number missing for UID {uid}")
    key_type = (values.get("type") or "tag").lower()
    if key_type not in IMPORT_TYPES:
        raise ValueError(f"type {values.get('type')!r} is not one of {', '.join(IMPORT_TYPES)}")
    contract_id = values.get("contract_id") or None
    if contract_id is not None and not is_contract_id(contract_id):
        raise ValueError(f"contract id {contract_id!r} is not an EVCO/eMI3 contract id")
    valid_from = _optional_time(values.get("valid_from"), "valid_from")
    valid_to = _optional_time(values.get("valid_to"), "valid_to")
    if valid_from and valid_to and valid_to <= valid_from:
        raise ValueError("valid_to must be after valid_from")
    return new_key(
        uid,
        visual_number,
        now,
        key_type=key_type,
        contract_id=contract_id,
        valid_from=valid_from,
        valid_to=valid_to,
        name=values.get("name") or None,
    )


def _optional_time(text: str | None, column: str) -> datetime | None:
    if not text:
        return None
    try:
        return from_storage(text)
    except ValueError:
        example = "e.g. 2030-01-01T00:00:00Z"
        raise ValueError(f"{column} {text!r} is not an ISO-8601 time with a zone, {example}") from None


def _first_duplicate(first_line: dict[tuple[str, str], int], key: ChargingKey, line: int) -> str | None:
    """Remember the key's UID and visual number; say which earlier line already had one."""
    for kind, value in (("UID", key.uid), ("visual number", key.visual_number)):
        earlier = first_line.get((kind, value))
        if earlier is not None:
            return f"duplicate {kind} {value} (already on line {earlier})"
    for kind, value in (("UID", key.uid), ("visual number", key.visual_number)):
        first_line[(kind, value)] = line
    return None
