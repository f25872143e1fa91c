"""Geosearch on PlugsurfingClient against a mocked Drive/EMP API: the seed's query, filters and
response shape (coordinates as strings, snake_case inside a location, fields we do not model)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import respx

from backbone.partners.errors import NotFound
from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.partners.schemas import GeosearchFilters

from .conftest import API_KEY, DRIVE_BASE, FakeTime

SEED_ANSWER = {  # seed 000, "Geosearch radius", trimmed
    "locations": [
        {
            "id": "connectorId",
            "name": "string",
            "coordinates": {"latitude": "52.331142", "longitude": "13.145221"},
            "evses": [
                {
                    "uid": "string",
                    "evse_id": "DE*ION*E1234*1",
                    "status": "AVAILABLE",
                    "connectors": [
                        {"id": "abcJd/vR5fvzBa0X/gxaXA==", "standard": "3PinSquare", "power": 0,
                         "power_type": "AC_1_PHASE"}
                    ],
                    "capabilities": ["CHARGING_PROFILE_CAPABLE"],
                    "last_updated": "2022-06-07T06:12:15.806Z",
                }
            ],
            "operator": {"id": "string", "name": "string"},
            "opening_times": {"twentyfourseven": True},
            "directions": [{"language": "st", "text": "string"}],
            "country": "str",
            "city": "string",
            "postal_code": "string",
            "address": "string",
        }
    ],
    "aggregates": [{"coordinates": {"latitude": "52.3", "longitude": "13.1"}, "count": 2}],
}  # fmt: skip


@pytest.fixture
def partner() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=DRIVE_BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def client(fake_time: FakeTime) -> Iterator[PlugsurfingClient]:
    with PlugsurfingClient(DRIVE_BASE, API_KEY, retry_policy=fake_time.policy()) as plugsurfing:
        yield plugsurfing


def test_given_a_point_and_filters_when_searching_then_the_seed_query_and_body_are_sent(partner, client):
    route = partner.post("/v1/geosearch/radius").respond(200, json=SEED_ANSWER)
    filters = GeosearchFilters(
        connector_standards=["3PinSquare"], location_statuses=["AVAILABLE"], power_type="AC"
    )

    result = client.geosearch_radius(52.331142, 13.145221, 3000, filters)

    sent = route.calls.last.request
    assert dict(sent.url.params) == {
        "latitude": "52.331142", "longitude": "13.145221", "distance": "3000", "aggregate": "false"
    }  # fmt: skip
    wanted = {"connectorStandards": ["3PinSquare"], "locationStatuses": ["AVAILABLE"], "powerType": "AC"}
    assert json.loads(sent.content) == {"filters": wanted}
    assert sent.headers["x-api-key"] == API_KEY
    location = result.locations[0]
    assert location.coordinates is not None
    assert location.coordinates.latitude == pytest.approx(52.331142)  # sent as a string
    assert location.evses[0].connectors[0].id == "abcJd/vR5fvzBa0X/gxaXA=="
    assert location.evses[0].evse_id == "DE*ION*E1234*1"
    assert location.postal_code == "string"
    assert result.aggregates[0].count == 2


def test_given_numeric_coordinates_and_unknown_fields_then_they_are_read(partner, client):
    answer = {"locations": [{"id": "L1", "coordinates": {"latitude": 52.3, "longitude": 13.1}, "new": 1}]}
    partner.post("/v1/geosearch/radius").respond(200, json=answer)
    location = client.geosearch_radius(52.3, 13.1, 100).locations[0]
    assert location.coordinates is not None
    assert location.coordinates.longitude == pytest.approx(13.1)
    assert location.evses == []


def test_given_a_5xx_when_searching_then_the_read_only_post_is_retried(partner, client):
    route = partner.post("/v1/geosearch/radius")
    route.side_effect = [httpx.Response(503), httpx.Response(200, json={"locations": []})]
    assert client.geosearch_radius(1.0, 2.0, 100).locations == []
    assert route.call_count == 2


def test_given_emp_when_searching_and_reading_a_location_then_the_emp_base_is_used(partner, client):
    search = partner.post("/emp/v1/geosearch/radius").respond(200, json={"locations": []})
    by_id = partner.get("/emp/v1/locations/L%2F1").respond(200, json={"id": "L/1"})
    client.geosearch_radius(1.0, 2.0, 100, emp=True)
    assert client.get_location("L/1", emp=True).id == "L/1"
    assert search.called
    assert by_id.called


def test_given_an_unknown_location_then_not_found(partner, client):
    partner.get("/v1/locations/nowhere").respond(404, json={"message": "Location not found"})
    with pytest.raises(NotFound):
        client.get_location("nowhere")
