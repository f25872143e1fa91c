"""What the billing export needs (`backbone.billing.export`), and the bundle the handler and
`bbctl cdr export` pass it. AWS implementations: `backbone.billing.aws`; built in
`backbone.billing.wiring`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from backbone.billing.models import BillingRecord, ExportFile
from backbone.timeutil import utc_now


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
