"""Internal locations API (InternalApi, IAM-authorised): find where to charge and the connector id
a remote start needs, without the app holding Plugsurfing's API key. docs/locations.md

POST /internal/locations/search   locations around a point (the seed's geosearch filters)
GET  /internal/connectors         ?evseId=...&latitude=...&longitude=...[&radiusMeters=...]
                                  or ?evseId=...&locationId=...: the EVSE's connector id(s), status
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from backbone.errors import DomainError
from backbone.locations.lookup import find_connector, search_locations
from backbone.locations.models import ConnectorQuery, SearchRequest
from backbone.locations.ports import Dependencies
from backbone.locations.settings import LocationsApiSettings
from backbone.locations.wiring import locations_api_dependencies
from backbone.observability import bind_correlation, logger, metrics, tracer
from backbone.settings import load_settings

app = APIGatewayRestResolver()


def dependencies() -> Dependencies:
    return locations_api_dependencies(load_settings(LocationsApiSettings))


@app.post("/internal/locations/search")
def search() -> Response[str]:
    request = SearchRequest.model_validate_json(app.current_event.body or "")
    return _json(200, search_locations(request, dependencies()).view())


@app.get("/internal/connectors")
def connectors() -> Response[str]:
    query = ConnectorQuery.model_validate(app.current_event.query_string_parameters or {})
    bind_correlation(evse_id=query.match_key)
    return _json(200, find_connector(query, dependencies()).view())


@app.exception_handler(ValidationError)
def invalid_request(error: ValidationError) -> Response[str]:
    problems = [
        {"field": ".".join(map(str, e["loc"])) or "query", "message": e["msg"]}
        for e in error.errors(include_url=False, include_input=False)
    ]
    message = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return _json(400, {"error": "InvalidRequest", "message": message, "problems": problems})


@app.exception_handler(DomainError)
def refused(error: DomainError) -> Response[str]:
    return _json(error.http_status, {"error": type(error).__name__, "message": error.detail})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


def _json(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))
