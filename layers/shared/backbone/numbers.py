"""Exact decimal numbers, whatever their exponent."""

from __future__ import annotations

from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal

_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)
"""Precision and exponents without limit: normalising never rounds (the default context keeps
28 digits) and never expands `1E+999999` to its digits."""


def exact_decimal(value: int | Decimal) -> Decimal | None:
    """`value` without trailing zeros, exactly (16.50 -> 16.5, -0 -> 0); None for NaN and
    infinities. Costs what the digits written cost, never what the exponent would."""
    number = Decimal(value)
    if not number.is_finite():
        return None
    return Decimal(0) if number.is_zero() else number.normalize(_EXACT)
