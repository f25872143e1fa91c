"""Exact decimal numbers, whatever their exponent."""

from __future__ import annotations

from decimal import Decimal


def exact_decimal(value: int | Decimal) -> Decimal | None:
    """`value` without trailing zeros, exactly (no context rounding, however many digits);
    None for NaN and infinities. Cost grows with the digits written, never with the exponent."""
    number = Decimal(value)
    if not number.is_finite():
        return None
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    if not any(digits):
        return Decimal(0)
    kept = len(digits)
    while digits[kept - 1] == 0:
        kept -= 1
    return Decimal((sign, digits[:kept], exponent + len(digits) - kept))
