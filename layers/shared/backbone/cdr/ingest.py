"""Ingestion: every CDR exactly once, never lost, never regressed (merge rules in
docs/cdr-ingestion.md, "Merge rules").

| stored \\ incoming      | ongoing update                    | final CDR                              |
|-------------------------|-----------------------------------|----------------------------------------|
| nothing                 | stored (CREATED)                  | stored (CREATED)                       |
| ongoing, lower progress | replaces it (ADVANCED)            | replaces it (COMPLETED)                |
| ongoing, same or higher | ignored (DUPLICATE / STALE)       | replaces it (COMPLETED)                |
| final                   | ignored (DUPLICATE / AFTER_FINAL) | same hash: DUPLICATE; else stored      |
|                         |                                   | beside it (CORRECTION), never over it  |

The first two rows are one conditional write (`CdrStore.put_if_advances`); everything else is
decided from the item DynamoDB hands back when the condition fails.
"""

from __future__ import annotations

from enum import StrEnum

from backbone.cdr.envelope import CdrEnvelope
from backbone.cdr.models import Cdr, CdrStatus
from backbone.cdr.parse import InvalidCdr, parse_cdr
from backbone.cdr.ports import CdrStore, IngestDependencies
from backbone.cdr.pseudonymise import pseudonymised
from backbone.observability import MetricUnit, bind_correlation, logger, metrics, record_scope


class Outcome(StrEnum):
    CREATED = "created"  # the session's first record
    ADVANCED = "advanced"  # a further-along ongoing update replaced the stored one
    COMPLETED = "completed"  # the final CDR replaced an ongoing update
    DUPLICATE = "duplicate"  # this very payload is stored already: nothing written
    STALE = "stale"  # an ongoing update behind the stored one: ignored
    AFTER_FINAL = "after-final"  # an ongoing update after the final CDR: ignored
    CORRECTION = "correction"  # a different final CDR: stored beside the first one
    REJECTED = "rejected"  # can never be a CDR: sent to the dead-letter queue with the reason

    @property
    def metric(self) -> str:
        """`CdrCreated`, `CdrCorrection`, `CdrAfterFinal`..."""
        return "Cdr" + self.value.title().replace("-", "")


_STORED = frozenset({Outcome.CREATED, Outcome.ADVANCED, Outcome.COMPLETED, Outcome.CORRECTION})


def ingest(cdr: Cdr, store: CdrStore) -> Outcome:
    """Apply the merge rules to one validated CDR. Safe to repeat and to run concurrently for
    the same session: each write is conditional, and a lost race reads as DUPLICATE, STALE or
    AFTER_FINAL, or becomes one correction (corrections are keyed by payload hash)."""
    result = store.put_if_advances(cdr)
    current = result.previous
    if result.written:
        if current is None:
            return Outcome.CREATED
        return Outcome.COMPLETED if cdr.is_final else Outcome.ADVANCED
    if current is None:  # pragma: no cover - a refused write always names the current record
        raise RuntimeError(f"write of {cdr.pk} refused without a current record")
    if current.payload_hash == cdr.payload_hash:
        return Outcome.DUPLICATE
    if not cdr.is_final:
        return Outcome.STALE if current.status is CdrStatus.ONGOING else Outcome.AFTER_FINAL
    # A final CDR is refused only by a final record: different payload, so a correction.
    return Outcome.CORRECTION if store.put_correction(cdr) else Outcome.DUPLICATE


def ingest_message(
    envelope: CdrEnvelope, deps: IngestDependencies, message_id: str, body: str | None = None
) -> Outcome:
    """One CdrQueue message (`body`: its text as received). Invalid payloads go to the
    dead-letter queue at once (retrying cannot fix them) with the reason as a message attribute;
    storage errors propagate, so the message fails alone and SQS delivers it again."""
    with record_scope(message_id=message_id, partner_id=envelope.partner_id, source=envelope.source):
        try:
            cdr = parse_cdr(envelope)
        except InvalidCdr as invalid:
            deps.dead_letters.send(body or envelope.to_message(), str(invalid), message_id, deps.clock())
            logger.warning("invalid CDR sent to the dead-letter queue", extra={"reason": str(invalid)})
            return _count(Outcome.REJECTED)
        bind_correlation(session_id=cdr.session_id)
        try:
            outcome = ingest(pseudonymised(cdr, deps.pseudonymise), deps.store)
        except Exception as error:
            # The record fails alone and SQS delivers it again; say which and why.
            logger.exception("CDR not stored; it will be delivered again", extra={"reason": repr(error)})
            raise
        logger.info("CDR ingested", extra={"outcome": outcome.value, "status": cdr.status.value})
        if cdr.needs_review and outcome in _STORED:
            logger.warning("CDR stored with anomalies for review", extra={"anomalies": list(cdr.anomalies)})
            metrics.add_metric(name="CdrNeedsReview", unit=MetricUnit.Count, value=1)
        if outcome is Outcome.CORRECTION:
            logger.warning(
                "correction to a final CDR stored beside it", extra={"payload_hash": cdr.payload_hash}
            )
        return _count(outcome)


def _count(outcome: Outcome) -> Outcome:
    metrics.add_metric(name=outcome.metric, unit=MetricUnit.Count, value=1)
    return outcome
