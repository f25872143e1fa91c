"""WhitelistPushFunction: push the RFID whitelist (OIOI rfid-post) to Plugsurfing.

Fired by WhitelistSchedule, by a direct invoke (`{"trigger": "manual", "override": false,
"reason": "..."}`, e.g. `bbctl whitelist push`) and by the age probe (`{"trigger": "probe"}`).
Returns the audit record of the attempt (outcome SENT, SKIPPED_UNCHANGED, REFUSED_EMPTY,
REFUSED_SHRINK, FAILED or LOCKED). docs/whitelist-push.md
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from backbone.observability import logger, metrics, tracer
from backbone.settings import load_settings
from backbone.whitelist.settings import WhitelistPushSettings
from backbone.whitelist.trigger import handle_event
from backbone.whitelist.wiring import whitelist_push_dependencies


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings(WhitelistPushSettings)
    return handle_event(event, whitelist_push_dependencies(settings), context.aws_request_id)
