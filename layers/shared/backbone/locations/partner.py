"""`LocationsPartner` on Plugsurfing's geosearch (Drive `/v1/...`, or the same operations under
the EMP base: seed 001 lists them for EMP users). Partner errors become domain errors here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

from backbone.locations.errors import LocationsRefused, LocationsUnavailable
from backbone.locations.models import Connector, Evse, Location, SearchArea
from backbone.partners import schemas
from backbone.partners.errors import CALL_FAILURES, NotFound, is_transient
from backbone.partners.plugsurfing import PlugsurfingClient

T = TypeVar("T")


class PlugsurfingLocations:
    def __init__(self, client: PlugsurfingClient, api: Literal["drive", "emp"]) -> None:
        self.client = client
        self.emp = api == "emp"

    def search(self, area: SearchArea) -> list[Location]:
        filters = None
        if area.filters is not None:
            filters = schemas.GeosearchFilters(
                connector_standards=_listed(area.filters.connector_standards),
                location_statuses=_listed(area.filters.location_statuses),
                power_type=area.filters.power_type,
            )
        found = _call(
            lambda: self.client.geosearch_radius(
                area.latitude, area.longitude, area.radius_meters, filters, emp=self.emp
            )
        )
        return [_location(location) for location in found.locations]

    def location(self, location_id: str) -> Location | None:
        try:
            return _location(_call(lambda: self.client.get_location(location_id, emp=self.emp)))
        except _Gone:
            return None


class _Gone(Exception):
    pass


def _call(call: Callable[[], T]) -> T:
    try:
        return call()
    except NotFound as error:
        raise _Gone from error
    except CALL_FAILURES as error:
        if is_transient(error):
            raise LocationsUnavailable("Plugsurfing geosearch is unavailable; try again shortly") from error
        raise LocationsRefused(f"Plugsurfing refused the geosearch: {error}") from error


def _listed(values: tuple[str, ...] | None) -> list[str] | None:
    return None if values is None else list(values)


def _location(found: schemas.Location) -> Location:
    coordinates = found.coordinates
    return Location(
        location_id=found.id,
        name=found.name,
        latitude=None if coordinates is None else coordinates.latitude,
        longitude=None if coordinates is None else coordinates.longitude,
        operator=None if found.operator is None else found.operator.name,
        address=found.address,
        postal_code=found.postal_code,
        city=found.city,
        country=found.country,
        evses=tuple(
            Evse(
                evse_id=evse.evse_id,
                uid=evse.uid,
                status=evse.status,
                connectors=tuple(
                    Connector(
                        connector_id=c.id, standard=c.standard, power_w=c.power, power_type=c.power_type
                    )
                    for c in evse.connectors
                ),
            )
            for evse in found.evses
        ),
    )
