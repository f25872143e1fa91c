"""Data of the locations capability: the internal API's requests (validated here, so bad input is
a 400 before anything is called) and what logic returns (a location, an EVSE and its connectors,
a connector lookup's match). Field names are camelCase on the wire."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from backbone.oioi.identifiers import canonical_evse_id

MAX_RADIUS_M = 50_000
"""Widest search we pass on: a city; wider searches return more than an app can show."""
DEFAULT_SEARCH_RADIUS_M = 3_000  # the seed's example
DEFAULT_LOOKUP_RADIUS_M = 1_000
"""An EVSE id is looked for within this of the point given (the app knows roughly where)."""

Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
RadiusMeters = Annotated[int, Field(ge=1, le=MAX_RADIUS_M)]
Text = Annotated[str, Field(min_length=1, max_length=100)]

# The pre-eMI3 (DIN SPEC 91286) form still printed on chargers and sent by partners: country,
# operator and the EVSE part without the `E`, the `*` separators required (`DE*ION*1234*1`).
_LEGACY_EVSE_ID = re.compile(r"([A-Za-z]{2})\*([A-Za-z0-9]{3})\*([A-Za-z0-9][A-Za-z0-9*]{0,29})")


def evse_match_key(value: str) -> str | None:
    """What two spellings of one EVSE id have in common: the canonical eMI3 id
    (`backbone.oioi.identifiers.canonical_evse_id`: case and the optional `*` do not matter), or
    for the older form without `E` its upper-case text. None: not an EVSE id at all."""
    canonical = canonical_evse_id(value)
    if canonical is not None:
        return canonical
    legacy = _LEGACY_EVSE_ID.fullmatch(value.strip())
    return legacy.group(0).upper() if legacy else None


class _Wire(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, frozen=True
    )


class _Request(_Wire):
    model_config = ConfigDict(extra="forbid")


# --- requests -------------------------------------------------------------------------------------


class SearchFilters(_Request):
    """The seed's optional filters (Drive geosearch body), passed on as given."""

    connector_standards: tuple[Text, ...] | None = Field(default=None, max_length=20)
    location_statuses: tuple[Text, ...] | None = Field(default=None, max_length=20)
    power_type: Literal["AC", "DC"] | None = None


class SearchRequest(_Request):
    """`POST /internal/locations/search`."""

    latitude: Latitude
    longitude: Longitude
    radius_meters: RadiusMeters = DEFAULT_SEARCH_RADIUS_M
    filters: SearchFilters | None = None


class ConnectorQuery(_Request):
    """`GET /internal/connectors?evseId=...&latitude=...&longitude=...[&radiusMeters=...]` or
    `...?evseId=...&locationId=...`. Plugsurfing finds connectors by position (geosearch) or by
    location id, never by EVSE id, so one of the two must come with the EVSE id."""

    evse_id: Annotated[str, Field(min_length=1, max_length=64)]
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    radius_meters: RadiusMeters = DEFAULT_LOOKUP_RADIUS_M
    location_id: Text | None = None

    @field_validator("evse_id")
    @classmethod
    def _an_evse_id(cls, value: str) -> str:
        if evse_match_key(value) is None:
            raise ValueError(
                "not an EVSE id: expected country(2)*operator(3)*E<id>, e.g. DE*ION*E1234*1 "
                "(the `*` after the country and the case are optional; the older DE*ION*1234*1 is accepted)"
            )
        return value.strip()

    @model_validator(mode="after")
    def _somewhere(self) -> ConnectorQuery:
        has_point = self.latitude is not None and self.longitude is not None
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        if not has_point and self.location_id is None:
            raise ValueError(
                "an EVSE id alone cannot be resolved: Plugsurfing finds connectors by geosearch only. "
                f"Add latitude and longitude near the charger (searched within radiusMeters, default "
                f"{DEFAULT_LOOKUP_RADIUS_M}) or the charger's locationId"
            )
        return self

    @property
    def point(self) -> tuple[float, float]:
        """(latitude, longitude); only asked for when no `location_id` was given."""
        if self.latitude is None or self.longitude is None:
            raise ValueError("no point given")
        return self.latitude, self.longitude

    @property
    def match_key(self) -> str:
        key = evse_match_key(self.evse_id)
        assert key is not None  # validated above
        return key


# --- results --------------------------------------------------------------------------------------


class Connector(_Wire):
    connector_id: str
    """Plugsurfing's opaque id: what a remote start takes (`connectorId`)."""
    standard: str | None = None
    power_w: float | None = None
    power_type: str | None = None


class Evse(_Wire):
    evse_id: str | None
    """As Plugsurfing spells it."""
    uid: str | None = None
    status: str | None = None
    connectors: tuple[Connector, ...] = ()


class Location(_Wire):
    location_id: str
    name: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    distance_meters: int | None = None
    """From the point searched around (filled in by the search)."""
    operator: str | None = None
    address: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    evses: tuple[Evse, ...] = ()


class SearchArea(_Wire):
    """What the partner is asked: a point, a radius and the filters (also the cache key)."""

    latitude: float
    longitude: float
    radius_meters: int
    filters: SearchFilters | None = None


class SearchResult(_Wire):
    locations: tuple[Location, ...]

    def view(self) -> dict[str, Any]:
        return {"count": len(self.locations), **self.model_dump(mode="json", by_alias=True)}


class ConnectorMatch(_Wire):
    """`GET /internal/connectors`: the EVSE found and the connector id(s) to start a session on."""

    evse_id: str
    """The canonical id (`DE*ION*E1234*1`), whatever spelling was asked for."""
    partner_evse_id: str | None
    """As Plugsurfing spells it."""
    status: str | None
    location_id: str
    location_name: str | None = None
    connectors: tuple[Connector, ...]

    @property
    def connector_ids(self) -> list[str]:
        return [connector.connector_id for connector in self.connectors]

    def view(self) -> dict[str, Any]:
        return {**self.model_dump(mode="json", by_alias=True), "connectorIds": self.connector_ids}
