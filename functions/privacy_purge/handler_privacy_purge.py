"""PrivacyPurgeFunction (scheduled daily): the retention rules TTL cannot express (CDR driver
identity pseudonymised, legacy CDR items migrated, finished orders' addresses blanked).
Returns the report; raises when items failed (they are tried again the next day)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from backbone.observability import logger, metrics, tracer
from backbone.privacy.purge import purge
from backbone.privacy.settings import PrivacyPurgeSettings
from backbone.privacy.wiring import purge_dependencies
from backbone.settings import load_settings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return purge(purge_dependencies(load_settings(PrivacyPurgeSettings))).as_dict()
