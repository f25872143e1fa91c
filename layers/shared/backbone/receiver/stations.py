"""Stations and connectors partners push (station-post, connector-post-status): the records of
the stations table and their DynamoDB item layout.

One table, two item types under the partition key `pk`:

- `STATION#<station id>`: the station as last posted, its owner (our partner id), its connectors
  and `version` (optimistic locking for station-post);
- `CONNECTOR#<EVSE ID>`: one item per EVSE ID, the index connector-post-status reads and writes
  in one call. Connectors sharing an EVSE ID share its status (OIOI glossary, "EVSE").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from backbone.timeutil import from_storage, to_storage

STATION_PREFIX = "STATION#"
CONNECTOR_PREFIX = "CONNECTOR#"
UNKNOWN_STATUS = "Unknown"


def station_key(station_id: str) -> str:
    return f"{STATION_PREFIX}{station_id}"


def connector_key(evse_id: str) -> str:
    return f"{CONNECTOR_PREFIX}{evse_id}"


@dataclass(frozen=True, order=True)
class ConnectorSpec:
    """One connector as posted: EVSE ID, plug type and speed (kW, exact as a Decimal)."""

    evse_id: str
    name: str
    speed: Decimal

    def to_item(self) -> dict[str, Any]:
        return {"id": self.evse_id, "name": self.name, "speed": self.speed}

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> ConnectorSpec:
        return cls(str(item["id"]), str(item["name"]), Decimal(str(item["speed"])))


@dataclass(frozen=True)
class StationRecord:
    station_id: str
    partner_id: str
    partner_identifier: str
    deleted: bool
    connectors: tuple[ConnectorSpec, ...]
    latitude: Decimal
    longitude: Decimal
    document: Mapping[str, Any]  # the station object as posted; numbers as Decimal
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def evse_ids(self) -> tuple[str, ...]:
        return distinct_evse_ids(self.connectors)

    def to_item(self) -> dict[str, Any]:
        return {
            "pk": station_key(self.station_id),
            "kind": "station",
            "stationId": self.station_id,
            "partnerId": self.partner_id,
            "partnerIdentifier": self.partner_identifier,
            "deleted": self.deleted,
            "connectors": [spec.to_item() for spec in self.connectors],
            "latitude": self.latitude,
            "longitude": self.longitude,
            "station": dict(self.document),
            "createdAt": to_storage(self.created_at),
            "updatedAt": to_storage(self.updated_at),
            "version": self.version,
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> StationRecord:
        return cls(
            station_id=str(item["stationId"]),
            partner_id=str(item["partnerId"]),
            partner_identifier=str(item["partnerIdentifier"]),
            deleted=bool(item["deleted"]),
            connectors=tuple(ConnectorSpec.from_item(spec) for spec in item.get("connectors") or ()),
            latitude=Decimal(str(item["latitude"])),
            longitude=Decimal(str(item["longitude"])),
            document=dict(item.get("station") or {}),
            created_at=from_storage(str(item["createdAt"])),
            updated_at=from_storage(str(item["updatedAt"])),
            version=int(item["version"]),
        )


@dataclass(frozen=True)
class ConnectorRecord:
    """The item of one EVSE ID. In a station write, `status=None` keeps the stored status
    (a new item starts as "Unknown"); a value replaces it."""

    evse_id: str
    station_id: str
    partner_id: str
    deleted: bool
    latitude: Decimal
    longitude: Decimal
    connectors: tuple[ConnectorSpec, ...]
    status: str | None = None
    status_received_at: datetime | None = None

    def static_attributes(self) -> dict[str, Any]:
        """What station-post owns (everything but the status)."""
        return {
            "kind": "connector",
            "evseId": self.evse_id,
            "stationId": self.station_id,
            "partnerId": self.partner_id,
            "deleted": self.deleted,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "connectors": [spec.to_item() for spec in self.connectors],
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> ConnectorRecord:
        received = item.get("statusReceivedAt")
        return cls(
            evse_id=str(item["evseId"]),
            station_id=str(item["stationId"]),
            partner_id=str(item["partnerId"]),
            deleted=bool(item["deleted"]),
            latitude=Decimal(str(item["latitude"])),
            longitude=Decimal(str(item["longitude"])),
            connectors=tuple(ConnectorSpec.from_item(spec) for spec in item.get("connectors") or ()),
            status=str(item["status"]) if item.get("status") is not None else None,
            status_received_at=from_storage(str(received)) if received else None,
        )


@dataclass(frozen=True)
class StationWrite:
    """What one station-post changes, written atomically. `expected_version` is the version read
    (None: the station must not exist yet); a concurrent change makes the write fail."""

    station: StationRecord
    expected_version: int | None
    connectors: tuple[ConnectorRecord, ...]


@dataclass(frozen=True)
class StatusWrite:
    """Outcome of a conditional status update: applied, or not with the item as it was (None if
    there is no such connector)."""

    applied: bool
    current: ConnectorRecord | None = None


def distinct_evse_ids(specs: tuple[ConnectorSpec, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(spec.evse_id for spec in specs))
