"""Internal session API (InternalApi, IAM-authorised) and the SessionStartQueue consumer.

POST /internal/sessions              start (idempotent on requestId)  -> 202 new, 200 repeat;
                                     by connectorId, or evseId + where (409: several connectors)
GET  /internal/sessions/{id}         status and history (request id or partner session id)
POST /internal/sessions/{id}/stop    remote stop, then poll soon      -> 202
SQS  SessionStartQueue               the same start, one message per request
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from backbone.errors import DomainError
from backbone.observability import bind_correlation, logger, metrics, record_scope, tracer
from backbone.sessions.commands import find_session, request_stop, submit_start
from backbone.sessions.errors import EvseHasSeveralConnectors
from backbone.sessions.models import StartRequest
from backbone.sessions.ports import ApiDependencies
from backbone.sessions.settings import SessionApiSettings
from backbone.sessions.wiring import session_api_dependencies
from backbone.settings import load_settings

app = APIGatewayRestResolver()
processor = BatchProcessor(event_type=EventType.SQS)


def dependencies() -> ApiDependencies:
    settings = load_settings(SessionApiSettings)
    return session_api_dependencies(settings)


@app.post("/internal/sessions")
def start_session() -> Response[str]:
    identity = app.current_event.request_context.identity
    caller = identity.user_arn or identity.caller or "unknown"
    request = StartRequest.model_validate_json(app.current_event.body or "").model_copy(
        update={"requested_by": caller}
    )
    bind_correlation(session_request_id=request.request_id, caller=caller)
    record, created = submit_start(request, dependencies())
    return _json(202 if created else 200, {**record.view(), "created": created})


@app.get("/internal/sessions/<identifier>")
def get_session(identifier: str) -> Response[str]:
    bind_correlation(session_request_id=identifier)
    return _json(200, find_session(identifier, dependencies().store).view())


@app.post("/internal/sessions/<identifier>/stop")
def stop_session(identifier: str) -> Response[str]:
    bind_correlation(session_request_id=identifier)
    return _json(202, request_stop(identifier, dependencies()).view())


@app.exception_handler(ValidationError)
def invalid_request(error: ValidationError) -> Response[str]:
    problems = [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in error.errors()]
    return _json(400, {"error": "InvalidRequest", "message": "invalid start request", "problems": problems})


@app.exception_handler(DomainError)
def refused(error: DomainError) -> Response[str]:
    return _json(error.http_status, {"error": type(error).__name__, "message": error.detail})


@app.exception_handler(EvseHasSeveralConnectors)
def choose_a_connector(error: EvseHasSeveralConnectors) -> Response[str]:
    body = {"error": type(error).__name__, "message": error.detail, "evseId": error.evse_id}
    return _json(error.http_status, {**body, "connectors": error.connectors})


def start_from_queue(record: SQSRecord) -> None:
    """One SessionStartQueue message: a StartRequest as JSON."""
    with record_scope():
        request = StartRequest.model_validate_json(record.body).model_copy(update={"requested_by": "queue"})
        bind_correlation(session_request_id=request.request_id)
        submit_start(request, dependencies())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" in event:
        return process_partial_response(
            event=event, record_handler=start_from_queue, processor=processor, context=context
        )
    return app.resolve(event, context)


def _json(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))
