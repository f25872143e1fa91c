"""CdrReconcileFunction (hourly): completed Plugsurfing sessions without a final CDR are put on
CdrQueue again. Returns the counts (also sent as metrics)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from backbone.cdr.reconcile import reconcile
from backbone.cdr.settings import CdrReconcileSettings
from backbone.cdr.wiring import cdr_reconcile_dependencies
from backbone.observability import logger, metrics, tracer
from backbone.settings import load_settings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings(CdrReconcileSettings)
    return reconcile(cdr_reconcile_dependencies(settings)).as_dict()
