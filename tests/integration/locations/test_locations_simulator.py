"""The locations capability as wired for a Lambda (partner adapter on the real PlugsurfingClient)
against the Plugsurfing simulator over HTTP, in both partner modes: the client reads the seed's
response shape, search finds the seeded locations, any spelling of a seeded EVSE id resolves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Literal

import pytest

from backbone.locations.cache import TtlCache
from backbone.locations.errors import EvseNotFound, LocationNotFound
from backbone.locations.lookup import find_connector, search_locations
from backbone.locations.models import ConnectorQuery, SearchRequest
from backbone.locations.partner import PlugsurfingLocations
from backbone.locations.ports import Dependencies
from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.partners.retry import RetryPolicy
from backbone.timeutil import utc_now
from simulator import DEFAULT_API_KEY, PlugsurfingSimulator

SEED_POINT = {"latitude": 52.331142, "longitude": 13.145221}


@pytest.fixture(scope="module")
def sim() -> Iterator[PlugsurfingSimulator]:
    with PlugsurfingSimulator(port=0) as running:
        yield running


@pytest.fixture(params=["drive", "emp"])
def deps(request: pytest.FixtureRequest, sim: PlugsurfingSimulator) -> Iterator[Dependencies]:
    sim.reset()
    mode: Literal["drive", "emp"] = request.param
    no_retry = RetryPolicy.no_retry()
    with PlugsurfingClient(sim.drive_base_url, DEFAULT_API_KEY, retry_policy=no_retry) as client:
        yield Dependencies(
            partner=PlugsurfingLocations(client, mode),
            searches=TtlCache(timedelta(seconds=60), 8, utc_now),
            locations=TtlCache(timedelta(seconds=60), 8, utc_now),
            clock=utc_now,
        )


def test_given_the_seed_point_when_searching_then_the_seeded_locations_come_nearest_first(
    deps: Dependencies,
) -> None:
    result = search_locations(SearchRequest.model_validate({**SEED_POINT, "radiusMeters": 5000}), deps)
    assert [loc.location_id for loc in result.locations] == ["LOC-DE-POTSDAM-1", "LOC-DE-POTSDAM-2"]
    first = result.locations[0]
    assert first.latitude == pytest.approx(52.33158)
    assert first.evses[0].connectors[0].connector_id == "abcJd/vR5fvzBa0X/gxaXA=="


def test_given_filters_then_the_simulator_applies_them(deps: Dependencies) -> None:
    filters = {"powerType": "AC", "locationStatuses": ["AVAILABLE"]}
    request = {**SEED_POINT, "radiusMeters": 5000, "filters": filters}
    result = search_locations(SearchRequest.model_validate(request), deps)
    assert [evse.evse_id for loc in result.locations for evse in loc.evses] == ["DE*ION*1234*1"]


@pytest.mark.parametrize(
    ("spelling", "connector_id"),
    [
        ("de*ion*e1234*1", "abcJd/vR5fvzBa0X/gxaXA=="),
        ("DE*SWP*E0042*1", "V2VyZGVyLTItMQ/AC+11=="),  # the partner spells it in lower case
        ("DE*ION*1234*1", "V2VyZGVyLTEtMQ/AC+22=="),  # the older form without E
    ],
)
def test_given_a_seeded_evse_id_in_another_spelling_then_its_connector_id_is_found(
    deps: Dependencies, spelling: str, connector_id: str
) -> None:
    query = ConnectorQuery.model_validate({"evseId": spelling, **SEED_POINT, "radiusMeters": 5000})
    assert find_connector(query, deps).connector_ids == [connector_id]


def test_given_a_location_id_then_the_evse_is_found_there_and_an_unknown_one_is_404(
    deps: Dependencies,
) -> None:
    query = ConnectorQuery.model_validate({"evseId": "se*cle*e0001*1", "locationId": "LOC-SE-STO-1"})
    assert find_connector(query, deps).partner_evse_id == "Se*Cle*E0001*1"
    with pytest.raises(LocationNotFound):
        find_connector(ConnectorQuery.model_validate({"evseId": "SE*CLE*E0001*1", "locationId": "x"}), deps)


def test_given_an_evse_far_away_then_404(deps: Dependencies) -> None:
    with pytest.raises(EvseNotFound):
        find_connector(ConnectorQuery.model_validate({"evseId": "NL*ALL*EGO0000013*2", **SEED_POINT}), deps)


def test_given_a_location_added_through_admin_then_it_is_found(
    deps: Dependencies, sim: PlugsurfingSimulator
) -> None:
    sim.add_location(
        id="LOC-MUC",
        latitude=48.137,
        longitude=11.575,
        evses=[{"evse_id": "DE*MUC*E77*1", "connectors": [{"id": "bXVj/77+1=="}]}],
    )
    query = ConnectorQuery.model_validate({"evseId": "demuce77*1", "latitude": 48.137, "longitude": 11.575})
    assert find_connector(query, deps).connector_ids == ["bXVj/77+1=="]
