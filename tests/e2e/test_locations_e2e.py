"""Locations on the local stack (`make run`, EMP mode, the template's default): over the SigV4-
signed internal API, a search around a seeded simulator location finds it, an EVSE id in another
spelling resolves to its connector id, and bad input is a 400 that says what to fix
(docs/locations.md)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

pytestmark = pytest.mark.e2e

SEED_POINT = {"latitude": 52.331142, "longitude": 13.145221}  # seed 000's example; the simulator's
SEEDED_CONNECTOR = "abcJd/vR5fvzBa0X/gxaXA=="  # of DE*ION*E1234*1 at LOC-DE-POTSDAM-1


def signed(stack: Any, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    """A request to the internal API signed like `curl --aws-sigv4 aws:amz:<region>:execute-api`."""
    url = f"{stack.api_url}{path}"
    data = None if body is None else json.dumps(body)
    request = AWSRequest(method=method, url=url, data=data, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("testing", "testing"), "execute-api", stack.region).add_auth(request)
    return httpx.request(method, url, content=data, headers=dict(request.headers.items()), timeout=30)


def connectors(stack: Any, **query: object) -> httpx.Response:
    return signed(stack, "GET", f"/internal/connectors?{urlencode(query)}")


def test_given_a_seeded_location_when_searching_around_it_then_it_is_found_nearest_first(stack: Any) -> None:
    response = signed(stack, "POST", "/internal/locations/search", {**SEED_POINT, "radiusMeters": 3000})

    assert response.status_code == 200, response.text
    locations = response.json()["locations"]
    assert locations[0]["locationId"] == "LOC-DE-POTSDAM-1"
    assert locations[0]["distanceMeters"] < 100
    assert locations[0]["evses"][0]["connectors"][0]["connectorId"] == SEEDED_CONNECTOR


def test_given_a_seeded_evse_id_in_lower_case_then_its_connector_id_and_status_come_back(stack: Any) -> None:
    response = connectors(stack, evseId="de*ion*e1234*1", **SEED_POINT)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["connectorIds"] == [SEEDED_CONNECTOR]
    assert body["evseId"] == "DE*ION*E1234*1"
    assert body["status"] == "AVAILABLE"


def test_given_a_location_added_at_the_partner_then_its_evse_resolves(stack: Any) -> None:
    seed = {
        "id": "LOC-E2E-MUC",
        "latitude": 48.137154,
        "longitude": 11.576124,
        "evses": [{"evse_id": "DE*E2E*E0001*1", "status": "AVAILABLE", "connectors": [{"id": "ZTJl/MQ+=="}]}],
    }
    httpx.post(f"{stack.sim_url}/_sim/locations", json=seed, timeout=10).raise_for_status()

    response = connectors(stack, evseId="DEE2EE0001*1", locationId="LOC-E2E-MUC")

    assert response.status_code == 200, response.text
    assert response.json()["connectorIds"] == ["ZTJl/MQ+=="]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"evseId": "DE*ION*E1234*1"}, "geosearch only"),
        ({"evseId": "not an evse", **SEED_POINT}, "not an EVSE id"),
        ({"evseId": "DE*ION*E1234*1", "latitude": 123, "longitude": 13}, "latitude"),
        ({"evseId": "DE*ION*E1234*1", **SEED_POINT, "radiusMeters": 10**6}, "radiusMeters"),
    ],
)
def test_given_a_malformed_lookup_then_400_saying_what_to_fix(
    stack: Any, query: dict[str, object], fragment: str
) -> None:
    response = connectors(stack, **query)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["message"]


def test_given_a_search_without_coordinates_then_400(stack: Any) -> None:
    response = signed(stack, "POST", "/internal/locations/search", {"radiusMeters": 3000})
    assert response.status_code == 400
    assert "latitude" in response.json()["message"]


def test_given_an_unsigned_request_then_it_is_refused(stack: Any) -> None:
    response = httpx.get(f"{stack.api_url}/internal/connectors?evseId=DE*ION*E1234*1", timeout=10)
    assert response.status_code == 403


def test_the_internal_api_document_is_served(stack: Any) -> None:
    response = httpx.get(f"{stack.api_url}/openapi-internal.yaml", timeout=10)
    assert response.status_code == 200
    assert "/internal/connectors" in response.text
