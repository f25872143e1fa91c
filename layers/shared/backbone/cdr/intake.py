"""The intake contract for OIOI `session-post`: one reading, used by the receiver to decide its
answer and by ingestion to build the record, so whatever the edge answers 0 for is storable.

Policy (docs/cdr-ingestion.md, "Intake policy"): a CDR is money, so a post that identifies its
session (a usable `session-id`; the caller's `partner-identifier` is checked by the receiver)
is accepted however sloppy the rest is. Each field is read on its own:

- what has one certain meaning is normalised (`"16.5"` and `16.50` are 16.5; `eur` is EUR; an
  EVSE ID is written in its one spelling, `canonical_evse_id`);
- what has not is left out of the typed fields and named in `anomalies`; the partner's text
  stays in `raw`, the record is marked for review, nothing is refused for it;
- only what cannot be tied to a session, or is not a session-post, is refused (`InvalidCdr`).

Every value that reaches the record fits DynamoDB (key sizes, 38 significant digits, number
range, representable times) and reading costs about the same whatever the input: numbers are
never expanded to their digits, and nesting depth is bounded before anything recurses.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError

from backbone.cdr.canonical import payload_hash
from backbone.cdr.models import MAX_ENERGY_KWH, Cdr, CdrStatus, Cost, Driver, DriverType
from backbone.numbers import exact_decimal
from backbone.oioi.identifiers import InvalidUid, canonical_evse_id, normalise_uid
from backbone.storable import is_utf8
from backbone.timeutil import to_storage

MAX_SESSION_ID_BYTES = 512
"""UTF-8 bytes: with the partner id it is the table's partition key (at most 2048 bytes)."""
MAX_INDEXED_BYTES = 1024
"""Driver and EVSE ids are index keys (at most 2048 bytes); longer ones are kept only in `raw`."""
MAX_SIGNIFICANT_DIGITS = 38  # DynamoDB numbers
MAX_AMOUNT = Decimal(10) ** 9
SMALLEST_EXPONENT = -20
"""Values below 1e-20 kWh or currency units are not measurements; DynamoDB stops at 1e-130."""
PLAUSIBLE_FROM = datetime(2000, 1, 1, tzinfo=UTC)
PLAUSIBLE_AHEAD = timedelta(days=1)
"""Times before 2000 or more than a day after receipt are kept but flagged (reset clocks)."""

_NUMBER_TEXT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_EVCO_SEPARATORS = re.compile(r"[*-]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DATETIME = TypeAdapter(datetime)
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d(:\d\d([.,]\d+)?)?([Zz]|[+-]\d\d(:?\d\d)?)?")


class InvalidCdr(ValueError):
    """The payload can never become a CDR (not a session-post, no usable session id, not
    JSON...). The message says why: the partner's 400, or the dead-letter queue's reason."""


@dataclass(frozen=True)
class SessionPostIntake:
    """A session-post as read: the values that are certain, and the anomalies of the rest."""

    session_id: str
    partner_identifier: str
    is_final: bool
    started_at: datetime | None
    stopped_at: datetime | None
    charging_started_at: datetime | None
    charging_stopped_at: datetime | None
    energy_kwh: Decimal | None
    cost: Cost | None
    driver: Driver | None
    evse_id: str | None
    anomalies: tuple[str, ...]
    payload_hash: str

    def to_cdr(self, partner_id: str, received_at: datetime, raw: str) -> Cdr:
        return Cdr(
            partner_id=partner_id,
            session_id=self.session_id,
            source="oioi",
            status=CdrStatus.FINAL if self.is_final else CdrStatus.ONGOING,
            # Without a readable start the record is still indexed for settlement (ByPartner and
            # the others range on startedAt): by its stop, else by when it was received.
            started_at=self.started_at or self.stopped_at or received_at,
            stopped_at=self.stopped_at,
            charging_started_at=self.charging_started_at,
            charging_stopped_at=self.charging_stopped_at,
            energy_kwh=self.energy_kwh,
            cost=self.cost,
            driver=self.driver,
            evse_id=self.evse_id,
            received_at=received_at,
            payload_hash=self.payload_hash,
            raw=raw,
            partner_identifier=self.partner_identifier,
            anomalies=self.anomalies + self._implausible_times(received_at),
        )

    def _implausible_times(self, received_at: datetime) -> tuple[str, ...]:
        latest = received_at + PLAUSIBLE_AHEAD
        named = (
            ("session-interval.start", self.started_at),
            ("session-interval.stop", self.stopped_at),
            ("charging-interval.start", self.charging_started_at),
            ("charging-interval.stop", self.charging_stopped_at),
        )
        return tuple(
            f"{name}: {to_storage(value)} is before 2000 or more than a day after receipt"
            for name, value in named
            if value is not None and not PLAUSIBLE_FROM <= value <= latest
        )


def read_session_post(payload: Any) -> SessionPostIntake:
    """Read a parsed session-post object (JSON values; numbers as int or Decimal)."""
    if not isinstance(payload, dict):
        raise InvalidCdr("a session-post must be a JSON object")
    reader = _Reader(payload)
    session_id = _session_id(payload.get("session-id"))
    partner_identifier = payload.get("partner-identifier")
    if not isinstance(partner_identifier, str) or not partner_identifier.strip():
        raise InvalidCdr("session-post.partner-identifier: a non-empty string is required")
    interval = reader.object("session-interval", required=True)
    charging = reader.object("charging-interval")
    started = reader.time("session-interval.start", interval, "start", required=True)
    stopped = reader.time("session-interval.stop", interval, "stop")
    charging_started = reader.time("charging-interval.start", charging, "start")
    charging_stopped = reader.time("charging-interval.stop", charging, "stop")
    reader.order("session-interval", started, stopped)
    reader.order("charging-interval", charging_started, charging_stopped)
    energy = reader.energy()
    cost = reader.cost()
    driver = reader.driver()
    evse_id = reader.evse_id()
    view = {
        **payload,
        "session-id": session_id,
        "energy-consumed": energy if energy is not None else payload.get("energy-consumed"),
        "connector-id": evse_id if evse_id is not None else payload.get("connector-id"),
        **reader.hashed_overrides(interval, charging, cost),
    }
    if driver is not None:  # the driver as stored: `4aabbcc` and `04AABBCC` are one driver
        view["user"] = {**payload["user"], "identifier-type": driver.type.value, "identifier": driver.id}
    if charging is not None and all(value is None for value in charging.values()):
        view["charging-interval"] = None  # `{}` says no more than leaving it out
    return SessionPostIntake(
        session_id=session_id,
        partner_identifier=partner_identifier,
        # The partner says the session ended when it sends a stop, even one we cannot read.
        is_final=interval is not None and interval.get("stop") is not None,
        started_at=started,
        stopped_at=stopped,
        charging_started_at=charging_started,
        charging_stopped_at=charging_stopped,
        energy_kwh=energy,
        cost=cost,
        driver=driver,
        evse_id=evse_id,
        anomalies=tuple(reader.anomalies),
        payload_hash=payload_hash(view),
    )


# --- refusals ----------------------------------------------------------------------------------


def _session_id(value: Any) -> str:
    where = "session-post.session-id"
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # 12345 and "12345" name the same session
    if not isinstance(value, str):
        raise InvalidCdr(f"{where}: a string is required, got {_kind(value)}")
    text = value.strip()
    if not text:
        raise InvalidCdr(f"{where}: must not be empty or only white space")
    if _CONTROL.search(text):
        raise InvalidCdr(f"{where}: must not contain control characters")
    if not is_utf8(text):
        raise InvalidCdr(f"{where}: is not valid Unicode (lone surrogate)")
    if not any(unicodedata.category(char)[0] in "LNPS" for char in text):
        raise InvalidCdr(f"{where}: must contain a visible character")
    if len(text.encode("utf-8")) > MAX_SESSION_ID_BYTES:
        raise InvalidCdr(f"{where}: at most {MAX_SESSION_ID_BYTES} bytes (UTF-8) are accepted")
    return text


# --- field by field ----------------------------------------------------------------------------


class _Reader:
    """Reads the optional parts; what it cannot read with certainty becomes an anomaly."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.anomalies: list[str] = []
        self._times: dict[tuple[str, str], datetime] = {}

    def flag(self, where: str, problem: str) -> None:
        self.anomalies.append(f"{where}: {problem}")

    def object(self, name: str, *, required: bool = False) -> dict[str, Any] | None:
        value = self.payload.get(name)
        if value is None:
            if required:
                self.flag(name, "missing")
            return None
        if not isinstance(value, dict):
            self.flag(name, f"an object is required, got {_kind(value)}")
            return None
        return value

    def time(
        self, where: str, parent: dict[str, Any] | None, name: str, *, required: bool = False
    ) -> datetime | None:
        value = parent.get(name) if parent is not None else None
        if value is None:
            if required and parent is not None:
                self.flag(where, "missing")
            return None
        if not isinstance(value, str):
            self.flag(where, f"an RFC 3339 date-time string is required, got {_kind(value)}")
            return None
        try:
            if not _RFC3339.fullmatch(value.strip()):
                raise ValueError(value)
            parsed = _DATETIME.validate_python(value.strip())
        except (ValidationError, ValueError):
            self.flag(where, f"{_shown(value)} is not an RFC 3339 date-time")
            return None
        if parsed.utcoffset() is None:
            self.flag(where, f"{_shown(value)} has no UTC offset (not guessed)")
            return None
        try:
            utc = parsed.astimezone(UTC)
            to_storage(utc)
        except (OverflowError, ValueError):
            self.flag(where, f"{_shown(value)} is outside the representable years")
            return None
        self._times[(where.split(".", maxsplit=1)[0], name)] = utc
        return utc

    def order(self, where: str, start: datetime | None, stop: datetime | None) -> None:
        if start is not None and stop is not None and stop < start:
            self.flag(where, f"stop {to_storage(stop)} is before start {to_storage(start)}")

    def number(self, where: str, value: Any, *, below: Decimal, negative: bool) -> Decimal | None:
        number, problem = _decimal(value)
        exact = exact_decimal(number) if number is not None else None
        if exact is not None and not problem:
            problem = _range_problem(exact, below, negative)
        if number is None or exact is None or problem:
            self.flag(where, problem or "not a finite number")
            return None
        if exact.is_zero():
            return Decimal(0)  # 0E-200 is zero, and DynamoDB cannot hold its exponent
        if exact < 0:
            self.flag(where, "negative (kept; a credit?)")
        # As sent (`12.00` stays `12.00` for billing) unless trailing zeros break the digit limit.
        return number if len(number.as_tuple().digits) <= MAX_SIGNIFICANT_DIGITS else exact

    def energy(self) -> Decimal | None:
        value = self.payload.get("energy-consumed")
        if value is None:
            return None
        return self.number("energy-consumed", value, below=MAX_ENERGY_KWH, negative=False)

    def cost(self) -> Cost | None:
        cost = self.object("calculated-cost")
        if cost is None:
            return None
        amount = cost.get("amount")
        if amount is None:
            self.flag("calculated-cost.amount", "missing")
            return None
        number = self.number("calculated-cost.amount", amount, below=MAX_AMOUNT, negative=True)
        if number is None:
            return None
        return Cost(amount=number, currency=self.currency(cost.get("currency")))

    def currency(self, value: Any) -> str | None:
        where = "calculated-cost.currency"
        if not isinstance(value, str):
            self.flag(where, f"an ISO 4217 code is required, got {_kind(value)}")
            return None
        code = value.strip().upper()
        if not _CURRENCY.fullmatch(code):
            self.flag(where, f"{_shown(value)} is not an ISO 4217 code")
            return None
        return code

    def driver(self) -> Driver | None:
        user = self.object("user")
        if user is None:
            if "user" not in self.payload:
                self.flag("user", "missing")
            return None
        kind, identifier = user.get("identifier-type"), user.get("identifier")
        try:
            driver_type = DriverType(kind.strip().lower()) if isinstance(kind, str) else None
        except ValueError:
            driver_type = None
        if driver_type is None or driver_type is DriverType.DRIVE_USER:
            self.flag("user.identifier-type", f"{_shown(kind)} is not evco-id, rfid or username")
            return None
        if not isinstance(identifier, str) or not identifier.strip():
            self.flag("user.identifier", "a non-empty string is required")
            return None
        text = driver_spelling(driver_type, identifier.strip())
        if not _storable_key(text):
            self.flag("user.identifier", f"not usable as an index key ({_key_problem(text)})")
            return None
        return Driver(type=driver_type, id=text)

    def evse_id(self) -> str | None:
        where = "connector-id"
        value = self.payload.get(where)
        if value is None:
            self.flag(where, "missing")
            return None
        if not isinstance(value, str):
            self.flag(where, f"an EVSE ID string is required, got {_kind(value)}")
            return None
        text = value.strip()
        if canonical := canonical_evse_id(text):
            return canonical
        if not _storable_key(text):
            self.flag(where, f"not usable as an index key ({_key_problem(text)})")
            return None
        self.flag(where, f"{_shown(text)} is not an EVSE ID (kept as sent)")
        return text

    def hashed_overrides(
        self, interval: dict[str, Any] | None, charging: dict[str, Any] | None, cost: Cost | None
    ) -> dict[str, Any]:
        """Normalised values in place of the sent ones, so a re-post that spells the same CDR
        differently (offsets, `"16.5"`, `eur`) hashes the same and is never a correction."""
        overrides: dict[str, Any] = {}
        for name, part in (("session-interval", interval), ("charging-interval", charging)):
            if part is not None:
                times = {
                    key: to_storage(value) for (owner, key), value in self._times.items() if owner == name
                }
                overrides[name] = {**part, **times}
        if cost is not None:
            sent = self.payload["calculated-cost"]
            overrides["calculated-cost"] = {
                **sent,
                "amount": cost.amount,
                "currency": cost.currency if cost.currency is not None else sent.get("currency"),
            }
        return overrides


def _decimal(value: Any) -> tuple[Decimal | None, str]:
    """A JSON number, or a string holding exactly one (`"16.5"`), as a Decimal as written."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        return None, f"a number is required, got {_kind(value)}"
    if isinstance(value, str):
        if not _NUMBER_TEXT.fullmatch(value.strip()):
            return None, f"{_shown(value)} is not a number"
        return Decimal(value.strip()), ""
    return Decimal(value), ""


def _range_problem(number: Decimal, below: Decimal, negative: bool) -> str:
    if number.is_zero():
        return ""
    if len(number.as_tuple().digits) > MAX_SIGNIFICANT_DIGITS:
        return f"more than {MAX_SIGNIFICANT_DIGITS} significant digits"
    if number.adjusted() < SMALLEST_EXPONENT or abs(number) >= below:
        return f"out of range (below {below:.0E}, at least 1E{SMALLEST_EXPONENT})"
    if number < 0 and not negative:
        return "must not be negative"
    return ""


def driver_spelling(driver_type: DriverType, identifier: str) -> str:
    """One spelling per identifier, so the ByDriver index finds every CDR: UIDs in OIOI
    canonical form, EVCO IDs upper case without separators."""
    if driver_type is DriverType.RFID:
        try:
            return normalise_uid(identifier)
        except InvalidUid:
            return identifier.upper()  # kept as sent: a CDR is never refused for its UID
    if driver_type is DriverType.EVCO_ID:
        return _EVCO_SEPARATORS.sub("", identifier).upper()
    return identifier


def _storable_key(text: str) -> bool:
    return _key_problem(text) == ""


def _key_problem(text: str) -> str:
    if not text:
        return "empty"
    if not is_utf8(text):
        return "lone surrogate"
    if len(text.encode("utf-8")) > MAX_INDEXED_BYTES:
        return f"over {MAX_INDEXED_BYTES} bytes"
    return ""


def _kind(value: Any) -> str:
    names: Mapping[type, str] = {dict: "an object", list: "an array", bool: "a boolean", str: "a string"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
