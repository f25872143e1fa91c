"""Billing events: which change of CdrTable is billing news, decided from the stream record's
old and new images alone (docs/billing-feed.md, "Events").

- `CdrFinalized`: a session's current record (`sk = CDR`) first becomes FINAL: an INSERT of a
  FINAL record, or a MODIFY from ONGOING to FINAL.
- `CdrCorrected`: an INSERT of a correction (`sk = CORRECTION#<payloadHash>`).
- `CdrFlagged`: a stored record newly needs review: an INSERT with `needsReview` OPEN, or a
  MODIFY to a new payload hash with `needsReview` OPEN (a flagged final is also finalized, so
  both are published; their event ids differ).

Nothing else is news: ongoing updates, a review resolved, a driver pseudonymised or erased
change neither status, kind, payload hash nor review state in a way listed above. A REMOVE is
never billing news either (the table keeps billing records; retention pseudonymises them).

Every event carries `BillingRecord.to_json()` plus `schemaVersion` and `eventId`; the id depends
only on the event type and the stored record, so a re-published event carries the same id.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from backbone.billing.models import EVENT_SOURCE, SCHEMA_VERSION, BillingEventType, BillingRecord, event_id
from backbone.cdr.models import (
    CORRECTION_PREFIX,
    CURRENT_SK,
    REVIEW_ATTRIBUTE,
    REVIEW_OPEN,
    CdrStatus,
    StoredCdr,
)

MAX_ENTRIES_PER_CALL = 10  # EventBridge PutEvents: at most 10 entries...
MAX_BYTES_PER_CALL = 256 * 1024  # ...of at most 256 KB together
_TIME_BYTES = 14  # what EventBridge counts for an entry's Time, set or not

Image = Mapping[str, Any]


@dataclass(frozen=True)
class BillingEvent:
    """One event for the bus: its type (the EventBridge detail-type) and its detail."""

    type: BillingEventType
    record: BillingRecord

    @property
    def event_id(self) -> str:
        return event_id(self.type, self.record)

    def detail(self) -> dict[str, Any]:
        """The event's `detail` (schemas/billing/<type>-v<SCHEMA_VERSION>.json)."""
        return self.record.to_json() | {"schemaVersion": SCHEMA_VERSION, "eventId": self.event_id}

    def detail_json(self) -> str:
        return json.dumps(self.detail(), sort_keys=True, separators=(",", ":"))

    def entry_size(self) -> int:
        """PutEvents' size of this entry (AWS: source, detail-type, detail and time, in UTF-8)."""
        text = EVENT_SOURCE + self.type.value + self.detail_json()
        return len(text.encode()) + _TIME_BYTES


def _open_review(image: Image) -> bool:
    return image.get(REVIEW_ATTRIBUTE) == REVIEW_OPEN


def _final(image: Image) -> bool:
    return image.get("status") == CdrStatus.FINAL.value


def event_types(old: Image | None, new: Image | None) -> list[BillingEventType]:
    """The billing events one stream record stands for (none for most)."""
    if new is None:
        return []
    types: list[BillingEventType] = []
    sk = str(new.get("sk", ""))
    if sk == CURRENT_SK and _final(new) and (old is None or not _final(old)):
        types.append(BillingEventType.FINALIZED)
    if sk.startswith(CORRECTION_PREFIX) and old is None:
        types.append(BillingEventType.CORRECTED)
    new_payload = old is None or old.get("payloadHash") != new.get("payloadHash")
    if new_payload and _open_review(new):
        types.append(BillingEventType.FLAGGED)
    return types


def billing_events(old: Image | None, new: Image | None) -> list[BillingEvent]:
    """The events of one stream record, each with the new image as its billing record."""
    types = event_types(old, new)
    if not types or new is None:
        return []
    record = BillingRecord.from_stored(StoredCdr.from_item(dict(new)))
    return [BillingEvent(event_type, record) for event_type in types]


def batches(
    events: Sequence[BillingEvent],
    max_entries: int = MAX_ENTRIES_PER_CALL,
    max_bytes: int = MAX_BYTES_PER_CALL,
) -> Iterator[list[int]]:
    """Indexes of `events` grouped into PutEvents calls, in order, within both limits. An event
    too large for any call is a batch of its own (EventBridge refuses it; its record fails)."""
    batch: list[int] = []
    size = 0
    for index, event in enumerate(events):
        entry = event.entry_size()
        if batch and (len(batch) == max_entries or size + entry > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(index)
        size += entry
    if batch:
        yield batch
