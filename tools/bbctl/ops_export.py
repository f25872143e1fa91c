"""`bbctl cdr export`: the daily billing export of a range of days, written to a folder by the
very code BillingExportFunction runs (`backbone.billing.export`), so a day's CSV here has the
same bytes as the bucket's (docs/billing-feed.md, "Export"). Not shipped in the Lambda layer."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from backbone.billing.export import EXPORT_PREFIX, write_day
from backbone.billing.models import BillingRecord, DayExport, ExportFile, ExportFormat
from backbone.billing.ports import BillingDays, ExportDependencies
from bbctl.progress import Progress


class FolderSink:
    """The bucket's layout under a folder: `<out>/day=YYYY-MM-DD/partner=<id>/cdrs.csv`."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.written: list[Path] = []

    def put(self, file: ExportFile) -> None:
        path = self.out / file.key.removeprefix(f"{EXPORT_PREFIX}/")
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(file.body)
        partial.replace(path)  # a file that is there is whole
        self.written.append(path)


@dataclass
class PartnerOnly:
    """One partner's records of a day (`--partner`); the manifest then covers that partner only."""

    records_of: BillingDays
    partner_id: str | None

    def records(self, day: date) -> Iterator[BillingRecord]:
        for record in self.records_of.records(day):
            if self.partner_id is None or record.partner_id == self.partner_id:
                yield record


@dataclass
class Counted:
    """Records as they are read, counted on stderr."""

    records_of: BillingDays
    progress: Progress

    def records(self, day: date) -> Iterable[BillingRecord]:
        return self.progress.iterate(self.records_of.records(day))


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def export_range(
    records: BillingDays,
    out: Path,
    first: date,
    last: date,
    *,
    partner_id: str | None = None,
    fmt: ExportFormat = "csv",
) -> tuple[list[DayExport], FolderSink]:
    sink = FolderSink(out)
    with Progress("CDRs exported") as progress:
        deps = ExportDependencies(Counted(PartnerOnly(records, partner_id), progress), sink)
        exports = [write_day(deps, day, fmt) for day in days(first, last)]
    return exports, sink
