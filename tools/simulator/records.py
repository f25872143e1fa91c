"""The partner's records, in the simulator's own shape; `wire()` gives the spec's JSON shape."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from simulator.formats import iso_millis, iso_seconds
from simulator.sessions import Session
from simulator.variantbook import VariantBook

HISTORY_LIMIT = 200  # whitelist pushes can carry 100k UIDs each: keep memory bounded


@dataclass
class User:
    id: str
    email: str | None
    created: datetime


@dataclass
class DriveKey:
    key_id: str
    type: str
    name: str
    enabled: bool
    reference_id: str | None
    contract_id: str
    valid_from: datetime
    valid_to: datetime
    created: datetime
    updated: datetime

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "enabled": self.enabled, "keyId": self.key_id}
        if self.reference_id is not None:
            body["referenceId"] = self.reference_id
        body |= {
            "contractId": self.contract_id,
            "type": self.type,
            "validFrom": iso_millis(self.valid_from),
            "validTo": iso_millis(self.valid_to),
            "created": iso_millis(self.created),
            "updated": iso_millis(self.updated),
        }
        return body


@dataclass
class Reservation:
    uid: str
    visual_number: str
    valid_from: datetime
    valid_to: datetime
    type: str
    created: datetime
    activated_by: str | None = None


@dataclass
class EmpKey:
    seq: int
    sent_identifier: str
    visual_number: str
    contract_id: str
    fleet_id: str | None
    enabled: bool
    valid_to: datetime


@dataclass
class EmpOrder:
    id: str
    address: dict[str, str]
    quantity: int
    product_id: str
    created: datetime
    organization_id: str
    status: str
    updated: datetime
    visible_at: datetime
    assign_count: int = 0

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "address": dict(self.address),
            "quantity": self.quantity,
            "product": {"id": self.product_id},
            "created": iso_seconds(self.created),
            "organizationId": self.organization_id,
            "status": self.status,
            "updated": iso_seconds(self.updated),
        }


@dataclass
class DriveOrder:
    id: str
    user_id: str
    created: datetime
    updated: datetime
    address: dict[str, str]
    quantity: int
    state: str
    has_receipt: bool

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created": iso_millis(self.created),
            "updated": iso_millis(self.updated),
            "address": dict(self.address),
            "quantity": self.quantity,
            "state": self.state,
            "hasReceipt": self.has_receipt,
        }


@dataclass
class Store:
    """Everything `reset()` clears."""

    users: dict[str, User] = field(default_factory=dict)
    drive_keys: dict[str, dict[str, DriveKey]] = field(default_factory=dict)  # user -> keyId -> key
    reservations: dict[str, Reservation] = field(default_factory=dict)  # by visualNumber
    emp_keys: dict[str, EmpKey] = field(default_factory=dict)  # by identifier as sent
    emp_orders: dict[str, EmpOrder] = field(default_factory=dict)
    drive_orders: dict[str, DriveOrder] = field(default_factory=dict)
    last_order_at: dict[str, datetime] = field(default_factory=dict)  # Drive throttle per user
    sessions: dict[str, Session] = field(default_factory=dict)
    connector_scripts: dict[str, dict[str, Any]] = field(default_factory=dict)
    whitelists: dict[str, list[str]] = field(default_factory=dict)
    whitelist_history: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=HISTORY_LIMIT))
    oioi_sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    oioi_session_history: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=HISTORY_LIMIT))
    seq: int = 0
    variants: VariantBook = field(default_factory=VariantBook)
