"""Charging sessions as a pure function of (session, now).

Nothing runs in the background: a session's state is derived from its script and the timestamps
of the start and stop requests whenever it is read, so advancing the clock is all it takes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from simulator.formats import iso_duration, iso_millis
from simulator.models import SessionScript

Mode = Literal["drive", "emp"]


@dataclass
class Session:
    id: str
    mode: Mode
    connector_id: str
    requested_at: datetime
    script: SessionScript
    user_id: str | None = None
    key_identifier: str | None = None
    stop_requested_at: datetime | None = None
    stop_requests: int = 0
    # A start that Plugsurfing refuses outright (e.g. disabled key) fails whatever the script says.
    refused: bool = False

    @property
    def started_at(self) -> datetime:
        return self.requested_at + timedelta(seconds=self.script.start_delay)

    @property
    def stopped_at(self) -> datetime | None:
        """When charging ends: a stop request or the scripted auto-completion, never before start."""
        candidates = []
        if self.stop_requested_at is not None:
            candidates.append(self.stop_requested_at)
        if self.script.auto_complete_after is not None:
            candidates.append(self.started_at + timedelta(seconds=self.script.auto_complete_after))
        return max(min(candidates), self.started_at) if candidates else None

    @property
    def completed_at(self) -> datetime | None:
        stopped = self.stopped_at
        return None if stopped is None else stopped + timedelta(seconds=self.script.stop_to_complete)

    def status(self, now: datetime) -> str:
        outcome = "fail" if self.refused else self.script.outcome
        if outcome == "stuck" or now < self.started_at:
            return "STARTING"
        if outcome == "fail":
            return "FAILED"
        completed = self.completed_at
        return "COMPLETE" if completed is not None and now >= completed else "STARTED"

    def balance_status(self, now: datetime) -> str | None:
        completed = self.completed_at
        if self.status(now) != "COMPLETE" or completed is None:
            return None
        settled = now >= completed + timedelta(seconds=self.script.balance_delay)
        return self.script.balance_status if settled else "PROCESSING"

    def energy_wh(self, now: datetime) -> int:
        if self.script.energy_wh is not None:
            return self.script.energy_wh
        end = min(now, self.stopped_at or now)
        charged = max(0.0, (end - self.started_at).total_seconds())
        return int(self.script.power_w * charged / 3600)

    def render(self, now: datetime) -> dict[str, Any]:
        """The session as Drive `GET /v1/users/{u}/sessions/{id}` / EMP `GET /emp/v1/sessions/{id}`."""
        status = self.status(now)
        body: dict[str, Any] = {"sessionStatus": status}
        balance = self.balance_status(now)
        if balance is not None:
            body["balanceStatus"] = balance
        body["charger"] = self._charger()
        if self.mode == "emp" and status in ("STARTED", "COMPLETE"):
            body["chargingKeyType"] = "tag"
        body["connectorId"] = self.connector_id
        if status in ("STARTED", "COMPLETE"):
            end = min(now, self.stopped_at or now)
            body["duration"] = iso_duration(end - self.started_at)
        if status == "COMPLETE":
            body["energy"] = {"unit": "WH", "value": self.energy_wh(now)}
            if self.mode == "drive":
                body["paymentMethod"] = "EXTERNAL"
            body["price"] = self._price(self.energy_wh(now))
        settled = balance not in (None, "PROCESSING")
        body["receiptAvailable"] = self.mode == "drive" and settled
        body["sessionId"] = self.id
        body["site"] = f"SIM site {self._connector_hash()[:6]}"
        body["startTime"] = iso_millis(self.requested_at)
        return body

    def _connector_hash(self) -> str:
        return hashlib.sha256(self.connector_id.encode()).hexdigest().upper()

    def _charger(self) -> dict[str, str]:
        digest = self._connector_hash()
        return {
            "chargingStationName": self.script.station_name or f"SIM {digest[:12]}",
            "connectorLabel": "1",
            "evseId": self.script.evse_id or f"DE*SIM*E{digest[:10]}*1",
        }

    def _price(self, energy_wh: int) -> dict[str, Any]:
        incl = round(energy_wh * self.script.price_minor_per_kwh / 1000)
        excl = round(incl / (1 + float(self.script.vat) / 100))
        return {
            "currencyCode": self.script.currency,
            "minorExclVat": excl,
            "minorInclVat": incl,
            "vat": self.script.vat,
        }
