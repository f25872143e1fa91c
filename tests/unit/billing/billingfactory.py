"""CdrTable items as the stream carries them (plain values, numbers as Decimal), for the billing
tests: built by `Cdr.to_item`, the same code ingestion writes with."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from backbone.cdr.models import REVIEW_ATTRIBUTE, REVIEW_NOTE, REVIEWED_AT, Cdr, Cost, Driver, RecordKind
from backbone.privacy.pseudonym import pseudonym

PEPPER = "billing-tests-pepper-0123456789abcdef"
DRIVER = Driver(type="rfid", id="04523022AA4881", pseudonym=pseudonym(PEPPER, "rfid#04523022AA4881"))


def cdr_item(
    *,
    session: str = "S-1",
    status: str = "FINAL",
    kind: RecordKind = RecordKind.CDR,
    payload_hash: str = "a" * 64,
    energy: str = "16.500",
    amount: str = "14.30",
    anomalies: tuple[str, ...] = (),
    reviewed: bool = False,
) -> dict[str, Any]:
    cdr = Cdr(
        partner_id="acme-cpo",
        session_id=session,
        source="oioi",
        status=status,
        started_at=datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        stopped_at=datetime(2026, 3, 1, 16, 0, tzinfo=UTC) if status == "FINAL" else None,
        charging_started_at=datetime(2026, 3, 1, 11, 0, tzinfo=UTC),
        charging_stopped_at=datetime(2026, 3, 1, 15, 0, tzinfo=UTC) if status == "FINAL" else None,
        energy_kwh=Decimal(energy),
        cost=Cost(amount=Decimal(amount), currency="EUR"),
        driver=DRIVER,
        evse_id="DE*8PS*ETABCD*1",
        received_at=datetime(2026, 3, 1, 16, 5, 30, 250000, tzinfo=UTC),
        payload_hash=payload_hash,
        raw="{}",
        anomalies=anomalies,
    )
    item = cdr.to_item(kind)
    if reviewed:
        item.pop(REVIEW_ATTRIBUTE, None)
        item |= {REVIEWED_AT: "2026-03-02T09:00:00.000Z", REVIEW_NOTE: "checked"}
    return item
