"""Build the locations capability's dependencies from settings, once per process: the cache and
the partner client live as long as the Lambda environment."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from backbone.locations.cache import TtlCache
from backbone.locations.lookup import ConnectorLookup
from backbone.locations.models import Location, SearchArea
from backbone.locations.partner import PlugsurfingLocations
from backbone.locations.ports import Dependencies
from backbone.locations.settings import LocationsApiSettings
from backbone.partners.factory import API_RETRY, plugsurfing_client
from backbone.settings import PlugsurfingApiSettings
from backbone.timeutil import utc_now

_DEFAULTS = LocationsApiSettings.model_fields


@cache
def locations_api_dependencies(settings: LocationsApiSettings) -> Dependencies:
    return _dependencies(settings, settings.locations_cache_seconds, settings.locations_cache_entries)


@cache
def connector_lookup(settings: PlugsurfingApiSettings) -> ConnectorLookup:
    """The EVSE id -> connector lookup for another function of the internal API (the session
    start), with the locations API's default cache."""
    seconds = _DEFAULTS["locations_cache_seconds"].default
    entries = _DEFAULTS["locations_cache_entries"].default
    return ConnectorLookup(_dependencies(settings, seconds, entries))


def _dependencies(settings: PlugsurfingApiSettings, cache_seconds: int, cache_entries: int) -> Dependencies:
    ttl = timedelta(seconds=cache_seconds)
    return Dependencies(
        # A caller waits behind API Gateway's 29 s: the short API retry. The partner adapter is
        # where Drive or EMP is decided (seed 001 offers geosearch to both).
        partner=PlugsurfingLocations(plugsurfing_client(settings, API_RETRY), settings.partner_mode),
        searches=TtlCache[SearchArea, list[Location]](ttl, cache_entries, utc_now),
        locations=TtlCache[str, Location](ttl, cache_entries, utc_now),
        clock=utc_now,
    )
