"""Publishing CdrTable's stream to the billing bus: each stream record's events
(`events.billing_events`), in as few PutEvents calls as the limits allow (`events.batches`).

A record fails alone: when the bus refuses any of its events (PutEvents' per-entry errors, or a
whole call failing), or when its image cannot be read, its sequence number is reported back
(ReportBatchItemFailures) and the stream delivers it again; nothing is ever skipped. The stream
retries from the first failed record on, so records after it may be published twice: the event
id is the same each time, which is what consumers dedupe on (at-least-once delivery).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from backbone.billing.errors import PublishFailed
from backbone.billing.events import BillingEvent, batches, billing_events
from backbone.billing.ports import BillingEventsDependencies
from backbone.observability import MetricUnit, logger, metrics


@dataclass(frozen=True)
class StreamChange:
    """One stream record of CdrTable: its sequence number and images (plain attribute values)."""

    sequence_number: str
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None


@dataclass(frozen=True)
class PublishResult:
    published: tuple[str, ...]  # event ids the bus accepted
    failed: tuple[str, ...]  # sequence numbers of the records to deliver again, in stream order

    def batch_response(self) -> dict[str, Any]:
        """Lambda's ReportBatchItemFailures answer."""
        return {"batchItemFailures": [{"itemIdentifier": number} for number in self.failed]}


def publish_changes(changes: Sequence[StreamChange], deps: BillingEventsDependencies) -> PublishResult:
    events: list[BillingEvent] = []
    owners: list[int] = []  # events[i] belongs to changes[owners[i]]
    failed: set[int] = set()
    for index, change in enumerate(changes):
        try:
            found = billing_events(change.old, change.new)
        except (ValidationError, KeyError, ValueError) as error:
            # Not a CDR this code can read: retried, then parked in the DLQ for a person.
            logger.error(
                "stream record is not a readable CDR",
                extra={"sequenceNumber": change.sequence_number, "error": _reason(error)},
            )
            failed.add(index)
            continue
        events.extend(found)
        owners.extend([index] * len(found))

    published: list[str] = []
    for batch in batches(events):
        try:
            errors = deps.bus.put([events[i] for i in batch])
        except PublishFailed as error:
            logger.warning("PutEvents failed", extra={"events": len(batch), "error": str(error)})
            errors = [str(error)] * len(batch)
        for i, error_text in zip(batch, errors, strict=True):
            if error_text is None:
                published.append(events[i].event_id)
                logger.debug(
                    "billing event published",
                    extra={"type": events[i].type.value, "eventId": events[i].event_id},
                )
            else:
                failed.add(owners[i])
                logger.warning(
                    "billing event refused",
                    extra={"type": events[i].type.value, "eventId": events[i].event_id, "error": error_text},
                )

    if events or failed:
        logger.info("billing events", extra={"published": len(published), "failedRecords": len(failed)})
    if published:
        metrics.add_metric(name="BillingEventsPublished", unit=MetricUnit.Count, value=len(published))
    if failed:
        metrics.add_metric(name="BillingEventRecordsFailed", unit=MetricUnit.Count, value=len(failed))
    return PublishResult(tuple(published), tuple(changes[i].sequence_number for i in sorted(failed)))


def _reason(error: Exception) -> str:
    """What was wrong, without the values (an image holds driver identifiers)."""
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['type']}" for e in error.errors(include_input=False)
        )
    if isinstance(error, KeyError):
        return f"missing attribute {error}"
    return type(error).__name__
