"""What the billing logic needs: the events (`backbone.billing.publish`) a bus, the export
(`backbone.billing.export`) a day's records and a place to put files; and the bundles the handlers
and `bbctl cdr export` pass. AWS implementations: `backbone.billing.aws`; built in
`backbone.billing.wiring`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from backbone.billing.events import BillingEvent
from backbone.billing.models import BillingRecord, ExportFile
from backbone.timeutil import utc_now


class BillingBus(Protocol):
    def put(self, events: Sequence[BillingEvent]) -> list[str | None]:
        """Publish one call's worth of events (`events.batches`: at most 10 entries, 256 KB).

        Returns, per event in order, None when the bus accepted it, else why it did not
        (EventBridge's per-entry error). Raises `PublishFailed` when the call itself failed."""
        ...


@dataclass(frozen=True)
class BillingEventsDependencies:
    bus: BillingBus


class BillingDays(Protocol):
    def records(self, day: date) -> Iterable[BillingRecord]:
        """Every FINAL current record and correction received on `day` (UTC), any order."""
        ...


class ExportSink(Protocol):
    def put(self, file: ExportFile) -> None:
        """Store `file` whole under its key, replacing what was there."""
        ...


@dataclass(frozen=True)
class ExportDependencies:
    records: BillingDays
    sink: ExportSink
    clock: Callable[[], datetime] = utc_now
