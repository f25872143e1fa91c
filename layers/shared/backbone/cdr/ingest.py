"""Ingestion: every CDR exactly once, never lost, never regressed (merge rules in
docs/cdr-ingestion.md, "Merge rules").

| stored \\ incoming      | ongoing update                    | final CDR                              |
|-------------------------|-----------------------------------|----------------------------------------|
| nothing                 | stored (CREATED)                  | stored (CREATED)                       |
| ongoing, lower progress | replaces it (ADVANCED)            | replaces it (COMPLETED)                |
| ongoing, same or higher | ignored (DUPLICATE / STALE)       | replaces it (COMPLETED)                |
| final                   | ignored (DUPLICATE / AFTER_FINAL) | same hash: DUPLICATE; else stored      |
|                         |                                   | beside it (CORRECTION), never over it  |

`merge` is the table. A batch of CDRs (one SQS batch) is decided in memory, each session's
records folded in progress order, and the winners are written in one atomic call whose
conditions are the per-record ones (`ingest_batch`). The batch first assumes its sessions are
new; a write refused by its condition comes back with the record that is stored, which the batch
learns before it decides again, so a concurrent writer is never overwritten and nothing is read
that a write does not need. One CDR alone (`ingest`) is one conditional write, decided from the
item DynamoDB hands back when the condition fails; the batch falls back to it record by record
whenever the batch write cannot be used, so a record that cannot be stored fails alone.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from backbone.cdr.envelope import CdrEnvelope
from backbone.cdr.models import (
    MAX_BATCH_BYTES,
    MAX_BATCH_WRITES,
    Cdr,
    CdrQueueRecord,
    CdrStatus,
    RecordKind,
    RecordWrite,
    StoredState,
    WriteConflict,
)
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
_REPLACES = frozenset({Outcome.CREATED, Outcome.ADVANCED, Outcome.COMPLETED})
BATCH_ATTEMPTS = 3
"""Batch writes tried per group of sessions (each refusal teaches the batch what won) before
the group's records are written one by one."""
_ITEM_OVERHEAD = 2048  # bytes of an item besides `raw`, generously


def merge(cdr: Cdr, current: StoredState | None) -> Outcome:
    """What `cdr` does to a session whose current record is `current` (None: it has none).
    CREATED, ADVANCED and COMPLETED make `cdr` the current record; CORRECTION stores it beside
    the final one unless that correction is stored already (then it is a DUPLICATE)."""
    if current is None:
        return Outcome.CREATED
    if current.status is CdrStatus.ONGOING and current.progress < cdr.progress:
        return Outcome.COMPLETED if cdr.is_final else Outcome.ADVANCED
    if current.payload_hash == cdr.payload_hash:
        return Outcome.DUPLICATE
    if not cdr.is_final:
        return Outcome.STALE if current.status is CdrStatus.ONGOING else Outcome.AFTER_FINAL
    # A final CDR is refused only by a final record: different payload, so a correction.
    return Outcome.CORRECTION


def ingest(cdr: Cdr, store: CdrStore) -> Outcome:
    """Apply the merge rules to one validated CDR. Safe to repeat and to run concurrently for
    the same session: each write is conditional, and a lost race reads as DUPLICATE, STALE or
    AFTER_FINAL, or becomes one correction (corrections are keyed by payload hash)."""
    result = store.put_if_advances(cdr)
    if result.written:
        return merge(cdr, result.previous)
    if result.previous is None:  # pragma: no cover - a refused write always names the current record
        raise RuntimeError(f"write of {cdr.pk} refused without a current record")
    outcome = merge(cdr, result.previous)
    if outcome is Outcome.CORRECTION and not store.put_correction(cdr):
        return Outcome.DUPLICATE
    return outcome


@dataclass(frozen=True)
class Plan:
    """The decision for a batch: each CDR's outcome (as if the batch had been ingested one by
    one in progress order) and the writes that make the table so."""

    outcomes: list[Outcome]
    writes: list[RecordWrite]


def plan(
    cdrs: Sequence[Cdr], current: Mapping[str, StoredState], corrections: Collection[tuple[str, str]] = ()
) -> Plan:
    """Decide `cdrs` against the sessions' `current` records and the `corrections` known to be
    stored ((pk, sk)), in memory. Per session at most one write of the current record (the
    record the session ends with, conditional on the one it replaces) plus one per new
    correction."""
    outcomes: list[Outcome | None] = [None] * len(cdrs)
    writes: list[RecordWrite] = []
    progress = [cdr.progress for cdr in cdrs]  # computed once: it formats several times
    for pk, indexes in _sessions(cdrs).items():
        start = state = current.get(pk)
        winner: Cdr | None = None
        added: dict[str, Cdr] = {}
        for index in sorted(indexes, key=progress.__getitem__):
            cdr = cdrs[index]
            outcome = merge(cdr, state)
            if outcome in _REPLACES:
                state, winner = StoredState(cdr.status, progress[index], cdr.payload_hash), cdr
            elif outcome is Outcome.CORRECTION:
                key = RecordWrite(cdr, RecordKind.CORRECTION).key
                if key in corrections or cdr.payload_hash in added:
                    outcome = Outcome.DUPLICATE
                else:
                    added[cdr.payload_hash] = cdr
            outcomes[index] = outcome
        if winner is not None:
            writes.append(RecordWrite(winner, RecordKind.CDR, start))
        writes += [RecordWrite(cdr, RecordKind.CORRECTION) for cdr in added.values()]
    decided = [outcome for outcome in outcomes if outcome is not None]
    assert len(decided) == len(cdrs)  # every CDR belongs to one session
    return Plan(decided, writes)


def ingest_batch(cdrs: Sequence[Cdr], store: CdrStore) -> list[Outcome | Exception]:
    """Apply the merge rules to a batch of validated CDRs (any sessions, any order, repeats):
    the same table as ingesting them one by one, in a few calls. Each CDR's outcome, or the
    error that kept it from being stored (it alone is to be delivered again)."""
    results: list[Outcome | Exception] = [RuntimeError("not ingested")] * len(cdrs)
    for group in _groups(cdrs):
        members = [cdrs[index] for index in group]
        for index, result in zip(group, _ingest_group(members, store), strict=True):
            results[index] = result
    return results


def _ingest_group(cdrs: list[Cdr], store: CdrStore) -> list[Outcome | Exception]:
    current: dict[str, StoredState] = {}  # learnt from refusals; until then a session is new
    corrections: set[tuple[str, str]] = set()
    for _ in range(BATCH_ATTEMPTS):
        decided = plan(cdrs, current, corrections)
        if not decided.writes:
            return list(decided.outcomes)
        if len(decided.writes) > MAX_BATCH_WRITES:
            break
        try:
            refused = store.write_all(decided.writes)
        except WriteConflict:
            continue
        except Exception as error:  # one record's item may be the cause: find it one by one
            logger.warning("batch write failed; writing one by one", extra={"reason": repr(error)})
            break
        if not refused:
            return list(decided.outcomes)
        for refusal in refused:
            if refusal.write.kind is RecordKind.CDR and refusal.current is not None:
                current[refusal.write.cdr.pk] = refusal.current
            else:
                corrections.add(refusal.write.key)
    return [_one(cdr, store) for cdr in cdrs]


def _one(cdr: Cdr, store: CdrStore) -> Outcome | Exception:
    try:
        return ingest(cdr, store)
    except Exception as error:
        return error


def _sessions(cdrs: Sequence[Cdr]) -> dict[str, list[int]]:
    sessions: dict[str, list[int]] = {}
    for index, cdr in enumerate(cdrs):
        sessions.setdefault(cdr.pk, []).append(index)
    return sessions


def _groups(cdrs: Sequence[Cdr]) -> list[list[int]]:
    """Whole sessions packed into groups whose writes fit one batch write (a CDR makes at most
    one write): at most MAX_BATCH_WRITES CDRs and MAX_BATCH_BYTES of items per group."""
    groups: list[list[int]] = []
    size = 0
    for indexes in _sessions(cdrs).values():
        weight = sum(len(cdrs[index].raw.encode()) + _ITEM_OVERHEAD for index in indexes)
        if not groups or len(groups[-1]) + len(indexes) > MAX_BATCH_WRITES or size + weight > MAX_BATCH_BYTES:
            groups.append([])
            size = 0
        groups[-1] += indexes
        size += weight
    return groups


# --- CdrQueue messages ------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One CdrQueue message: its envelope, id and body as received."""

    envelope: CdrEnvelope
    message_id: str
    body: str | None = None


def ingest_messages(messages: Sequence[Message], deps: IngestDependencies) -> list[Outcome | Exception]:
    """A batch of CdrQueue messages. Invalid payloads go to the dead-letter queue at once
    (retrying cannot fix them) with the reason as a message attribute; the valid ones are
    ingested as one batch. Each message's outcome, or the error that kept it from being stored
    (it fails alone and SQS delivers it again). Logs and metrics are per message."""
    results: list[Outcome | Exception | None] = [None] * len(messages)
    valid: dict[int, Cdr] = {}
    for index, message in enumerate(messages):
        try:
            cdr = parse_cdr(message.envelope)
        except InvalidCdr as invalid:
            with _scope(message):
                results[index] = _reject(message, invalid, deps)
            continue
        try:
            valid[index] = pseudonymised(cdr, deps.pseudonymise)
        except Exception as error:  # the pepper unreadable: stored never in the clear, retried
            with _scope(message):
                results[index] = _report(cdr, error)
    stored = ingest_batch(list(valid.values()), deps.store)
    for (index, cdr), result in zip(valid.items(), stored, strict=True):
        with _scope(messages[index]):
            bind_correlation(session_id=cdr.session_id)
            results[index] = _report(cdr, result)
    return [result if result is not None else RuntimeError("not ingested") for result in results]


def ingest_message(
    envelope: CdrEnvelope, deps: IngestDependencies, message_id: str, body: str | None = None
) -> Outcome:
    """One CdrQueue message (`body`: its text as received); storage errors propagate."""
    [result] = ingest_messages([Message(envelope, message_id, body)], deps)
    if isinstance(result, Exception):
        raise result
    return result


class Answers:
    """Each message's result, for the batch processor's record handler (`answer`)."""

    def __init__(self, results: Mapping[str, Outcome | Exception]) -> None:
        self.results = results

    def answer(self, record: CdrQueueRecord) -> str:
        """The outcome of the record's message; raises its error, so it alone fails."""
        result = self.results.get(record.messageId, RuntimeError("not ingested"))
        if isinstance(result, Exception):
            raise result
        return result.value


def ingest_records(records: Iterable[dict[str, Any]], deps: IngestDependencies) -> Answers:
    """CdrIngestFunction's SQS records, ingested as one batch. A record that is not a CdrQueue
    message is left out here: the batch processor's record model fails it (SQS retries it and
    dead-letters it eventually)."""
    parsed: list[CdrQueueRecord] = []
    for record in records:
        try:
            parsed.append(CdrQueueRecord.model_validate(record))
        except ValidationError:
            continue
    messages = [Message(record.body, record.messageId, record.body_text) for record in parsed]
    return Answers(dict(zip((m.message_id for m in messages), ingest_messages(messages, deps), strict=True)))


def _scope(message: Message) -> Any:
    envelope = message.envelope
    return record_scope(message_id=message.message_id, partner_id=envelope.partner_id, source=envelope.source)


def _reject(message: Message, invalid: InvalidCdr, deps: IngestDependencies) -> Outcome | Exception:
    envelope = message.envelope
    try:
        deps.dead_letters.send(
            message.body or envelope.to_message(), str(invalid), message.message_id, deps.clock()
        )
    except Exception as error:
        logger.exception("invalid CDR not parked; it will be delivered again", extra={"reason": repr(error)})
        return error
    logger.warning("invalid CDR sent to the dead-letter queue", extra={"reason": str(invalid)})
    return _count(Outcome.REJECTED)


def _report(cdr: Cdr, result: Outcome | Exception) -> Outcome | Exception:
    if isinstance(result, Exception):
        # The record fails alone and SQS delivers it again; say which and why.
        logger.error(
            "CDR not stored; it will be delivered again", extra={"reason": repr(result)}, exc_info=result
        )
        return result
    logger.info("CDR ingested", extra={"outcome": result.value, "status": cdr.status.value})
    if cdr.needs_review and result in _STORED:
        logger.warning("CDR stored with anomalies for review", extra={"anomalies": list(cdr.anomalies)})
        metrics.add_metric(name="CdrNeedsReview", unit=MetricUnit.Count, value=1)
    if result is Outcome.CORRECTION:
        logger.warning("correction to a final CDR stored beside it", extra={"payload_hash": cdr.payload_hash})
    return _count(result)


def _count(outcome: Outcome) -> Outcome:
    metrics.add_metric(name=outcome.metric, unit=MetricUnit.Count, value=1)
    return outcome
