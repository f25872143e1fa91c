"""connector-post-status: a connector's dynamic status (OIOI "Connector Post Status").

Accepted only for connectors of stations the same partner pushed (OIOI, "Sending Dynamic Data").
The message has no timestamp, so we record when we received it and never let an older
request overwrite a newer one.
"""

from __future__ import annotations

from backbone.observability import bind_correlation, logger
from backbone.oioi.models import ConnectorPostStatus
from backbone.receiver.errors import EvseNotFound
from backbone.receiver.ports import Dependencies, Request
from backbone.receiver.responses import Answer, answer


def handle(message: ConnectorPostStatus, request: Request, deps: Dependencies) -> Answer:
    """0 when recorded (or superseded by a later report), 181 (404) for a connector that is not
    a live connector of one of the caller's stations."""
    bind_correlation(evse_id=message.connector_id)
    request.require_partner_identifier(message.partner_identifier)
    partner_id = request.caller.partner_id
    outcome = deps.stations.update_status(
        message.connector_id, partner_id, message.status.value, request.received_at
    )
    if outcome.applied:
        return answer()
    current = outcome.current
    if current is None or current.partner_id != partner_id or current.deleted:
        raise EvseNotFound(
            f"connector-post-status.connector-id: {message.connector_id!r} is not a connector of a "
            "station this partner pushed (send station-post first)"
        )
    logger.info("status older than the one recorded; ignored", extra={"recorded": current.status})
    return answer()
