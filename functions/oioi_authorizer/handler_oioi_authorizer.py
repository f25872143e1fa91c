"""API Gateway REQUEST authorizer of the OIOI endpoint: `Authorization: key=<api-key>` -> partner.

Allowed requests carry the partner, its allowed messages and partner identifiers in the
authorizer context, and the key's usage identifier: API Gateway throttles each partner key on its
own (usage plan OioiPartnerUsagePlan). API Gateway caches the answer per header value for
`ReauthorizeEvery`.
A malformed header is answered 401, an unknown or revoked key 403 (gateway responses, code 210).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from backbone.observability import MetricUnit, logger, metrics, tracer
from backbone.receiver.access import AccessDenied, MalformedCredentials, authenticate
from backbone.receiver.settings import OioiAuthorizerSettings
from backbone.receiver.wiring import forget, oioi_authorizer_dependencies
from backbone.settings import load_settings
from backbone.snapstart import prepare_snapshot


class Unauthorized(Exception):
    """API Gateway answers 401 (gateway response UNAUTHORIZED) when an authorizer fails with
    exactly the message "Unauthorized"."""


prepare_snapshot(services=["dynamodb"], forget=forget)  # SnapStart, when on


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayAuthorizerRequestEvent(event)
    deps = oioi_authorizer_dependencies(load_settings(OioiAuthorizerSettings))
    try:
        access = authenticate(request.headers.get("Authorization"), deps.access)
    except MalformedCredentials as exc:
        _count("Malformed")
        logger.info("refused: %s", exc)
        raise Unauthorized("Unauthorized") from None
    except AccessDenied as exc:
        _count("Denied")
        logger.info("refused: %s", exc)
        denied = APIGatewayAuthorizerResponse.from_route_arn(request.method_arn, principal_id="unknown")
        denied.deny_all_routes()
        return denied.asdict()
    _count("Allowed")
    caller = access.caller()
    logger.append_keys(partner_id=caller.partner_id, key_id=caller.key_id)
    allowed = APIGatewayAuthorizerResponse.from_route_arn(
        request.method_arn,
        principal_id=caller.partner_id,
        context=caller.to_context(),
        # API Gateway throttles per usage key (OioiPartnerUsagePlan, bbctl partners)
        usage_identifier_key=access.usage_key,
    )
    # The whole API, not this method: API Gateway caches the policy per key for every route.
    allowed.allow_all_routes()
    return allowed.asdict()


def _count(outcome: str) -> None:
    metrics.add_metric(name=f"OioiKey{outcome}", unit=MetricUnit.Count, value=1)
