"""session-post: a CDR, or a notice about a started/ongoing session (OIOI "Session Post").

We only check and enqueue: ingestion (cdr_ingest) validates again, deduplicates by session id
and stores. The envelope keeps the partner's JSON text, so offsets and number formats survive.
"""

from __future__ import annotations

from backbone.cdr.envelope import CdrEnvelope
from backbone.observability import bind_correlation
from backbone.oioi.models import SessionPost
from backbone.receiver.ports import Backends, Request
from backbone.receiver.responses import Answer, answer


def handle(message: SessionPost, request: Request, backends: Backends) -> Answer:
    """0 once the CDR is on the queue. If enqueueing fails the sender raises and the partner gets
    a 5xx to retry: we never answer 200 for a CDR that is not durably queued."""
    bind_correlation(session_id=message.session_id)
    request.require_partner_identifier(message.partner_identifier)
    envelope = CdrEnvelope(
        source="oioi",
        partner_id=request.caller.partner_id,
        received_at=request.received_at,
        raw=request.payload_text,
    )
    backends.cdr_queue.send(envelope)
    return answer()
