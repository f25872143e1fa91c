"""What Plugsurfing must be told about a key: the calls still needed, planned from the key as it
is in our table and from what Plugsurfing last confirmed (`key.partner`). Pure: no I/O.

EMP (`/emp/v1`): a key is created at Plugsurfing when it is first enabled, then enabled or
disabled with PUT. Drive (`/v1`): a physical key is reserved (uid + visual number) when it enters
the table, activated for its user when first enabled, then renamed/enabled/disabled with PATCH.
Each partner adapter (`keys/partner.py`) plans with its own function.
"""

from __future__ import annotations

from dataclasses import dataclass

from backbone.keys.errors import SyncRefused
from backbone.keys.models import ChargingKey, KeyState, PartnerView


@dataclass(frozen=True)
class EmpCreate:
    """POST /emp/v1/charging-keys."""


@dataclass(frozen=True)
class EmpSetEnabled:
    """PUT /emp/v1/charging-keys/{keyIdentifier}/enable|disable."""

    enabled: bool


@dataclass(frozen=True)
class DriveReserve:
    """POST /v1/charging-keys/reservations."""


@dataclass(frozen=True)
class DriveActivate:
    """POST /v1/users/{userId}/charging-keys/{referenceId}/activate."""

    user_id: str


@dataclass(frozen=True)
class DrivePatch:
    """PATCH /v1/users/{userId}/charging-keys/{identifier}."""

    user_id: str
    identifier: str
    enabled: bool | None = None
    name: str | None = None


Action = EmpCreate | EmpSetEnabled | DriveReserve | DriveActivate | DrivePatch


def wants_enabled(key: ChargingKey) -> bool:
    """Plugsurfing should hold the key enabled exactly while it is enabled and ACTIVE (keys/rule.py
    `active`); the payment method is ours to check (rfid-verify 193, left off the whitelist)."""
    return key.active  # enabled there even without a payment method: rfid-verify checks that


def plan_emp(key: ChargingKey, partner: PartnerView) -> list[Action]:
    """The EMP calls still needed, given what Plugsurfing knows (`partner`)."""
    want = wants_enabled(key)
    if not partner.registered:
        return [EmpCreate()] if want else []  # a key never created needs no disabling
    if partner.enabled != want:
        return [EmpSetEnabled(want)]
    return []


def plan_drive(key: ChargingKey, partner: PartnerView) -> list[Action]:
    """The Drive calls still needed, given what Plugsurfing knows (`partner`)."""
    want = wants_enabled(key)
    if key.type == "virtual":
        # Plugsurfing made it with the user: it exists there already, only PATCH applies.
        known = {"key_id": partner.key_id or key.key_identifier, "user_id": partner.user_id or key.owner_id}
        partner = partner.model_copy(update=known)
    elif not partner.reserved and not partner.registered:
        return [] if key.state is KeyState.LOST else [DriveReserve()]
    elif want and not partner.registered:
        if key.owner_type != "user" or not key.owner_id:
            raise SyncRefused("Drive mode activates keys for a user: assign the key to a user", partner)
        return [DriveActivate(key.owner_id)]
    if not partner.registered or not partner.user_id or partner.key_id is None:
        return []
    enabled = want if partner.enabled != want else None
    name = key.name if key.name and key.name != partner.name else None
    if enabled is None and name is None:
        return []
    return [DrivePatch(partner.user_id, partner.key_id, enabled=enabled, name=name)]
