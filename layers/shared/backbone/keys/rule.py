"""The one rule deciding whether a charging key may charge: online (rfid-verify) and offline (the
whitelist push) both answer from it, so a CPO's station never allows offline what we refuse online.

A key may charge at `now` when all of these hold:
- it is enabled and ACTIVE (not in stock, reserved, assigned, disabled, or lost/blocked);
- `now` is inside its validity window (`validFrom` <= now <= `validTo`, either end open);
- it has a payment method.

rfid-verify answers 192 (locked) for the first two, 193 (no payment method) for the third, 0 when
all hold. The whitelist lists exactly the keys answered 0: the sparse `whitelist` attribute (the
`Whitelist` index's partition key) is the time-independent part (`listed`), written with every
key write; the window is checked when the push reads the index (`validTo` in the key condition,
`validFrom` projected) in the same comparisons as `in_window`, on the stored timestamps (fixed-width
ISO-8601 UTC, which sort as time does).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from backbone.oioi.codes import ResultCode
from backbone.timeutil import to_utc

if TYPE_CHECKING:
    from backbone.keys.models import ChargingKey


def active(key: ChargingKey) -> bool:
    """Enabled and ACTIVE: what Plugsurfing should hold as an enabled key (key sync)."""
    return key.enabled and key.state == "ACTIVE"  # KeyState.ACTIVE (a StrEnum)


def listed(key: ChargingKey) -> bool:
    """The time-independent part of the rule: carries the sparse `whitelist` attribute."""
    return active(key) and key.has_payment_method


def in_window(valid_from: datetime | None, valid_to: datetime | None, now: datetime) -> bool:
    """Inside the validity window (both ends inclusive, None: open)."""
    moment = to_utc(now)
    return (valid_from is None or valid_from <= moment) and (valid_to is None or moment <= valid_to)


def authorisation(key: ChargingKey, now: datetime) -> ResultCode:
    """The rfid-verify answer: 0 may charge, 192 locked/blocked/outside its window, 193 no
    payment method."""
    if not active(key) or not in_window(key.valid_from, key.valid_to, now):
        return ResultCode.EVCO_ID_LOCKED
    if not key.has_payment_method:
        return ResultCode.EVCO_ID_NO_PAYMENT_METHOD
    return ResultCode.SUCCESS


def may_charge(key: ChargingKey, now: datetime) -> bool:
    """On the whitelist at `now`, and answered 0 by rfid-verify."""
    return authorisation(key, now) is ResultCode.SUCCESS
