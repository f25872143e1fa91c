"""Wiring: the partner mode picks the Drive or EMP geosearch, the cache follows the settings, one
set of dependencies per process; the lookup other functions get resolves like the API does."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import pytest

from backbone.locations.cache import TtlCache
from backbone.locations.lookup import ConnectorLookup
from backbone.locations.models import ConnectorQuery
from backbone.locations.partner import PlugsurfingLocations
from backbone.locations.ports import Dependencies
from backbone.locations.settings import LocationsApiSettings
from backbone.locations.wiring import connector_lookup, locations_api_dependencies
from backbone.settings import PlugsurfingApiSettings

BASE = {
    "drive_api_base_url": "https://drive-api-stage.plugsurfing.com/drive",
    "plugsurfing_api_key_secret": "s",
}


@pytest.mark.parametrize(("mode", "emp"), [("drive", False), ("emp", True)])
def test_given_a_partner_mode_then_the_geosearch_of_that_api_is_wired(
    mode: Literal["drive", "emp"], emp: bool
) -> None:
    settings = LocationsApiSettings.model_validate(
        {**BASE, "partner_mode": mode, "locations_cache_seconds": 5}
    )
    deps = locations_api_dependencies(settings)
    assert isinstance(deps.partner, PlugsurfingLocations)
    assert deps.partner.emp is emp
    assert isinstance(deps.searches, TtlCache)
    assert deps.searches.ttl == timedelta(seconds=5)
    assert locations_api_dependencies(settings) is deps


def test_given_the_session_functions_settings_then_a_cached_lookup_is_built() -> None:
    settings = PlugsurfingApiSettings.model_validate(BASE)
    lookup = connector_lookup(settings)
    assert isinstance(lookup, ConnectorLookup)
    assert connector_lookup(settings) is lookup


def test_given_a_lookup_then_it_resolves_as_the_api_does(deps: Dependencies) -> None:
    query = ConnectorQuery.model_validate(
        {"evseId": "de*ion*e1234*1", "latitude": 52.331142, "longitude": 13.145221}
    )
    assert ConnectorLookup(deps).resolve(query).connector_ids == ["abcJd/vR5fvzBa0X/gxaXA=="]
