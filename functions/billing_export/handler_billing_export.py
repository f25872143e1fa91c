"""BillingExportFunction (daily): the previous UTC day's final CDRs and corrections to the export
bucket, one CSV per partner and a manifest (docs/billing-feed.md, "Export"). Invoked with
`{"day": "YYYY-MM-DD"}` or `{"from": ..., "to": ...}` it re-exports past days (backfill)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from backbone.billing.export import run_export
from backbone.billing.models import ExportRequest
from backbone.billing.settings import BillingExportSettings
from backbone.billing.wiring import billing_export_dependencies
from backbone.observability import logger, metrics, tracer
from backbone.settings import load_settings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings(BillingExportSettings)
    return run_export(ExportRequest.model_validate(event), billing_export_dependencies(settings))
