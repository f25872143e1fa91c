"""Geosearch (seed 000 "Geosearch radius"; seed 001 names "Get location by id" under Geosearch):
charging locations, their EVSEs and the opaque connector ids a remote start needs.

- `POST {base}/geosearch/radius?latitude=&longitude=&distance=&aggregate=` with optional body
  `{"filters": {"connectorStandards": [...], "locationStatuses": [...], "powerType": "AC"}}`:
  the locations within `distance` metres (haversine), nearest first, in the seed's response shape
  (snake_case inside a location, coordinates as strings). Filters keep the EVSEs whose status is
  listed and the connectors of the standard / power type asked for; a location left without an
  EVSE is left out. `aggregates` counts the found locations per ~1 km cell when `aggregate=true`
  (an empty list otherwise; the seed shows the key in both cases).
- `GET {base}/locations/{id}`: one location, 404 when unknown. The seed names the operation
  but not its path; `/locations/{id}` is our assumption.

Both are served under the Drive base (`/drive/v1`) and the EMP base (`/drive/emp/v1`): seed 001
lists the geosearch operations for EMP users too. The simulator starts with `DEFAULT_LOCATIONS`
(EVSE ids in the spellings partners send) and `POST /_sim/reset` restores them.
"""

from __future__ import annotations

import math
import threading
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from simulator.state import ApiError

EARTH_RADIUS_M = 6_371_008.8
AGGREGATE_CELL_DEGREES = 0.01  # about 1 km of latitude

Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
PowerType = Literal["AC_1_PHASE", "AC_3_PHASE", "DC"]


class _AdminBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConnectorSeedIn(_AdminBody):
    id: Annotated[str, Field(min_length=1)]
    standard: str = "IEC_62196_T2"
    power: int = Field(default=22000, ge=0)
    power_type: PowerType = "AC_3_PHASE"


class EvseSeedIn(_AdminBody):
    evse_id: Annotated[str, Field(min_length=1)]
    uid: str | None = None
    status: str = "AVAILABLE"
    connectors: list[ConnectorSeedIn] = Field(min_length=1)


class LocationSeedIn(_AdminBody):
    """`POST /_sim/locations`: one location (or an array). Replaces a location of the same id."""

    id: Annotated[str, Field(min_length=1)]
    name: str = "Simulated charging site"
    latitude: Latitude
    longitude: Longitude
    evses: list[EvseSeedIn] = Field(min_length=1)
    operator: str = "Simulated CPO"
    country: str = "DEU"
    city: str = "Berlin"
    postal_code: str = "10115"
    address: str = "Simulatorstrasse 1"


class GeosearchFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")

    connectorStandards: list[str] | None = None
    locationStatuses: list[str] | None = None
    powerType: str | None = None


class GeosearchIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    filters: GeosearchFilters | None = None


def _connector(seed: ConnectorSeedIn) -> dict[str, Any]:
    return {"id": seed.id, "standard": seed.standard, "power": seed.power, "power_type": seed.power_type}


def _evse(seed: EvseSeedIn, location_id: str, index: int) -> dict[str, Any]:
    return {
        "uid": seed.uid or f"{location_id}-{index}",
        "evse_id": seed.evse_id,
        "status": seed.status,
        "connectors": [_connector(c) for c in seed.connectors],
        "capabilities": ["REMOTE_START_STOP_CAPABLE"],
        "last_updated": "2026-01-01T00:00:00.000Z",
    }


def location_wire(seed: LocationSeedIn) -> dict[str, Any]:
    """The seed's location shape: coordinates as strings, snake_case fields."""
    return {
        "id": seed.id,
        "name": seed.name,
        "coordinates": {"latitude": f"{seed.latitude:.6f}", "longitude": f"{seed.longitude:.6f}"},
        "evses": [_evse(evse, seed.id, n) for n, evse in enumerate(seed.evses, start=1)],
        "operator": {"id": seed.operator.lower().replace(" ", "-"), "name": seed.operator},
        "opening_times": {
            "twentyfourseven": True,
            "regular_hours": [],
            "exceptional_openings": [],
            "exceptional_closings": [],
        },
        "directions": [],
        "country": seed.country,
        "city": seed.city,
        "postal_code": seed.postal_code,
        "address": seed.address,
    }


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def _seed(
    id: str, name: str, lat: float, lon: float, city: str, country: str, evses: list[dict[str, Any]]
) -> LocationSeedIn:
    return LocationSeedIn.model_validate(
        {"id": id, "name": name, "latitude": lat, "longitude": lon, "city": city, "country": country}
        | {"evses": evses, "operator": name.split(maxsplit=1)[0]}
    )


def _c(id: str, standard: str, power: int, power_type: str) -> dict[str, Any]:
    return {"id": id, "standard": standard, "power": power, "power_type": power_type}


# Near the seed's example point (52.331142, 13.145221), plus Amsterdam and Stockholm. EVSE ids
# in the spellings found in the wild: eMI3 upper case, lower/mixed case, and the older DIN form
# without the `E`. Connector ids are opaque base64-ish strings, as in the seed's session example.
DEFAULT_LOCATIONS: tuple[LocationSeedIn, ...] = (
    _seed("LOC-DE-POTSDAM-1", "Ionity Potsdam Sued", 52.331580, 13.146010, "Potsdam", "DEU", [
        {"evse_id": "DE*ION*E1234*1", "status": "AVAILABLE", "connectors": [
            _c("abcJd/vR5fvzBa0X/gxaXA==", "IEC_62196_T2_COMBO", 350000, "DC"),
        ]},
        {"evse_id": "DE*ION*E1234*2", "status": "CHARGING", "connectors": [
            _c("Qm9vdEhpbGwtMS0y+9x7Aw==", "IEC_62196_T2_COMBO", 350000, "DC"),
            _c("Q0hBZGVNTy0xLTI=", "CHADEMO", 50000, "DC"),
        ]},
    ]),
    _seed("LOC-DE-POTSDAM-2", "Stadtwerke Werder", 52.360100, 13.100200, "Werder", "DEU", [
        {"evse_id": "DE*ION*1234*1", "status": "AVAILABLE", "connectors": [
            _c("V2VyZGVyLTEtMQ/AC+22==", "IEC_62196_T2", 22000, "AC_3_PHASE"),
        ]},
        {"evse_id": "de*swp*e0042*1", "status": "OUTOFORDER", "connectors": [
            _c("V2VyZGVyLTItMQ/AC+11==", "DOMESTIC_F", 3700, "AC_1_PHASE"),
        ]},
    ]),
    _seed("LOC-NL-AMS-1", "Allego Amsterdam Centraal", 52.378900, 4.900500, "Amsterdam", "NLD", [
        {"evse_id": "NL*ALL*EGO0000013*2", "status": "AVAILABLE", "connectors": [
            _c("TkwtQUxMLTEzLTI/uA0z1w==", "IEC_62196_T2", 11000, "AC_3_PHASE"),
        ]},
    ]),
    _seed("LOC-SE-STO-1", "Clever Stockholm", 59.329300, 18.068600, "Stockholm", "SWE", [
        {"evse_id": "Se*Cle*E0001*1", "status": "AVAILABLE", "connectors": [
            _c("U0UtQ0xFLTAwMDEtMQ+Kx4==", "IEC_62196_T2_COMBO", 150000, "DC"),
        ]},
    ]),
)  # fmt: skip


def _filtered(location: dict[str, Any], filters: GeosearchFilters | None) -> dict[str, Any] | None:
    """The location with only the EVSEs and connectors the filters keep; None if none is left."""
    if filters is None:
        return location
    statuses = {s.upper() for s in filters.locationStatuses or []}
    standards = {s.upper() for s in filters.connectorStandards or []}
    power = (filters.powerType or "").upper()
    evses = []
    for evse in location["evses"]:
        if statuses and evse["status"].upper() not in statuses:
            continue
        connectors = [
            c
            for c in evse["connectors"]
            if (not standards or c["standard"].upper() in standards)
            and (not power or c["power_type"].upper().startswith(power))
        ]
        if connectors:
            evses.append({**evse, "connectors": connectors})
    return {**location, "evses": evses} if evses else None


def _aggregates(locations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cells: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for location in locations:
        lat, lon = (float(location["coordinates"][k]) for k in ("latitude", "longitude"))
        cell = (math.floor(lat / AGGREGATE_CELL_DEGREES), math.floor(lon / AGGREGATE_CELL_DEGREES))
        cells.setdefault(cell, []).append(location)
    out = []
    for members in cells.values():
        lat = sum(float(m["coordinates"]["latitude"]) for m in members) / len(members)
        lon = sum(float(m["coordinates"]["longitude"]) for m in members) / len(members)
        coordinates = {"latitude": f"{lat:.6f}", "longitude": f"{lon:.6f}"}
        out.append({"coordinates": coordinates, "count": len(members)})
    return out


def _number(args: dict[str, str], name: str, low: float, high: float) -> float:
    raw = args.get(name)
    if raw is None or raw == "":
        raise ApiError(400, f"{name} is required")
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low:g} and {high:g}")
    return value


class LocationBook:
    """The partner's charging locations. Thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.locations: dict[str, dict[str, Any]] = {}
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.locations = {seed.id: location_wire(seed) for seed in DEFAULT_LOCATIONS}

    def add(self, seed: LocationSeedIn) -> dict[str, Any]:
        wire = location_wire(seed)
        with self.lock:
            self.locations[seed.id] = wire
        return wire

    def all(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.locations.values())

    def get(self, location_id: str) -> dict[str, Any]:
        with self.lock:
            location = self.locations.get(location_id)
        if location is None:
            raise ApiError(404, "Location not found")
        return location

    def search(self, args: dict[str, str], body: GeosearchIn) -> dict[str, Any]:
        latitude = _number(args, "latitude", -90, 90)
        longitude = _number(args, "longitude", -180, 180)
        distance = _number(args, "distance", 1, 1_000_000)
        aggregate = (args.get("aggregate") or "false").lower()
        if aggregate not in ("true", "false"):
            raise ApiError(400, "aggregate must be true or false")
        with self.lock:
            candidates = list(self.locations.values())
        found: list[tuple[float, dict[str, Any]]] = []
        for location in candidates:
            lat, lon = (float(location["coordinates"][k]) for k in ("latitude", "longitude"))
            metres = haversine_m(latitude, longitude, lat, lon)
            kept = _filtered(location, body.filters) if metres <= distance else None
            if kept is not None:
                found.append((metres, kept))
        locations = [location for _, location in sorted(found, key=lambda pair: pair[0])]
        return {"locations": locations, "aggregates": _aggregates(locations) if aggregate == "true" else []}
