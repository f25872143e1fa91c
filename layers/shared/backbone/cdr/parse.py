"""From a queue envelope to a validated `Cdr`, whatever the producer checked before.

OIOI `session-post` is validated with the OIOI message model; Drive/EMP sessions with the
partner schema. Numbers are read from the raw text as exact Decimals (never floats): energy in
kWh (Drive gives integer Wh: kWh = Wh / 1000, exactly) and money with its currency (Drive gives
integer minor units: 1432 EUR-cents = 14.32 EUR, exactly).

OIOI session-posts are read by the intake contract (`backbone.cdr.intake`), the same reading
the receiver answered with. Anything that can never become a CDR raises `InvalidCdr` with the
reason; retrying cannot help, so ingestion sends it to the dead-letter queue at once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError

from backbone.cdr.canonical import payload_hash
from backbone.cdr.envelope import CdrEnvelope
from backbone.cdr.intake import MAX_SESSION_ID_BYTES, InvalidCdr, read_session_post
from backbone.cdr.models import MAX_ENERGY_KWH, Cdr, CdrStatus, Cost, Driver, DriverType
from backbone.oioi.wire import json_value
from backbone.partners.schemas import Energy, Price, Session, SessionStatus
from backbone.timeutil import to_storage

__all__ = ["InvalidCdr", "minor_to_amount", "parse_cdr"]

MAX_PARTNER_ID_LENGTH = 512
_DRIVE_STATUSES = {SessionStatus.COMPLETE: CdrStatus.FINAL, SessionStatus.STARTED: CdrStatus.ONGOING}
# Payment state, not the charge: it moves from PROCESSING to PAID after the session, and a
# re-sent session must not look like a corrected CDR because of it.
_DRIVE_VOLATILE = ("balanceStatus", "receiptAvailable")
_DURATION = TypeAdapter(timedelta)

# ISO 4217 currencies whose minor unit is not 1/100 (all others have two decimals).
_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_FOUR_DECIMALS = "CLF UYW"
_MINOR_UNIT_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_ZERO_DECIMALS.split(), 0),
    **dict.fromkeys(_THREE_DECIMALS.split(), 3),
    **dict.fromkeys(_FOUR_DECIMALS.split(), 4),
}
_CURRENCY = re.compile(r"[A-Z]{3}")


def parse_cdr(envelope: CdrEnvelope) -> Cdr:
    """Validate and normalise the CDR in `envelope`; raises `InvalidCdr`."""
    if envelope.received_at.utcoffset() is None:
        raise InvalidCdr("receivedAt has no UTC offset")
    if "#" in envelope.partner_id or len(envelope.partner_id) > MAX_PARTNER_ID_LENGTH:
        raise InvalidCdr(
            f"partnerId {envelope.partner_id[:80]!r} must not contain '#' (it is part of the key)"
        )
    payload = _load(envelope.raw)
    cdr = (
        _from_session_post(envelope, payload)
        if envelope.source == "oioi"
        else _from_session(envelope, payload)
    )
    if len(cdr.session_id.encode("utf-8", "surrogatepass")) > MAX_SESSION_ID_BYTES:
        raise InvalidCdr(f"session id is longer than {MAX_SESSION_ID_BYTES} bytes")
    if cdr.energy_kwh is not None and not Decimal(0) <= cdr.energy_kwh < MAX_ENERGY_KWH:
        raise InvalidCdr(f"energy {cdr.energy_kwh} kWh is out of range")
    return cdr


# --- OIOI session-post -------------------------------------------------------------------------------


def _from_session_post(envelope: CdrEnvelope, payload: Any) -> Cdr:
    """`raw` is the session-post object; the whole request body `{"session-post": {...}}` is
    accepted too. Read by the intake contract the receiver answered with (`backbone.cdr.intake`)."""
    if isinstance(payload, dict) and list(payload) == ["session-post"]:
        payload = payload["session-post"]
    return read_session_post(payload).to_cdr(envelope.partner_id, envelope.received_at, envelope.raw)


# --- Drive / EMP session -----------------------------------------------------------------------------


def _from_session(envelope: CdrEnvelope, payload: Any) -> Cdr:
    if not isinstance(payload, dict):
        raise InvalidCdr("a Drive/EMP session must be a JSON object")
    try:
        session = Session.model_validate(payload)
    except ValidationError as exc:
        raise InvalidCdr(_describe("session", exc)) from exc
    status = _DRIVE_STATUSES.get(session.session_status)
    if status is None:
        raise InvalidCdr(f"a {session.session_status} session is not a CDR (only COMPLETE or STARTED)")
    start = session.start_time
    if start is None or start.utcoffset() is None:
        raise InvalidCdr("session startTime is missing or has no UTC offset")
    stop = start + _duration(session.duration) if status is CdrStatus.FINAL and session.duration else None
    view = {key: value for key, value in payload.items() if key not in _DRIVE_VOLATILE}
    view["startTime"] = to_storage(start)
    return Cdr(
        partner_id=envelope.partner_id,
        session_id=session.session_id,
        source=envelope.source,
        status=status,
        started_at=start,
        stopped_at=stop,
        energy_kwh=_kwh(session.energy) if session.energy else None,
        cost=_price(session.price) if session.price else None,
        driver=Driver(type=DriverType.DRIVE_USER, id=envelope.user_id) if envelope.user_id else None,
        evse_id=session.charger.evse_id if session.charger else None,
        received_at=envelope.received_at,
        payload_hash=payload_hash(view),
        raw=envelope.raw,
        balance_status=session.balance_status.value if session.balance_status else None,
    )


def _duration(text: str) -> timedelta:
    try:
        duration = _DURATION.validate_python(text)
    except ValidationError as exc:
        raise InvalidCdr(f"session duration {text!r} is not an ISO 8601 duration") from exc
    if duration < timedelta(0):
        raise InvalidCdr(f"session duration {text!r} is negative")
    return duration


def _kwh(energy: Energy) -> Decimal:
    """Wh (the Drive/EMP unit) to kWh exactly: 1840 Wh -> 1.840 kWh."""
    unit = energy.unit.upper()
    if unit == "WH":
        return Decimal(energy.value).scaleb(-3)
    if unit == "KWH":
        return Decimal(energy.value)
    raise InvalidCdr(f"energy unit {energy.unit!r} is neither WH nor KWH")


def _price(price: Price) -> Cost:
    """Minor units to an exact amount; `amount` is what the driver pays (incl. VAT)."""
    currency = price.currency_code.upper()
    if not _CURRENCY.fullmatch(currency):
        raise InvalidCdr(f"currency {price.currency_code!r} is not an ISO 4217 code")
    return Cost(
        amount=minor_to_amount(price.minor_incl_vat, currency),
        currency=currency,
        amount_excl_vat=minor_to_amount(price.minor_excl_vat, currency),
        vat_percent=price.vat,
    )


def minor_to_amount(minor: int, currency: str) -> Decimal:
    """1432 EUR -> Decimal("14.32"); 500 JPY -> Decimal("500"); 1234 KWD -> Decimal("1.234")."""
    return Decimal(minor).scaleb(-_MINOR_UNIT_EXPONENTS.get(currency, 2))


# --- helpers -----------------------------------------------------------------------------------------


def _load(raw: str) -> Any:
    try:
        return json_value(raw)
    except ValueError as exc:
        raise InvalidCdr(f"raw is not valid JSON: {exc}") from exc


def _describe(name: str, error: ValidationError) -> str:
    def where(location: Sequence[int | str]) -> str:
        return ".".join(str(part) for part in (name, *location))

    return "; ".join(f"{where(item['loc'])}: {item['msg']}" for item in error.errors(include_url=False))
