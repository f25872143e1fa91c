"""What a DynamoDB item can hold, checked without AWS (intake refuses or flags the rest)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

NUMBER_DIGITS = 38
NUMBER_EXPONENTS = (-130, 124)
"""DynamoDB numbers: 38 digits, magnitudes from 1E-130 to below 1E+126 (we stop one power
short, so a value that passes through a float on its way stays storable)."""


def unstorable(value: Any, where: str) -> str | None:
    """Why `value` (parsed JSON: numbers as int or Decimal) cannot be written to DynamoDB as it
    is, naming the first offending member (`station-post.station.speed: ...`), or None.
    Recurses once per nesting level: bound the depth before (`backbone.oioi.wire.MAX_DEPTH`)."""
    return next(_problems(value, where), None)


def _problems(value: Any, where: str) -> Iterator[str]:
    if isinstance(value, str) and not is_utf8(value):
        yield f"{where}: not valid Unicode (lone surrogate)"
    elif isinstance(value, int | Decimal | float) and not isinstance(value, bool):
        if problem := _number_problem(value, where):
            yield problem
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not is_utf8(str(key)) or not key:
                yield f"{where}: a member name is empty or not valid Unicode (lone surrogate)"
            yield from _problems(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _problems(item, f"{where}[{index}]")


def _number_problem(value: int | Decimal | float, where: str) -> str | None:
    # Digits as written: boto3 refuses to round, so 10**100 (101 digits) fails where 1E+100 fits.
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        return f"{where}: not a finite number"
    lowest, highest = NUMBER_EXPONENTS
    if number.is_zero() and lowest <= int(number.as_tuple().exponent) <= highest:
        return None
    if not number.is_zero() and (
        len(number.as_tuple().digits) <= NUMBER_DIGITS and lowest <= number.adjusted() <= highest
    ):
        return None
    return (
        f"{where}: {format(number, 'E')[:40]} cannot be stored (at most {NUMBER_DIGITS} digits, "
        f"magnitude 1E{lowest} to 9.9E+{highest})"
    )


def is_utf8(text: str) -> bool:
    """Whether DynamoDB (UTF-8) can hold `text`: JSON's `\\ud800` escapes make lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
