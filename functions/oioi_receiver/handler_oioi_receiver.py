"""The OIOI endpoint, `POST /api/v4/request`: one function for every message a partner sends us.

Decorators, one call into `backbone.receiver.dispatch.receive`, and the one exception handler
that turns every error into its HTTP status and OIOI body (`responses.error_answer`).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from backbone.errors import NotFound
from backbone.observability import MetricUnit, logger, metrics, tracer
from backbone.partner_health.wiring import activity_recorder
from backbone.receiver.dispatch import event_body, receive
from backbone.receiver.responses import Answer, error_answer
from backbone.receiver.settings import OioiReceiverSettings
from backbone.receiver.store import AwsBackends
from backbone.settings import load_settings
from backbone.timeutil import utc_now

app = APIGatewayRestResolver()


@cache
def backends() -> AwsBackends:
    return AwsBackends(load_settings(OioiReceiverSettings))


@app.post("/api/v4/request")
def oioi_request() -> Response[str]:
    event = app.current_event
    body = event_body(event.body, bool(event.is_base64_encoded))
    context = event.request_context.authorizer.get_context()
    return _respond(receive(body, context, backends(), utc_now(), activity_recorder().note))


@app.exception_handler(Exception)
def _refused(error: Exception) -> Response[str]:
    answer = error_answer(error)
    if answer.status >= 500:
        logger.exception("request failed", extra={"status": answer.status})
    else:
        logger.info("request refused", extra={"status": answer.status, "result": answer.body["result"]})
    return _respond(answer)


@app.not_found
def _no_route(_: Exception) -> Response[str]:
    return _respond(error_answer(NotFound("the OIOI endpoint is POST /api/v4/request")))


def _respond(answer: Answer) -> Response[str]:
    metrics.add_metric(name=f"OioiStatus{answer.status // 100}xx", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=answer.status,
        content_type="application/json",
        body=json.dumps(answer.body, separators=(",", ":")),
        headers=dict(answer.headers),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
