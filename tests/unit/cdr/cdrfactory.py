"""Builders for CDR payloads and envelopes, shared by the CDR unit and integration tests.

Payload text is written by hand (not json.dumps of floats) so numbers reach ingestion exactly
as a partner would spell them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from backbone.cdr.envelope import CdrEnvelope
from backbone.observability import metrics

PARTNER = "acme-cpo"
PARTNER_IDENTIFIER = "4f1c9a7e-acme-cpo-0001"
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def session_post_text(
    session_id: str = "S-1",
    *,
    start: str = "2026-03-01T11:00:00+01:00",
    stop: str | None = "2026-03-01T17:00:00+01:00",
    charging_stop: str | None = "2026-03-01T16:00:00+01:00",
    charging_start: str | None = "2026-03-01T12:00:00+01:00",
    energy: str | None = "16.5",
    cost: str | None = "14.32",
    currency: str = "EUR",
    uid: str = "04523022AA4881",
    identifier_type: str = "rfid",
    evse: str = "DE*8PS*ETABCD*1",
    extra: Mapping[str, Any] | None = None,
) -> str:
    """The session-post object as JSON text; `None` leaves a field out."""
    interval = {"start": start} | ({"stop": stop} if stop else {})
    charging = ({"start": charging_start} if charging_start else {}) | (
        {"stop": charging_stop} if charging_stop else {}
    )
    parts = [
        f'"user": {{"identifier": "{uid}", "identifier-type": "{identifier_type}"}}',
        f'"session-id": "{session_id}"',
        f'"connector-id": "{evse}"',
        f'"session-interval": {json.dumps(interval)}',
    ]
    if charging:
        parts.append(f'"charging-interval": {json.dumps(charging)}')
    if energy is not None:
        parts.append(f'"energy-consumed": {energy}')
    if cost is not None:
        parts.append(f'"calculated-cost": {{"amount": {cost}, "currency": "{currency}"}}')
    parts.append(f'"partner-identifier": "{PARTNER_IDENTIFIER}"')
    parts.extend(f"{json.dumps(key)}: {json.dumps(value)}" for key, value in (extra or {}).items())
    return "{" + ", ".join(parts) + "}"


def oioi(raw: str, received: datetime | int = 0, partner: str = PARTNER) -> CdrEnvelope:
    """An OIOI envelope; an int `received` is minutes after T0."""
    at = T0 + timedelta(minutes=received) if isinstance(received, int) else received
    return CdrEnvelope(source="oioi", partner_id=partner, received_at=at, raw=raw)


def drive_session_text(
    session_id: str = "LWO89J3mDJr",
    *,
    status: str = "COMPLETE",
    balance: str | None = "PAID",
    energy_wh: int | str = 1840,
    unit: str = "WH",
    minor_incl: int = 200,
    minor_excl: int = 160,
    currency: str = "NOK",
    start: str = "2026-02-18T10:41:39.148Z",
    duration: str | None = "PT15M",
    receipt: bool = False,
) -> str:
    session: dict[str, Any] = {"sessionStatus": status}
    if balance:
        session["balanceStatus"] = balance
    session["charger"] = {
        "chargingStationName": "ZzZ 220218114136937169",
        "connectorLabel": "1",
        "evseId": "NO*XXX*EZzZ220218114136937169*1",
    }
    session["connectorId"] = "abcJd/vR5fvzBa0X/gxaXA=="
    if duration:
        session["duration"] = duration
    if status == "COMPLETE":
        session["energy"] = {"unit": unit, "value": energy_wh}
        session["price"] = {
            "currencyCode": currency,
            "minorExclVat": minor_excl,
            "minorInclVat": minor_incl,
            "vat": "25",
        }
    session |= {"receiptAvailable": receipt, "sessionId": session_id, "site": "ZzZ 1", "startTime": start}
    return json.dumps(session, separators=(",", ":"))


def drive(raw: str, received: datetime | int = 0, user_id: str | None = "ourTestUser") -> CdrEnvelope:
    at = T0 + timedelta(minutes=received) if isinstance(received, int) else received
    return CdrEnvelope(source="drive-api", partner_id="plugsurfing", received_at=at, raw=raw, user_id=user_id)


def metric_count(name: str) -> float:
    """The sum of `name` metrics recorded since the last `metrics.clear_metrics()`."""
    entry = metrics.metric_set.get(name)
    return sum(entry["Value"]) if entry else 0.0


def emitted_metrics(output: str) -> dict[str, float]:
    """Sums of the EMF metrics a handler printed (`metrics.log_metrics` flushes to stdout)."""
    totals: dict[str, float] = {}
    for line in output.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        blob = json.loads(line)
        for definition in blob["_aws"]["CloudWatchMetrics"]:
            for metric in definition["Metrics"]:
                value = blob[metric["Name"]]
                totals[metric["Name"]] = totals.get(metric["Name"], 0.0) + sum(
                    value if isinstance(value, list) else [value]
                )
    return totals
