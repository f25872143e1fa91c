"""The billing feed's record: one billable CDR as events (`CdrFinalized`, `CdrCorrected`,
`CdrFlagged`) and the daily export carry it (docs/billing-feed.md).

One place turns a stored CDR into what billing reads, so an event and an export row of the same
record always agree: money and energy as exact decimal strings (never floats), times in UTC as
stored, the driver as stored (identifier while it is kept, its pseudonym always), and a
`recordId` that names the stored record (partner, session, current or correction, payload hash)
so a consumer can dedupe whatever is delivered twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backbone.cdr.models import StoredCdr
from backbone.timeutil import to_storage

SCHEMA_VERSION = "1"
EVENT_SOURCE = "plugsurfing-backbone.cdr"


class BillingEventType(StrEnum):
    FINALIZED = "CdrFinalized"  # a session's first final CDR
    CORRECTED = "CdrCorrected"  # a different final CDR stored beside the first one
    FLAGGED = "CdrFlagged"  # a CDR stored with anomalies: billing should wait for review


def _exact(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _time(value: Any) -> str | None:
    return None if value is None else to_storage(value)


class BillingRecord(BaseModel):
    """What billing needs of one stored CDR (field names are the JSON names)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    record_id: str = Field(alias="recordId")
    partner_id: str = Field(alias="partnerId")
    session_id: str = Field(alias="sessionId")
    kind: str  # CDR (the session's current record) | CORRECTION
    status: str  # FINAL | ONGOING (only a flagged ongoing record is ever published)
    source: str
    started_at: str | None = Field(alias="startedAt")
    stopped_at: str | None = Field(alias="stoppedAt")
    charging_started_at: str | None = Field(alias="chargingStartedAt")
    charging_stopped_at: str | None = Field(alias="chargingStoppedAt")
    received_at: str = Field(alias="receivedAt")
    energy_kwh: str | None = Field(alias="energyKwh")
    cost_amount: str | None = Field(alias="costAmount")
    cost_currency: str | None = Field(alias="costCurrency")
    cost_amount_excl_vat: str | None = Field(alias="costAmountExclVat")
    vat_percent: str | None = Field(alias="vatPercent")
    evse_id: str | None = Field(alias="evseId")
    driver_type: str | None = Field(alias="driverType")
    driver_id: str | None = Field(alias="driverId")
    driver_hash: str | None = Field(alias="driverHash")
    payload_hash: str = Field(alias="payloadHash")
    needs_review: bool = Field(alias="needsReview")
    anomalies: tuple[str, ...] = ()

    @classmethod
    def from_stored(cls, stored: StoredCdr) -> BillingRecord:
        cdr, cost, driver = stored.cdr, stored.cdr.cost, stored.cdr.driver
        return cls(
            record_id=record_id(cdr.pk, stored.sk, cdr.payload_hash),
            partner_id=cdr.partner_id,
            session_id=cdr.session_id,
            kind=stored.kind.value,
            status=cdr.status.value,
            source=cdr.source,
            started_at=_time(cdr.started_at),
            stopped_at=_time(cdr.stopped_at),
            charging_started_at=_time(cdr.charging_started_at),
            charging_stopped_at=_time(cdr.charging_stopped_at),
            received_at=to_storage(cdr.received_at),
            energy_kwh=_exact(cdr.energy_kwh),
            cost_amount=_exact(cost.amount) if cost else None,
            cost_currency=cost.currency if cost else None,
            cost_amount_excl_vat=_exact(cost.amount_excl_vat) if cost else None,
            vat_percent=_exact(cost.vat_percent) if cost else None,
            evse_id=cdr.evse_id,
            driver_type=driver.type.value if driver else None,
            driver_id=driver.id if driver else None,
            driver_hash=driver.pseudonym if driver else None,
            payload_hash=cdr.payload_hash,
            needs_review=stored.awaiting_review,
            anomalies=cdr.anomalies,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, by the feed's names; absent values are null (the schema lists them all)."""
        return self.model_dump(by_alias=True, mode="json")


def record_id(pk: str, sk: str, payload_hash: str) -> str:
    """Stable id of one stored record: the same record always has the same id."""
    return hashlib.sha256(f"{pk}\x1f{sk}\x1f{payload_hash}".encode()).hexdigest()[:32]


def event_id(event_type: BillingEventType, record: BillingRecord) -> str:
    """Stable id of one event: a consumer dedupes on it (at-least-once delivery)."""
    return hashlib.sha256(f"{event_type.value}\x1f{record.record_id}".encode()).hexdigest()[:32]


# --- the daily export (docs/billing-feed.md, "Export") -------------------------------------------

EXPORT_WITHHELD = frozenset({"driverId"})
"""Never exported: the export is kept for the accounting period, the raw driver identity is not
(docs/privacy.md); `driverHash` identifies the driver in it."""

EXPORT_COLUMNS: tuple[str, ...] = tuple(
    column
    for column in (field.alias or name for name, field in BillingRecord.model_fields.items())
    if column not in EXPORT_WITHHELD
)
"""The export's columns, in order: the record's fields by their JSON names, less the withheld."""

ExportFormat = Literal["csv", "jsonl"]


def export_values(record: BillingRecord) -> dict[str, Any]:
    """One export row: `to_json` in column order, without the withheld fields."""
    values = record.to_json()
    return {column: values[column] for column in EXPORT_COLUMNS}


@dataclass(frozen=True)
class ExportFile:
    """One object of an export: its key under the bucket (or the output folder) and its bytes."""

    key: str
    body: bytes
    content_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True)
class DayExport:
    """The export of one UTC day: a file per partner, then the manifest (written last)."""

    day: date
    rows: int
    partner_files: tuple[ExportFile, ...]
    manifest: ExportFile

    @property
    def files(self) -> tuple[ExportFile, ...]:
        return (*self.partner_files, self.manifest)

    def summary(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "rows": self.rows, "manifest": self.manifest.key}


class ExportRequest(BaseModel):
    """What BillingExportFunction is asked: the EventBridge schedule's event (its `time`: the day
    before it is exported) or a backfill, `{"day": "YYYY-MM-DD"}` or `{"from": ..., "to": ...}`."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    day: date | None = None
    from_day: date | None = Field(default=None, alias="from")
    to_day: date | None = Field(default=None, alias="to")
    time: datetime | None = None
    format: ExportFormat = "csv"
