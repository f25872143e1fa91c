"""Geosearch: radius search around a point (seed 000) and location by id, Drive and EMP bases."""

from __future__ import annotations

import pytest

from simulator.locations import haversine_m

SEED_POINT = "latitude=52.331142&longitude=13.145221"  # the seed's curl example


@pytest.fixture
def api(partner, request):
    """The same operations behind the Drive base and the EMP base."""
    return getattr(partner, request.param)


@pytest.mark.parametrize("api", ["drive", "emp"], indirect=True)
def test_given_the_seed_point_when_searching_3km_then_the_nearby_location_comes_in_the_seed_shape(api):
    response = api("POST", f"/geosearch/radius?{SEED_POINT}&distance=3000&aggregate=false", {})
    assert response.status_code == 200
    locations = response.json["locations"]
    assert [loc["id"] for loc in locations] == ["LOC-DE-POTSDAM-1"]
    location = locations[0]
    assert isinstance(location["coordinates"]["latitude"], str)
    assert set(location) >= {"id", "name", "coordinates", "evses", "operator", "opening_times", "country"}
    assert set(location) >= {"city", "postal_code", "address"}
    evse = location["evses"][0]
    assert evse["evse_id"] == "DE*ION*E1234*1"
    assert set(evse) >= {"uid", "status", "connectors"}
    assert set(evse["connectors"][0]) == {"id", "standard", "power", "power_type"}
    assert response.json["aggregates"] == []


def test_given_a_wider_radius_then_more_locations_nearest_first(partner):
    locations = partner.drive("POST", f"/geosearch/radius?{SEED_POINT}&distance=5000", {}).json["locations"]
    assert [loc["id"] for loc in locations] == ["LOC-DE-POTSDAM-1", "LOC-DE-POTSDAM-2"]


def test_given_haversine_then_one_degree_of_latitude_is_about_111_km():
    assert haversine_m(52.0, 13.0, 53.0, 13.0) == pytest.approx(111_195, rel=1e-3)


def test_given_filters_then_only_matching_evses_and_connectors_are_returned(partner):
    body = {"filters": {"locationStatuses": ["AVAILABLE"], "connectorStandards": ["IEC_62196_T2"]}}
    response = partner.drive("POST", f"/geosearch/radius?{SEED_POINT}&distance=5000", body)
    locations = response.json["locations"]
    assert [loc["id"] for loc in locations] == ["LOC-DE-POTSDAM-2"]
    assert [e["evse_id"] for e in locations[0]["evses"]] == ["DE*ION*1234*1"]


def test_given_a_power_type_filter_then_ac_excludes_dc_connectors(partner):
    body = {"filters": {"powerType": "AC"}}
    locations = partner.drive("POST", f"/geosearch/radius?{SEED_POINT}&distance=5000", body).json["locations"]
    connectors = [c for loc in locations for e in loc["evses"] for c in e["connectors"]]
    assert connectors
    assert all(c["power_type"].startswith("AC") for c in connectors)


def test_given_aggregate_true_then_locations_are_counted_per_cell(partner):
    response = partner.drive("POST", f"/geosearch/radius?{SEED_POINT}&distance=5000&aggregate=true", {})
    assert sum(a["count"] for a in response.json["aggregates"]) == 2


def test_given_nothing_in_range_then_an_empty_list(partner):
    response = partner.drive("POST", "/geosearch/radius?latitude=0&longitude=0&distance=1000", {})
    assert response.status_code == 200
    assert response.json["locations"] == []


@pytest.mark.parametrize(
    "query",
    [
        "longitude=13&distance=100",
        "latitude=91&longitude=13&distance=100",
        "latitude=x&longitude=1&distance=1",
    ],
)
def test_given_bad_coordinates_then_400(partner, query):
    response = partner.drive("POST", f"/geosearch/radius?{query}", {})
    assert response.status_code == 400
    assert "message" in response.json


@pytest.mark.parametrize("api", ["drive", "emp"], indirect=True)
def test_given_a_location_id_then_it_is_returned_and_an_unknown_one_is_404(api):
    assert api("GET", "/locations/LOC-NL-AMS-1").json["evses"][0]["evse_id"] == "NL*ALL*EGO0000013*2"
    assert api("GET", "/locations/nowhere").status_code == 404


def test_given_a_location_added_through_admin_then_search_finds_it_and_reset_drops_it(sim, partner):
    seed = {
        "id": "LOC-TEST",
        "latitude": 48.1,
        "longitude": 11.5,
        "evses": [{"evse_id": "DE*TST*E1*1", "connectors": [{"id": "c/1+=="}]}],
    }
    assert sim.app.test_client().post("/_sim/locations", json=seed).status_code == 201
    found = partner.drive("POST", "/geosearch/radius?latitude=48.1&longitude=11.5&distance=10", {}).json
    assert [loc["id"] for loc in found["locations"]] == ["LOC-TEST"]
    assert sim.app.test_client().post("/_sim/locations", json={**seed, "typo": 1}).status_code == 400
    state = sim.app.test_client().get("/_sim/state").json
    assert "LOC-TEST" in [loc["id"] for loc in state["locations"]]
    sim.reset()
    assert partner.drive("GET", "/locations/LOC-TEST").status_code == 404
    assert partner.drive("GET", "/locations/LOC-DE-POTSDAM-1").status_code == 200


def test_given_no_api_key_then_geosearch_is_forbidden(sim):
    response = sim.app.test_client().post(f"/drive/v1/geosearch/radius?{SEED_POINT}&distance=3000", json={})
    assert response.status_code == 403
