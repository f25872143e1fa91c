"""openapi-internal.yaml describes the locations routes as built: the template's routes, and the
handler's real answers satisfy the documented schemas."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import handler_locations_api
import pytest
import yaml
from cfnlint.decode.cfn_yaml import load
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

REPO = Path(__file__).resolve().parents[3]
SPEC: dict[str, Any] = yaml.safe_load((REPO / "openapi-internal.yaml").read_text())
TEMPLATE: Any = load(str(REPO / "template.yaml"))


def schema_of(name: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": SPEC["components"]})


def test_the_document_is_valid_openapi() -> None:
    validate(SPEC)


def routes_of(function: str) -> set[tuple[str, str]]:
    events = [
        e for e in TEMPLATE["Resources"][function]["Properties"]["Events"].values() if e["Type"] == "Api"
    ]
    assert all(e["Properties"]["RestApiId"] == {"Ref": "InternalApi"} for e in events)
    return {(e["Properties"]["Path"], e["Properties"]["Method"]) for e in events}


def test_the_documented_routes_are_the_functions_routes_on_the_internal_api() -> None:
    documented = {(path, method) for path, item in SPEC["paths"].items() for method in item}
    locations, sessions = routes_of("LocationsApiFunction"), routes_of("SessionApiFunction")
    assert locations <= documented
    assert documented <= locations | sessions
    assert ("/internal/sessions", "post") in documented


@pytest.mark.parametrize(
    ("event", "schema"),
    [
        ("locations/api-post-search-locations.json", "SearchResult"),
        ("locations/api-get-connectors.json", "ConnectorMatch"),
    ],
)
def test_given_a_sample_event_then_the_answer_satisfies_the_documented_schema(
    api: None, load_event: Callable[[str], Any], lambda_context: Any, event: str, schema: str
) -> None:
    response = handler_locations_api.handler(load_event(event), lambda_context)
    assert response["statusCode"] == 200
    schema_of(schema).validate(json.loads(response["body"]))


def test_given_bad_input_then_the_answer_satisfies_the_documented_400(
    api: None, load_event: Callable[[str], Any], lambda_context: Any
) -> None:
    event = {**load_event("locations/api-get-connectors.json"), "queryStringParameters": {"evseId": "x"}}
    response = handler_locations_api.handler(event, lambda_context)
    assert response["statusCode"] == 400
    schema_of("InvalidRequest").validate(json.loads(response["body"]))
