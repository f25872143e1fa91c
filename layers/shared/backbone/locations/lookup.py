"""The rules: search locations around a point, and resolve an EVSE id to its connector(s).

Plugsurfing offers no search by EVSE id (seed 000: geosearch by radius; seed 001: location by
id), so a lookup searches around the point the caller gives (or reads the location it names)
and compares EVSE ids canonically (`evse_match_key`): `de*ion*e1234*1`, `DEIONE1234*1` and
`DE*ION*E1234*1` are one EVSE. Partner answers are cached briefly (`cache.py`).
"""

from __future__ import annotations

from backbone.locations.errors import EvseNotFound, LocationNotFound
from backbone.locations.geo import distance_m
from backbone.locations.models import (
    ConnectorMatch,
    ConnectorQuery,
    Location,
    SearchArea,
    SearchRequest,
    SearchResult,
    evse_match_key,
)
from backbone.locations.ports import Dependencies

COORDINATE_DECIMALS = 5  # about a metre: nearby repeats of one search share a cache entry


def search_locations(request: SearchRequest, deps: Dependencies) -> SearchResult:
    """The locations within the radius, nearest first, each with its distance from the point."""
    area = SearchArea(
        latitude=round(request.latitude, COORDINATE_DECIMALS),
        longitude=round(request.longitude, COORDINATE_DECIMALS),
        radius_meters=request.radius_meters,
        filters=request.filters,
    )
    return SearchResult(locations=tuple(_around(area, deps)))


def find_connector(query: ConnectorQuery, deps: Dependencies) -> ConnectorMatch:
    """The EVSE `query.evse_id` names (any spelling) with its status and connector ids.
    Raises `EvseNotFound` / `LocationNotFound` (404)."""
    if query.location_id is not None:
        candidates = [_location(query.location_id, deps)]
        where = f"at location {query.location_id}"
    else:
        latitude, longitude = query.point  # the model requires a point or a location id
        area = SearchArea(
            latitude=round(latitude, COORDINATE_DECIMALS),
            longitude=round(longitude, COORDINATE_DECIMALS),
            radius_meters=query.radius_meters,
        )
        candidates = _around(area, deps)
        where = f"within {query.radius_meters} m of ({latitude}, {longitude})"
    wanted = query.match_key
    for location in candidates:  # nearest first: the nearest of two spellings wins
        for evse in location.evses:
            if evse.evse_id is not None and evse_match_key(evse.evse_id) == wanted:
                return ConnectorMatch(
                    evse_id=wanted,
                    partner_evse_id=evse.evse_id,
                    status=evse.status,
                    location_id=location.location_id,
                    location_name=location.name,
                    connectors=evse.connectors,
                )
    hint = "" if query.location_id else "; widen radiusMeters or pass the charger's locationId"
    raise EvseNotFound(f"no EVSE {wanted} {where}{hint}")


def _around(area: SearchArea, deps: Dependencies) -> list[Location]:
    locations = deps.searches.get(area)
    if locations is None:
        locations = deps.partner.search(area)
        deps.searches.put(area, locations)
    measured = [_with_distance(location, area) for location in locations]
    return sorted(measured, key=lambda loc: (loc.distance_meters is None, loc.distance_meters or 0))


def _with_distance(location: Location, area: SearchArea) -> Location:
    if location.latitude is None or location.longitude is None:
        return location
    metres = distance_m(area.latitude, area.longitude, location.latitude, location.longitude)
    return location.model_copy(update={"distance_meters": round(metres)})


def _location(location_id: str, deps: Dependencies) -> Location:
    location = deps.locations.get(location_id)
    if location is None:
        location = deps.partner.location(location_id)
        if location is None:
            raise LocationNotFound(f"Plugsurfing knows no location {location_id}")
        deps.locations.put(location_id, location)
    return location


class ConnectorLookup:
    """`find_connector` bound to its dependencies: what another capability receives through a
    port of its own (e.g. a session start given an `evseId` instead of a `connectorId`). Raises
    what `find_connector` raises; all are `DomainError`s with their HTTP status."""

    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    def resolve(self, query: ConnectorQuery) -> ConnectorMatch:
        return find_connector(query, self.deps)
