"""In-memory stand-ins for the receiver's data access, with the same contracts as
`backbone.receiver.aws` (conditions included), and helpers to build requests."""

from __future__ import annotations

import copy
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from backbone.aws.cdr_queue import CdrQueueUnavailable
from backbone.cdr.envelope import CdrEnvelope
from backbone.keys.models import ChargingKey, KeyState
from backbone.receiver.access import AccessStatus, Caller, PartnerAccess, hash_api_key
from backbone.receiver.dispatch import ACCEPTED_MESSAGES, receive
from backbone.receiver.errors import BackendUnavailable, ConcurrentChange
from backbone.receiver.ports import Dependencies
from backbone.receiver.responses import Answer, error_answer
from backbone.receiver.stations import (
    UNKNOWN_STATUS,
    ConnectorRecord,
    StationRecord,
    StationWrite,
    StatusWrite,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "oioi"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SEED_IDENTIFIERS = frozenset({"1", "123456-123456-abcdef-abc123-456def"})
CALLER = Caller("acme-cpo", "0a1b2c3d4e5f", ACCEPTED_MESSAGES, SEED_IDENTIFIERS)
OTHER_CALLER = Caller("other-cpo", "ffeeddccbbaa", ACCEPTED_MESSAGES, frozenset({"other-identifier-000001"}))

# The staging test UIDs of the OIOI document ("UIDs to test RFID").
VALID_UID, INACTIVE_UID, UNKNOWN_UID = "04523022AA4881", "0477BD22AA4880", "0477BD22AA4AAA"


def seed_text(message: str) -> str:
    """A spec example request body, verbatim (tests/fixtures/oioi)."""
    return (FIXTURES / f"{message}.request.json").read_text(encoding="utf-8")


def seed_json(message: str) -> Any:
    return json.loads(seed_text(message))


def seed_response(message: str) -> Any:
    return json.loads((FIXTURES / f"{message}.response.json").read_text(encoding="utf-8"))


def body(document: Any) -> bytes:
    return json.dumps(document).encode("utf-8")


def staging_keys() -> list[dict[str, Any]]:
    """Charging-key items for the staging UIDs: active with payment, inactive (disabled)."""
    valid = ChargingKey(
        uid=VALID_UID,
        keyIdentifier="8148aa22305204",
        visualNumber="DE-8PS-000001-1",
        ownerId="test1@plugsurfing.com",
        ownerType="user",
        enabled=True,
        state=KeyState.ACTIVE,
        validFrom=NOW - timedelta(days=30),
    )
    inactive = ChargingKey(
        uid=INACTIVE_UID, keyIdentifier="8048aa22bd7704", visualNumber="DE-8PS-000002-X", enabled=False
    )
    return [valid.to_item(), inactive.to_item()]


class FakeChargingKeys:
    def __init__(self, items: list[dict[str, Any]] | None = None, *, fail: bool = False) -> None:
        self.items = {item["uid"]: item for item in items or []}
        self.fail = fail
        self.calls = 0

    def get(self, uid: str) -> Mapping[str, Any] | None:
        self.calls += 1
        if self.fail:
            raise BackendUnavailable("charging keys are unavailable; please retry")
        return copy.deepcopy(self.items.get(uid))


class FakeCdrQueue:
    def __init__(self, *, fail: bool = False) -> None:
        self.sent: list[CdrEnvelope] = []
        self.fail = fail

    def send(self, envelope: CdrEnvelope) -> None:
        if self.fail:
            raise CdrQueueUnavailable("the CDR could not be queued; please retry")
        self.sent.append(envelope)


class FakeStations:
    """Stations and connectors in dicts, with the store's conditional-write semantics."""

    def __init__(self) -> None:
        self.stations: dict[str, StationRecord] = {}
        self.connectors: dict[str, ConnectorRecord] = {}
        self.writes = 0

    def get_station(self, station_id: str) -> StationRecord | None:
        return self.stations.get(station_id)

    def get_connectors(self, evse_ids: Collection[str]) -> dict[str, ConnectorRecord]:
        return {evse_id: self.connectors[evse_id] for evse_id in evse_ids if evse_id in self.connectors}

    def save_station(self, write: StationWrite) -> None:
        stored = self.stations.get(write.station.station_id)
        if (stored.version if stored else None) != write.expected_version:
            raise ConcurrentChange("the station changed while this request ran; please retry")
        for record in write.connectors:
            held = self.connectors.get(record.evse_id)
            if held and held.station_id != record.station_id and not held.deleted:
                raise ConcurrentChange("the station changed while this request ran; please retry")
        self.writes += 1
        self.stations[write.station.station_id] = write.station
        for record in write.connectors:
            held = self.connectors.get(record.evse_id)
            if record.status is not None:
                status, received = record.status, None
            else:
                status = held.status if held and held.status else UNKNOWN_STATUS
                received = held.status_received_at if held else None
            self.connectors[record.evse_id] = ConnectorRecord(
                **{**record.__dict__, "status": status, "status_received_at": received}
            )

    def update_status(self, evse_id: str, partner_id: str, status: str, at: datetime) -> StatusWrite:
        held = self.connectors.get(evse_id)
        if held is None or held.partner_id != partner_id or held.deleted:
            return StatusWrite(False, held)
        if held.status_received_at is not None and held.status_received_at > at:
            return StatusWrite(False, held)
        self.writes += 1
        changed = {**held.__dict__, "status": status, "status_received_at": at}
        self.connectors[evse_id] = ConnectorRecord(**changed)
        return StatusWrite(True)


@dataclass
class FakeBackends:
    charging_keys: FakeChargingKeys = field(default_factory=lambda: FakeChargingKeys(staging_keys()))
    cdr_queue: FakeCdrQueue = field(default_factory=FakeCdrQueue)
    stations: FakeStations = field(default_factory=FakeStations)

    def snapshot(self) -> tuple[Any, ...]:
        """Everything a request could have written."""
        return (
            copy.deepcopy(self.charging_keys.items),
            list(self.cdr_queue.sent),
            dict(self.stations.stations),
            dict(self.stations.connectors),
        )


class FakePartnerAccess:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def get(self, key_hash: str) -> PartnerAccess | None:
        item = self.items.get(key_hash)
        return None if item is None else PartnerAccess.from_item(item)

    def put_new(self, access: PartnerAccess) -> None:
        if access.key_hash in self.items:
            raise ValueError("exists")
        self.items[access.key_hash] = access.to_item()

    def save(self, access: PartnerAccess) -> None:
        self.items[access.key_hash] = access.to_item()

    def list_all(self) -> list[PartnerAccess]:
        return [PartnerAccess.from_item(item) for item in self.items.values()]

    def find_by_key_id(self, key_id: str) -> list[PartnerAccess]:
        return [a for a in self.list_all() if a.key_id == key_id]


def access_for(api_key: str, *, status: AccessStatus = AccessStatus.ACTIVE) -> PartnerAccess:
    return PartnerAccess(
        key_hash=hash_api_key(api_key),
        key_id="0a1b2c3d4e5f",
        partner_id="acme-cpo",
        name="ACME CPO",
        messages=frozenset(ACCEPTED_MESSAGES),
        partner_identifiers=SEED_IDENTIFIERS,
        status=status,
        created_at=NOW,
    )


def send(
    backends: FakeBackends,
    request: Any,
    *,
    caller: Caller | None = CALLER,
    now: datetime = NOW,
) -> Answer:
    """What the receiver answers to a body (bytes, text, or a document to JSON-encode), errors
    mapped the way the handler maps them."""
    raw = (
        request
        if isinstance(request, bytes)
        else request.encode()
        if isinstance(request, str)
        else body(request)
    )
    context = caller.to_context() if caller is not None else None
    try:
        deps = Dependencies(backends.charging_keys, backends.cdr_queue, backends.stations, clock=lambda: now)
        return receive(raw, context, deps)
    except Exception as error:
        return error_answer(error)


def result(answer: Answer) -> tuple[int, int]:
    return answer.status, answer.body["result"]["code"]
