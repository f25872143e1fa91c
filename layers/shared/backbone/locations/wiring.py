"""Build the locations capability's dependencies from settings, once per process: the cache and
the partner client live as long as the Lambda environment."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from backbone.locations.cache import TtlCache
from backbone.locations.models import Location, SearchArea
from backbone.locations.partner import PlugsurfingLocations
from backbone.locations.ports import Dependencies
from backbone.locations.settings import LocationsApiSettings
from backbone.partners.factory import API_RETRY, plugsurfing_client
from backbone.timeutil import utc_now


@cache
def locations_api_dependencies(settings: LocationsApiSettings) -> Dependencies:
    ttl = timedelta(seconds=settings.locations_cache_seconds)
    size = settings.locations_cache_entries
    return Dependencies(
        # A caller waits behind API Gateway's 29 s: the short API retry. The partner adapter is
        # where Drive or EMP is decided (seed 001 offers geosearch to both).
        partner=PlugsurfingLocations(plugsurfing_client(settings, API_RETRY), settings.partner_mode),
        searches=TtlCache[SearchArea, list[Location]](ttl, size, utc_now),
        locations=TtlCache[str, Location](ttl, size, utc_now),
        clock=utc_now,
    )
