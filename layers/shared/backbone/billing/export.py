"""The daily billing export (docs/billing-feed.md, "Export"): every FINAL current record and
every correction received on one UTC day, one file per partner, and a manifest with each file's
sha256 and the totals finance reconciles against Plugsurfing's invoice.

Pure: the records come from `deps.records` (ByBillingDay), the files go to `deps.sink` (S3 for
BillingExportFunction, a folder for `bbctl cdr export`), so both write the same bytes. The same
records always give the same bytes (rows in a fixed order, no generation time in the manifest),
so re-running a day is idempotent.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from decimal import Context, Decimal, Inexact, Rounded
from typing import Any
from urllib.parse import quote

from backbone.billing.models import (
    EXPORT_COLUMNS,
    SCHEMA_VERSION,
    BillingRecord,
    DayExport,
    ExportFile,
    ExportFormat,
    ExportRequest,
    export_values,
)
from backbone.billing.ports import ExportDependencies
from backbone.observability import MetricUnit, logger, metrics

EXPORT_PREFIX = "cdr-export"
MANIFEST_VERSION = "1"
MAX_DAYS = 366
"""The longest backfill one request may ask for (a year: well inside the function's timeout)."""

_CONTENT_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson; charset=utf-8",
    "json": "application/json",
}
# Sums are exact: wide enough for any DynamoDB number (38 digits, 10^-130..10^126) added up a
# few million times, and any rounding raises instead of passing silently.
_EXACT = Context(prec=1000, traps=[Inexact, Rounded])
_SUMMED = ("energyKwh", "costAmount", "costAmountExclVat")


class ExportRefused(ValueError):
    """A request that names no exportable day (a future day, a reversed or too long range)."""


def day_prefix(day: date) -> str:
    return f"{EXPORT_PREFIX}/day={day.isoformat()}"


def partner_key(day: date, partner_id: str, fmt: ExportFormat) -> str:
    # Quoted: a partner id is the partner's own text and must stay one path segment.
    return f"{day_prefix(day)}/partner={quote(partner_id, safe='')}/cdrs.{fmt}"


def manifest_key(day: date) -> str:
    return f"{day_prefix(day)}/manifest.json"


def export_day(day: date, records: Iterable[BillingRecord], fmt: ExportFormat = "csv") -> DayExport:
    """The files of one day's export, from the records received that day (any order)."""
    by_partner: dict[str, list[BillingRecord]] = defaultdict(list)
    for record in records:
        if record.received_at[:10] != day.isoformat():
            raise ValueError(f"record {record.record_id} was received {record.received_at}, not on {day}")
        by_partner[record.partner_id].append(record)
    files, entries = [], []
    for partner_id in sorted(by_partner):
        rows = sorted(by_partner[partner_id], key=_row_order)
        file = ExportFile(partner_key(day, partner_id, fmt), render(rows, fmt), _CONTENT_TYPES[fmt])
        files.append(file)
        entries.append(
            {
                "partnerId": partner_id,
                "key": file.key,
                "rows": len(rows),
                "bytes": len(file.body),
                "sha256": file.sha256,
                "totals": totals(rows),
            }
        )
    everything = [record for partner_id in sorted(by_partner) for record in by_partner[partner_id]]
    manifest = {
        "manifestVersion": MANIFEST_VERSION,
        "schemaVersion": SCHEMA_VERSION,
        "day": day.isoformat(),
        "format": fmt,
        "columns": list(EXPORT_COLUMNS),
        "rows": len(everything),
        "totals": totals(everything),
        "partners": entries,
    }
    body = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
    return DayExport(
        day, len(everything), tuple(files), ExportFile(manifest_key(day), body, _CONTENT_TYPES["json"])
    )


def render(records: Iterable[BillingRecord], fmt: ExportFormat) -> bytes:
    """CSV (RFC 4180: header row, CRLF, quoted only where needed) or JSON Lines, UTF-8."""
    if fmt == "jsonl":
        lines = (json.dumps(export_values(record), ensure_ascii=False) for record in records)
        return "".join(f"{line}\n" for line in lines).encode()
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows([_cell(value) for value in export_values(record).values()] for record in records)
    return buffer.getvalue().encode()


def totals(records: Iterable[BillingRecord]) -> list[dict[str, Any]]:
    """Per currency and kind (CDR: a session's first final; CORRECTION: another final payload):
    rows, rows awaiting review, and the exact sums of energy and cost (absent values add nothing)."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for record in records:
        values = export_values(record)
        group = groups.setdefault(
            (record.cost_currency or "", record.kind),
            {"rows": 0, "rowsNeedingReview": 0} | {name: Decimal(0) for name in _SUMMED},
        )
        group["rows"] += 1
        group["rowsNeedingReview"] += int(record.needs_review)
        for name in _SUMMED:
            if values[name] is not None:
                group[name] = _EXACT.add(group[name], Decimal(values[name]))
    return [
        {"currency": currency or None, "kind": kind}
        | {name: format(value, "f") if isinstance(value, Decimal) else value for name, value in group.items()}
        for (currency, kind), group in sorted(groups.items())
    ]


def write_day(deps: ExportDependencies, day: date, fmt: ExportFormat = "csv") -> DayExport:
    """Export one day: the partner files, then the manifest, so a manifest that is there always
    describes files that are there."""
    export = export_day(day, deps.records.records(day), fmt)
    for file in export.files:
        deps.sink.put(file)
    logger.info("billing export written", extra={"day": day.isoformat(), "rows": export.rows})
    metrics.add_metric(name="BillingExportRows", unit=MetricUnit.Count, value=export.rows)
    return export


def requested_days(request: ExportRequest, today: date) -> list[date]:
    """The days a request names: `day`, or `from`..`to` (inclusive), or else the day before the
    schedule's `time` (the day before `today` without one). Today is allowed (a partial export,
    replaced by the scheduled run tomorrow); the future is not."""
    if request.day is not None:
        first = last = request.day
    elif request.from_day is not None or request.to_day is not None:
        if request.from_day is None or request.to_day is None:
            raise ExportRefused("a range needs both from and to")
        first, last = request.from_day, request.to_day
    else:
        first = last = (request.time.date() if request.time is not None else today) - timedelta(days=1)
    if first > last:
        raise ExportRefused(f"from {first} is after to {last}")
    if last > today:
        raise ExportRefused(f"{last} has not happened yet (today is {today} UTC)")
    if (last - first).days >= MAX_DAYS:
        raise ExportRefused(f"at most {MAX_DAYS} days per request")
    return list(_days(first, last))


def run_export(request: ExportRequest, deps: ExportDependencies) -> dict[str, Any]:
    """BillingExportFunction: export each requested day; returns what was written."""
    days = requested_days(request, deps.clock().date())
    return {"days": [write_day(deps, day, request.format).summary() for day in days]}


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _row_order(record: BillingRecord) -> tuple[str, str, str, str]:
    return (record.received_at, record.session_id, record.kind, record.record_id)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "; ".join(str(item) for item in value)
    return str(value)
