"""The OIOI endpoint, `POST /api/v4/request`: one function for every message a partner sends us.

Decorators, one call into `backbone.receiver.dispatch.receive`, and the one exception handler
that turns every error into its HTTP status and OIOI body (`responses.error_answer`).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from backbone.errors import NotFound
from backbone.observability import MetricUnit, logger, metrics, tracer
from backbone.receiver.dispatch import event_body, receive
from backbone.receiver.responses import Answer, error_answer
from backbone.receiver.settings import OioiReceiverSettings
from backbone.receiver.wiring import forget, oioi_receiver_dependencies
from backbone.settings import load_settings
from backbone.snapstart import prepare_snapshot

app = APIGatewayRestResolver()


prepare_snapshot(services=["dynamodb", "sqs"], forget=forget)  # SnapStart, when on


@app.post("/api/v4/request")
def oioi_request() -> Response[str]:
    event = app.current_event
    body = event_body(event.body, bool(event.is_base64_encoded))
    context = event.request_context.authorizer.get_context()
    deps = oioi_receiver_dependencies(load_settings(OioiReceiverSettings))
    return _respond(receive(body, context, deps))


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
