"""KeyReconcileFunction: scheduled comparison of ChargingKeysTable with Plugsurfing's keys.

The event may carry `{"repair": true|false}` (the schedule's Input, or a manual invoke);
without it the KEY_RECONCILE_REPAIR setting decides. Returns the drift summary.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from backbone.keys.reconcile import reconcile
from backbone.keys.settings import KeyReconcileSettings
from backbone.keys.wiring import key_reconcile_dependencies
from backbone.observability import logger, metrics, tracer
from backbone.settings import load_settings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    repair = event.get("repair") if isinstance(event, dict) else None
    settings = load_settings(KeyReconcileSettings)
    report = reconcile(
        key_reconcile_dependencies(settings), repair=repair if isinstance(repair, bool) else None
    )
    return report.answer()
