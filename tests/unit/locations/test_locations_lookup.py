"""Searching around a point and resolving an EVSE id, on in-memory dependencies."""

from __future__ import annotations

import pytest
from locationfakes import POINT, FakeClock, FakePartner

from backbone.locations.errors import EvseNotFound, LocationNotFound, LocationsUnavailable
from backbone.locations.lookup import find_connector, search_locations
from backbone.locations.models import ConnectorQuery, SearchRequest
from backbone.locations.ports import Dependencies

LAT, LON = POINT


def near(evse_id: str, **extra: object) -> ConnectorQuery:
    return ConnectorQuery.model_validate({"evseId": evse_id, "latitude": LAT, "longitude": LON, **extra})


def test_given_locations_in_range_when_searching_then_nearest_first_with_distances(
    deps: Dependencies,
) -> None:
    result = search_locations(SearchRequest(latitude=LAT, longitude=LON, radius_meters=5000), deps)

    assert [loc.location_id for loc in result.locations] == ["L-NEAR", "L-FAR"]
    distances = [loc.distance_meters for loc in result.locations]
    assert distances[0] is not None
    assert distances[0] < 100
    assert distances[1] == pytest.approx(4400, rel=0.05)
    assert result.view()["count"] == 2
    first_connector = result.view()["locations"][0]["evses"][0]["connectors"][0]
    assert first_connector["connectorId"] == "abcJd/vR5fvzBa0X/gxaXA=="


@pytest.mark.parametrize("spelling", ["DE*ION*E1234*1", "de*ion*e1234*1", "DEIONE1234*1", " De*Ion*E1234*1 "])
def test_given_any_spelling_of_an_evse_id_then_its_connector_id_and_status_are_found(
    deps: Dependencies, spelling: str
) -> None:
    match = find_connector(near(spelling), deps)

    assert match.connector_ids == ["abcJd/vR5fvzBa0X/gxaXA=="]
    assert match.status == "AVAILABLE"
    assert match.evse_id == "DE*ION*E1234*1"
    assert match.location_id == "L-NEAR"


def test_given_an_evse_the_partner_spells_in_lower_case_then_the_canonical_query_finds_it(
    deps: Dependencies,
) -> None:
    match = find_connector(near("DE*SWP*E0042*1", radiusMeters=5000), deps)
    assert match.partner_evse_id == "de*swp*e0042*1"
    assert match.connector_ids == ["c-1", "c-2"]
    assert match.status == "OUTOFORDER"


def test_given_the_older_form_without_e_then_it_is_matched_case_insensitively(deps: Dependencies) -> None:
    match = find_connector(near("de*ion*1234*1", radiusMeters=5000), deps)
    assert match.connector_ids == ["V2VyZGVy/AC+22=="]


def test_given_an_evse_outside_the_radius_then_404_says_how_to_widen_the_search(deps: Dependencies) -> None:
    with pytest.raises(EvseNotFound, match="widen radiusMeters"):
        find_connector(near("DE*SWP*E0042*1"), deps)  # default 1000 m; it is 4.4 km away


def test_given_a_location_id_then_the_evse_is_looked_up_there(
    deps: Dependencies, partner: FakePartner
) -> None:
    query = ConnectorQuery.model_validate({"evseId": "DE*SWP*E0042*1", "locationId": "L-FAR"})
    assert find_connector(query, deps).connector_ids == ["c-1", "c-2"]
    assert partner.reads == ["L-FAR"]
    assert partner.searches == []


def test_given_an_unknown_location_id_then_404(deps: Dependencies) -> None:
    with pytest.raises(LocationNotFound):
        find_connector(ConnectorQuery.model_validate({"evseId": "DE*ION*E1*1", "locationId": "nope"}), deps)


def test_given_repeated_lookups_within_the_ttl_then_the_partner_is_asked_once_and_again_after(
    deps: Dependencies, partner: FakePartner, clock: FakeClock
) -> None:
    find_connector(near("DE*ION*E1234*1"), deps)
    find_connector(near("de*ion*e1234*1"), deps)
    search_locations(SearchRequest(latitude=LAT, longitude=LON, radius_meters=1000), deps)
    assert len(partner.searches) == 1

    clock.advance(61)
    find_connector(near("DE*ION*E1234*1"), deps)
    assert len(partner.searches) == 2


def test_given_different_filters_then_they_are_not_served_from_each_others_cache(
    deps: Dependencies, partner: FakePartner
) -> None:
    plain = SearchRequest(latitude=LAT, longitude=LON)
    filtered = SearchRequest.model_validate(
        {"latitude": LAT, "longitude": LON, "filters": {"powerType": "DC"}}
    )
    search_locations(plain, deps)
    search_locations(filtered, deps)
    assert [area.filters for area in partner.searches] == [None, filtered.filters]


def test_given_the_partner_down_then_the_error_surfaces_and_nothing_is_cached(
    deps: Dependencies, partner: FakePartner
) -> None:
    partner.down = True
    with pytest.raises(LocationsUnavailable):
        find_connector(near("DE*ION*E1234*1"), deps)
    partner.down = False
    assert find_connector(near("DE*ION*E1234*1"), deps).connector_ids
    assert len(partner.searches) == 2
