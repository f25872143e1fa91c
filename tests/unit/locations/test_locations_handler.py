"""LocationsApiFunction with sample events (events/locations/) and in-memory dependencies:
routing, answers, and a clear 400 (never a 5xx) for bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import handler_locations_api
import pytest
from locationfakes import FakePartner


def call(event: dict[str, Any], context: Any) -> tuple[int, dict[str, Any]]:
    response = handler_locations_api.handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def with_query(event: dict[str, Any], query: dict[str, str] | None) -> dict[str, Any]:
    multi = None if query is None else {name: [value] for name, value in query.items()}
    return {**event, "queryStringParameters": query, "multiValueQueryStringParameters": multi}


def test_given_a_search_event_then_200_with_the_locations_nearest_first(
    api: None, load_event: Callable[[str], Any], lambda_context: Any
) -> None:
    event = load_event("locations/api-post-search-locations.json")
    event["body"] = json.dumps({"latitude": 52.331142, "longitude": 13.145221, "radiusMeters": 5000})
    status, body = call(event, lambda_context)
    assert status == 200
    assert [loc["locationId"] for loc in body["locations"]] == ["L-NEAR", "L-FAR"]
    assert body["count"] == 2


def test_given_a_connector_lookup_event_then_200_with_the_connector_ids(
    api: None, load_event: Callable[[str], Any], lambda_context: Any
) -> None:
    status, body = call(load_event("locations/api-get-connectors.json"), lambda_context)
    assert status == 200
    assert body["connectorIds"] == ["abcJd/vR5fvzBa0X/gxaXA=="]
    assert body["evseId"] == "DE*ION*E1234*1"
    assert body["status"] == "AVAILABLE"


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"evseId": "DE*ION*E1234*1"}, "geosearch only"),
        (None, "evseId"),
        ({"evseId": "DE-ION-1234", "latitude": "52", "longitude": "13"}, "not an EVSE id"),
        ({"evseId": "DE*ION*E1*1", "latitude": "52", "longitude": "13", "radiusMeters": "99999"}, "radius"),
        ({"evseId": "DE*ION*E1234*1", "latitude": "north", "longitude": "13"}, "latitude"),
    ],
)
def test_given_a_bad_lookup_then_400_naming_the_problem_and_the_partner_is_not_asked(
    api: None,
    partner: FakePartner,
    load_event: Callable[[str], Any],
    lambda_context: Any,
    query: dict[str, str] | None,
    fragment: str,
) -> None:
    event = with_query(load_event("locations/api-get-connectors.json"), query)
    status, body = call(event, lambda_context)
    assert status == 400
    assert body["error"] == "InvalidRequest"
    assert fragment in body["message"]
    assert partner.searches == []


@pytest.mark.parametrize(
    "raw",
    ["not json", "[]", json.dumps({"latitude": 52}), json.dumps({"latitude": 52, "longitude": 13, "x": 1})],
)
def test_given_a_bad_search_body_then_400(
    api: None, load_event: Callable[[str], Any], lambda_context: Any, raw: str
) -> None:
    event = load_event("locations/api-post-search-locations.json")
    event["body"] = raw
    status, body = call(event, lambda_context)
    assert status == 400
    assert body["problems"]


def test_given_an_evse_nowhere_near_then_404(
    api: None, load_event: Callable[[str], Any], lambda_context: Any
) -> None:
    event = with_query(
        load_event("locations/api-get-connectors.json"),
        {"evseId": "NL*ALL*EGO0000013*2", "latitude": "52.33", "longitude": "13.14"},
    )
    status, body = call(event, lambda_context)
    assert status == 404
    assert body["error"] == "EvseNotFound"


def test_given_the_partner_down_then_503_to_try_again(
    api: None, partner: FakePartner, load_event: Callable[[str], Any], lambda_context: Any
) -> None:
    partner.down = True
    status, body = call(load_event("locations/api-get-connectors.json"), lambda_context)
    assert status == 503
    assert body["error"] == "LocationsUnavailable"
