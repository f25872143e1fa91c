"""session-post: a CDR, or a notice about a started/ongoing session (OIOI "Session Post").

Read with the intake contract ingestion stores by (`backbone.cdr.intake`), so an answer 0 is a
promise the store keeps: a post that identifies its session is accepted however sloppy its
other fields (they are normalised or flagged for review there); one that does not is refused
with 400/230 naming the field. We only check and enqueue: ingestion reads the queued text again
with the same contract, deduplicates by session id and stores.
"""

from __future__ import annotations

from typing import Any

from backbone.cdr.envelope import CdrEnvelope
from backbone.cdr.intake import InvalidCdr, SessionPostIntake, read_session_post
from backbone.errors import InvalidRequest
from backbone.observability import bind_correlation
from backbone.receiver.ports import Dependencies, Request
from backbone.receiver.responses import Answer, answer


def read(payload: dict[str, Any]) -> SessionPostIntake:
    try:
        return read_session_post(payload)
    except InvalidCdr as invalid:
        raise InvalidRequest(f"invalid session-post: {invalid}") from invalid


def handle(message: SessionPostIntake, request: Request, deps: Dependencies) -> Answer:
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
    deps.cdr_queue.send(envelope)
    return answer()
