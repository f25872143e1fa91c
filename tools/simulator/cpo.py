"""The simulator as the other side of OIOI: a CPO (or Plugsurfing as hub) sending to *our* endpoint.

Messages are built from the OIOI v4 document (seed 002: "Session Post", "RFID Verify", "Station
Post", "Connector Post Status", the glossary's EVSE ID / EVCO ID / partner identifier), never from
the product's models, so an e2e test drives our receivers the way a partner would.

Id shapes:
- `glossary`: ids as the glossary describes them (`DE*SIM*E000123*1`, UUID session ids,
  `DE*SIM*C00001*7` contract ids, RFC 3339 times with an offset, as "Y-m-d\\TH:i:sP").
- `real-world`: forms the spec allows that partners are known to send and our own fixtures do
  not: the optional second `*` of an EVSE ID left out (`DE*SIME000123`), numeric session ids,
  dashed contract ids (`DE-SIM-C00001-X`), UTC times with `Z` and milliseconds.

Session-post phases (seed 002, "Sending CDRs": ongoing sessions "simply omit optional data that
is not available at the moment, e.g. the session interval's stop time"):
- `ongoing`: session-interval start only, no charging-interval stop, energy or cost;
- `final`: everything;
- `ongoing-then-final`: both, in that order, with the same session id.
"""

from __future__ import annotations

import copy
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
from pydantic import Field, model_validator

from simulator.models import AdminBody

MessageName = Literal["session-post", "rfid-verify", "station-post", "connector-post-status"]
IdShape = Literal["glossary", "real-world"]
Phase = Literal["ongoing", "final", "ongoing-then-final"]

STAGING_ACTIVE_UID = "04523022AA4881"  # seed 002, "UIDs to test RFID": active, has a payment method
STAGING_INACTIVE_UID = "0477BD22AA4880"
STAGING_UNKNOWN_UID = "0477BD22AA4AAA"
CONNECTOR_STATUSES = ("Available", "Occupied", "Offline", "Reserved", "Unknown")  # seed 002
SEND_TIMEOUT = 30.0


class OioiSendIn(AdminBody):
    """`POST /_sim/oioi/send`: what to send, where, with which key."""

    url: str = Field(min_length=1)
    key: str = Field(min_length=1)
    """Sent as `Authorization: key=<key>` (seed 002, "Sending a Message via OIOI")."""
    message: MessageName | None = None
    body: dict[str, Any] | None = None
    """A complete request body to send verbatim instead of a built `message`."""
    ids: IdShape = "glossary"
    phase: Phase = "final"
    partner_identifier: str = Field(default="123456-123456-abcdef-abc123-456def")
    """The spec's example partner identifier unless the test gives ours."""
    fields: dict[str, Any] = Field(default_factory=dict)
    """Merged into the built message (objects merged deeply, `null` removes a field)."""
    repeat: int = Field(default=1, ge=1, le=20)
    """Send every message this many times (duplicates, as a retrying CPO does)."""

    @model_validator(mode="after")
    def _message_or_body(self) -> OioiSendIn:
        if (self.message is None) == (self.body is None):
            raise ValueError("give exactly one of message (built from the spec) or body (verbatim)")
        return self


def build(request: OioiSendIn, now: datetime, rng: random.Random) -> list[dict[str, Any]]:
    """The request bodies `request` stands for, in sending order."""
    if request.body is not None or request.message is None:
        return [request.body or {}]
    ids = Ids(request.ids, rng)
    if request.message == "session-post":
        messages = session_posts(request, ids, now)
    else:
        messages = [_BUILDERS[request.message](request, ids)]
    return [{name: merge(message, request.fields)} for name, message in messages]


def send(request: OioiSendIn, now: datetime, rng: random.Random) -> list[dict[str, Any]]:
    """Post each built body (times `repeat`) and report what our endpoint answered."""
    exchanges: list[dict[str, Any]] = []
    headers = {"Authorization": f"key={request.key}", "Content-Type": "application/json"}
    with httpx.Client(timeout=SEND_TIMEOUT) as client:
        for body in build(request, now, rng):
            for _ in range(request.repeat):
                exchanges.append(_post(client, request.url, headers, body))
    return exchanges


def _post(client: httpx.Client, url: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    try:
        response = client.post(url, json=body, headers=headers)
    except httpx.HTTPError as error:
        return {"request": body, "status": None, "answer": None, "error": f"{type(error).__name__}: {error}"}
    try:
        answer: Any = response.json()
    except ValueError:
        answer = response.text
    return {"request": body, "status": response.status_code, "answer": answer}


class Ids:
    """Fresh identifiers in one of the shapes above."""

    def __init__(self, shape: IdShape, rng: random.Random) -> None:
        self.shape = shape
        self.rng = rng

    def _digits(self, count: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(count))

    def session_id(self) -> str:
        if self.shape == "glossary":
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        return self._digits(10)

    def evse_id(self) -> str:
        if self.shape == "glossary":
            return f"DE*SIM*E{self._digits(6)}*1"
        return f"DE*SIME{self._digits(6)}"  # the optional second "*" left out

    def station_id(self) -> str:
        return f"sim-station-{self._digits(8)}"

    def evco_id(self) -> str:
        body = f"C{self._digits(5)}"
        if self.shape == "glossary":
            return f"DE*SIM*{body}*{self._digits(1)}"
        return f"DE-SIM-{body}-X"

    def time(self, moment: datetime) -> str:
        if self.shape == "glossary":
            return moment.astimezone(UTC).replace(microsecond=0).isoformat()  # ...+00:00
        return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def session_posts(request: OioiSendIn, ids: Ids, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """One or two session-posts for one session (seed 002 "Session Post")."""
    start = now - timedelta(hours=1, minutes=30)
    stop = now
    common: dict[str, Any] = {
        "user": {"identifier": STAGING_ACTIVE_UID, "identifier-type": "rfid"},
        "session-id": ids.session_id(),
        "connector-id": ids.evse_id(),
        "partner-identifier": request.partner_identifier,
    }
    ongoing = common | {
        "session-interval": {"start": ids.time(start)},
        "charging-interval": {"start": ids.time(start + timedelta(minutes=2))},
    }
    final = common | {
        "session-interval": {"start": ids.time(start), "stop": ids.time(stop)},
        "charging-interval": {
            "start": ids.time(start + timedelta(minutes=2)),
            "stop": ids.time(stop - timedelta(minutes=5)),
        },
        "energy-consumed": 16.5,
        "calculated-cost": {"amount": 14.32, "currency": "EUR"},
    }
    phases = {"ongoing": [ongoing], "final": [final], "ongoing-then-final": [ongoing, final]}
    return [("session-post", message) for message in phases[request.phase]]


def rfid_verify(request: OioiSendIn, ids: Ids) -> tuple[str, dict[str, Any]]:
    return "rfid-verify", {"rfid": STAGING_ACTIVE_UID}


def station_post(request: OioiSendIn, ids: Ids) -> tuple[str, dict[str, Any]]:
    """Every required field of seed 002 "Station Post", two connectors."""
    station = {
        "id": ids.station_id(),
        "name": "Simulated CPO station",
        "latitude": 52.520008,
        "longitude": 13.404954,
        "address": {
            "street": "Alexanderplatz",
            "street-number": "1",
            "city": "Berlin",
            "zip": "10178",
            "country": "DE",
        },
        "contact": {"phone": "+49 30 8122321"},
        "cpo-id": "DE*SIM",
        "is-open-24": True,
        "connectors": [
            {"id": ids.evse_id(), "name": "Type2", "speed": 22},
            {"id": ids.evse_id(), "name": "Combo", "speed": 150},
        ],
    }
    return "station-post", {"station": station, "partner-identifier": request.partner_identifier}


def connector_post_status(request: OioiSendIn, ids: Ids) -> tuple[str, dict[str, Any]]:
    return "connector-post-status", {
        "connector-id": ids.evse_id(),
        "partner-identifier": request.partner_identifier,
        "status": "Available",
    }


_BUILDERS = {
    "rfid-verify": rfid_verify,
    "station-post": station_post,
    "connector-post-status": connector_post_status,
}


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`base` with `changes` applied: objects merged deeply, `None` removes the field."""
    merged = copy.deepcopy(base)
    for name, value in changes.items():
        if value is None:
            merged.pop(name, None)
        elif isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name] = merge(merged[name], value)
        else:
            merged[name] = copy.deepcopy(value)
    return merged
