"""The daily export, pure (docs/billing-feed.md, "Export"): what finance receives for a day:
the documented columns, exact decimals, one file per partner, a manifest whose totals and
checksums match the files, the same bytes every time, and an empty day that still says so."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from backbone.billing.export import (
    ExportRefused,
    export_day,
    requested_days,
    run_export,
)
from backbone.billing.models import EXPORT_COLUMNS, BillingRecord, ExportFile, ExportRequest
from backbone.billing.ports import ExportDependencies
from backbone.cdr.models import Cdr, CdrStatus, Cost, Driver, DriverType, RecordKind, StoredCdr

DAY = date(2026, 3, 1)
DOCS = Path(__file__).resolve().parents[3] / "docs" / "billing-feed.md"


def record(
    session: str,
    *,
    partner: str = "acme-cpo",
    amount: str | None = "14.32",
    currency: str | None = "EUR",
    energy: str | None = "16.5",
    received: str = "2026-03-01T17:05:00+00:00",
    kind: RecordKind = RecordKind.CDR,
    anomalies: tuple[str, ...] = (),
) -> BillingRecord:
    cdr = Cdr(
        partner_id=partner,
        session_id=session,
        source="oioi",
        status=CdrStatus.FINAL,
        started_at=datetime(2026, 3, 1, 10, tzinfo=UTC),
        stopped_at=datetime(2026, 3, 1, 16, tzinfo=UTC),
        energy_kwh=None if energy is None else Decimal(energy),
        cost=None if amount is None else Cost(amount=Decimal(amount), currency=currency),
        driver=Driver(type=DriverType.RFID, id="04523022AA4881", pseudonym="h1:" + "ab" * 16),
        evse_id="DE*8PS*ETABCD*1",
        received_at=datetime.fromisoformat(received),
        payload_hash=hashlib.sha256(f"{session}{amount}{kind}".encode()).hexdigest(),
        raw="{}",
        anomalies=anomalies,
    )
    return BillingRecord.from_stored(StoredCdr(kind, cdr))


def rows(file: ExportFile) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(file.body.decode(), newline="")))


def manifest(export: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(export.manifest.body)
    return loaded


def test_given_a_day_then_each_partner_has_its_file_under_day_and_partner() -> None:
    export = export_day(DAY, [record("S-1"), record("S-2", partner="beta"), record("S-3")])
    assert [file.key for file in export.partner_files] == [
        "cdr-export/day=2026-03-01/partner=acme-cpo/cdrs.csv",
        "cdr-export/day=2026-03-01/partner=beta/cdrs.csv",
    ]
    assert export.manifest.key == "cdr-export/day=2026-03-01/manifest.json"
    assert [row["sessionId"] for row in rows(export.partner_files[0])] == ["S-1", "S-3"]


def test_given_a_partner_id_with_a_slash_then_it_stays_one_path_segment() -> None:
    [file] = export_day(DAY, [record("S-1", partner="a/b")]).partner_files
    assert file.key == "cdr-export/day=2026-03-01/partner=a%2Fb/cdrs.csv"


def test_the_csv_has_the_documented_columns_and_the_pseudonym_never_the_identifier() -> None:
    [file] = export_day(DAY, [record("S-1")]).partner_files
    header = file.body.decode().split("\r\n")[0].split(",")
    assert header == list(EXPORT_COLUMNS)
    assert "driverId" not in header
    [row] = rows(file)
    assert row["driverHash"] == "h1:" + "ab" * 16
    assert "04523022AA4881" not in file.body.decode()


def test_the_documented_column_table_is_the_export_column_set() -> None:
    section = DOCS.read_text(encoding="utf-8").split("## Export", 1)[1]
    documented = re.findall(r"^\| `(\w+)` \|", section.split("### Columns", 1)[1].split("###", 1)[0], re.M)
    assert tuple(documented) == EXPORT_COLUMNS


def test_given_amounts_then_they_are_written_exactly_as_stored() -> None:
    records = [record("S-1", amount="0.30000000000000004", energy="16.50"), record("S-2", amount="-1.1")]
    [file] = export_day(DAY, records).partner_files
    assert [(row["costAmount"], row["energyKwh"]) for row in rows(file)] == [
        ("0.30000000000000004", "16.50"),
        ("-1.1", "16.5"),
    ]


def test_the_manifest_totals_are_exact_per_partner_currency_and_kind() -> None:
    records = [
        record("S-1", amount="0.1"),
        record("S-2", amount="0.2"),
        record("S-3", amount="100", currency="NOK", energy="1.840"),
        record("S-1", amount="0.05", kind=RecordKind.CORRECTION),
        record("S-4", amount="5", partner="beta", anomalies=("energy-consumed: unreadable",), energy=None),
    ]
    found = manifest(export_day(DAY, records))
    acme, beta = found["partners"]
    assert acme["totals"] == [
        {
            "currency": "EUR",
            "kind": "CDR",
            "rows": 2,
            "rowsNeedingReview": 0,
            "energyKwh": "33.0",
            "costAmount": "0.3",  # never 0.30000000000000004
            "costAmountExclVat": "0",
        },
        {
            "currency": "EUR",
            "kind": "CORRECTION",
            "rows": 1,
            "rowsNeedingReview": 0,
            "energyKwh": "16.5",
            "costAmount": "0.05",
            "costAmountExclVat": "0",
        },
        {
            "currency": "NOK",
            "kind": "CDR",
            "rows": 1,
            "rowsNeedingReview": 0,
            "energyKwh": "1.840",
            "costAmount": "100",
            "costAmountExclVat": "0",
        },
    ]
    assert beta["totals"] == [
        {
            "currency": "EUR",
            "kind": "CDR",
            "rows": 1,
            "rowsNeedingReview": 1,
            "energyKwh": "0",
            "costAmount": "5",
            "costAmountExclVat": "0",
        }
    ]
    assert found["rows"] == 5
    assert [total["costAmount"] for total in found["totals"]] == ["5.3", "0.05", "100"]


def test_the_manifest_names_each_file_with_its_size_rows_and_sha256() -> None:
    export = export_day(DAY, [record("S-1"), record("S-2", partner="beta")])
    entries = manifest(export)["partners"]
    for file, entry in zip(export.partner_files, entries, strict=True):
        assert entry["key"] == file.key
        assert entry["sha256"] == hashlib.sha256(file.body).hexdigest()
        assert entry["bytes"] == len(file.body)
        assert entry["rows"] == len(rows(file))


def test_given_the_same_records_in_another_order_then_the_bytes_are_the_same() -> None:
    records = [record(f"S-{n}", received=f"2026-03-01T0{n}:00:00+00:00") for n in range(1, 6)]
    first = export_day(DAY, records)
    again = export_day(DAY, list(reversed(records)))
    assert [file.body for file in first.files] == [file.body for file in again.files]


def test_given_an_empty_day_then_only_a_manifest_says_zero_rows() -> None:
    export = export_day(DAY, [])
    assert export.partner_files == ()
    assert manifest(export) | {"columns": None} == {
        "manifestVersion": "1",
        "schemaVersion": "1",
        "day": "2026-03-01",
        "format": "csv",
        "columns": None,
        "rows": 0,
        "totals": [],
        "partners": [],
    }


def test_given_jsonl_then_each_line_is_a_record_by_the_same_columns() -> None:
    [file] = export_day(DAY, [record("S-1", anomalies=("a", "b"))], "jsonl").partner_files
    assert file.key.endswith("/cdrs.jsonl")
    [line] = file.body.decode().splitlines()
    loaded = json.loads(line)
    assert list(loaded) == list(EXPORT_COLUMNS)
    assert loaded["costAmount"] == "14.32"
    assert loaded["anomalies"] == ["a", "b"]


def test_given_a_record_of_another_day_then_the_export_refuses_it() -> None:
    with pytest.raises(ValueError, match="not on 2026-03-01"):
        export_day(DAY, [record("S-1", received="2026-03-02T00:00:00+00:00")])


# --- which days a request names --------------------------------------------------------------------


def test_given_the_schedule_then_the_day_before_its_time_is_exported(
    load_event: Callable[[str], Any],
) -> None:
    request = ExportRequest.model_validate(load_event("billing/event-schedule-export.json"))
    assert requested_days(request, date(2026, 3, 2)) == [DAY]


def test_given_a_backfill_then_its_day_or_every_day_of_its_range_is_exported(
    load_event: Callable[[str], Any],
) -> None:
    day = ExportRequest.model_validate(load_event("billing/event-backfill-day.json"))
    month = ExportRequest.model_validate(load_event("billing/event-backfill-range.json"))
    assert requested_days(day, date(2026, 4, 2)) == [DAY]
    assert requested_days(month, date(2026, 4, 2)) == [date(2026, 3, n) for n in range(1, 32)]


@pytest.mark.parametrize(
    "event",
    [{"day": "2026-03-03"}, {"from": "2026-03-01", "to": "2026-02-28"}, {"from": "2026-03-01"}],
)
def test_given_a_request_naming_no_exportable_day_then_it_is_refused(event: dict[str, str]) -> None:
    with pytest.raises(ExportRefused):
        requested_days(ExportRequest.model_validate(event), date(2026, 3, 2))


class Records:
    def __init__(self, *records: BillingRecord) -> None:
        self.by_day = {DAY: list(records)}

    def records(self, day: date) -> list[BillingRecord]:
        return self.by_day.get(day, [])


class Folder:
    def __init__(self) -> None:
        self.puts: list[str] = []
        self.files: dict[str, bytes] = {}

    def put(self, file: ExportFile) -> None:
        self.puts.append(file.key)
        self.files[file.key] = file.body


def test_given_a_day_when_exported_then_the_manifest_is_written_after_its_files() -> None:
    sink = Folder()
    deps = ExportDependencies(Records(record("S-1"), record("S-2", partner="beta")), sink)
    answer = run_export(ExportRequest(day=DAY), deps)
    assert sink.puts[-1] == "cdr-export/day=2026-03-01/manifest.json"
    assert len(sink.puts) == 3
    assert answer == {
        "days": [{"day": "2026-03-01", "rows": 2, "manifest": "cdr-export/day=2026-03-01/manifest.json"}]
    }
