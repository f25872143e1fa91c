"""In-memory stand-ins for the locations logic: a partner with a fixed set of locations that
counts its calls, and a clock the test moves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from backbone.locations.errors import LocationsUnavailable
from backbone.locations.geo import distance_m
from backbone.locations.models import Connector, Evse, Location, SearchArea

POINT = (52.331142, 13.145221)  # the seed's example


def location(location_id: str, lat: float, lon: float, *evses: tuple[str, str, list[str]]) -> Location:
    return Location(
        location_id=location_id,
        name=f"Site {location_id}",
        latitude=lat,
        longitude=lon,
        evses=tuple(
            Evse(evse_id=evse_id, status=status, connectors=tuple(Connector(connector_id=c) for c in ids))
            for evse_id, status, ids in evses
        ),
    )


NEAR = location("L-NEAR", 52.3316, 13.1460, ("DE*ION*E1234*1", "AVAILABLE", ["abcJd/vR5fvzBa0X/gxaXA=="]))
FAR = location(
    "L-FAR",
    52.3601,
    13.1002,
    ("DE*ION*1234*1", "AVAILABLE", ["V2VyZGVy/AC+22=="]),
    ("de*swp*e0042*1", "OUTOFORDER", ["c-1", "c-2"]),
)


@dataclass
class FakePartner:
    locations: list[Location] = field(default_factory=lambda: [FAR, NEAR])
    searches: list[SearchArea] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    down: bool = False

    def search(self, area: SearchArea) -> list[Location]:
        self.searches.append(area)
        if self.down:
            raise LocationsUnavailable("Plugsurfing geosearch is unavailable; try again shortly")
        return [
            loc
            for loc in self.locations
            if distance_m(area.latitude, area.longitude, loc.latitude or 0, loc.longitude or 0)
            <= area.radius_meters
        ]

    def location(self, location_id: str) -> Location | None:
        self.reads.append(location_id)
        return next((loc for loc in self.locations if loc.location_id == location_id), None)


@dataclass
class FakeClock:
    now: datetime = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
