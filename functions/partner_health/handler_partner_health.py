"""PartnerHealthFunction (scheduled): every watched partner's silence per message family as
metrics, and the count of silent partners PartnerSilenceAlarm watches. Returns the report."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from backbone.observability import logger, metrics, tracer
from backbone.partner_health.check import check_partners
from backbone.partner_health.settings import PartnerHealthSettings
from backbone.partner_health.wiring import health_dependencies
from backbone.settings import load_settings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return check_partners(health_dependencies(load_settings(PartnerHealthSettings))).as_dict()
