"""Charging-key lifecycle rules: pure logic, handed its data access as arguments.

Lifecycle (see docs/charging-keys.md for the diagram)::

    IN_STOCK --claim--> RESERVED --assign--> ASSIGNED --enable--> ACTIVE <--enable-- DISABLED
       RESERVED --unclaim--> IN_STOCK (the order was called off before the key was handed over)
       any state but LOST --disable--> DISABLED;  any state --lost--> LOST (final)

Every change sets `syncState` back to PENDING: the key-sync function sees the stream record and
tells Plugsurfing. A change that changes nothing is not written (no sync, no version bump).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from backbone.keys.errors import ConcurrentModification, KeyNotFound, TransitionNotAllowed
from backbone.keys.models import ChargingKey, KeyState, KeyType, OwnerType, SyncState
from backbone.oioi.identifiers import normalise_uid, uid_to_key_identifier

if TYPE_CHECKING:
    from backbone.keys.ports import KeyRepository

_ANY_BUT_LOST = frozenset(KeyState) - {KeyState.LOST}
ALLOWED_FROM: Mapping[str, frozenset[KeyState]] = {
    "unclaim": frozenset({KeyState.RESERVED}),
    "assign": frozenset({KeyState.IN_STOCK, KeyState.RESERVED, KeyState.ASSIGNED}),
    "enable": _ANY_BUT_LOST,
    "disable": _ANY_BUT_LOST,
    "rename": _ANY_BUT_LOST,
    "lost": frozenset(KeyState),
}
"""Which states each operation accepts. Once a key is ACTIVE (known to Plugsurfing under an
owner) it cannot change owner: neither partner API can move a key, so disable or lose it."""


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


def enable(key: ChargingKey, now: datetime, *, user_owner_required: bool = False) -> ChargingKey:
    """ACTIVE and enabled: the key authorises, joins the next whitelist and is enabled at
    Plugsurfing. Drive activates keys *for a user* (`user_owner_required`), so there the key needs
    a user owner first."""
    _check(key, "enable")
    if user_owner_required and key.owner_type != "user":
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
