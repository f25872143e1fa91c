"""Canonical JSON and the payload hash: what makes two CDR payloads "the same".

A partner may re-post a CDR with other whitespace, key order or number spelling (`16.5` vs
`16.50`); that is the same CDR, so its hash must be the same. Rules: keys sorted, no whitespace,
`null` members dropped (absent and null mean the same in these APIs), numbers written as their
exact normalised decimal (never through a float). Strings are kept as they are; the parser
normalises the time fields it knows before hashing (see `backbone.cdr.parse`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from backbone.numbers import exact_decimal

_MAX_PLAIN = 100


def canonical_json(value: Any) -> str:
    """`value` (parsed JSON: dict, list, str, bool, None, int, Decimal) as canonical text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal | float):
        return canonical_number(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        members = sorted((str(key), item) for key, item in value.items() if item is not None)
        return "{" + ",".join(f"{_string(key)}:{canonical_json(item)}" for key, item in members) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


_string = json.encoder.encode_basestring
"""A JSON string as `json.dumps(value, ensure_ascii=False)` writes it, without building an
encoder per value (this runs for every key and string of every CDR)."""


def canonical_number(value: int | Decimal | float) -> str:
    """The shortest exact decimal text: 16.50 -> 16.5, 1840.0 -> 1840, 1E+2 -> 100, -0 -> 0.

    Plain digits while that is short; beyond `_MAX_PLAIN` characters the exact scientific form
    (`1E+999999`), so a hostile number never expands to its full digits."""
    number = exact_decimal(Decimal(repr(value)) if isinstance(value, float) else value)
    if number is None:
        raise ValueError(f"{value} is not a finite number")
    if number.is_zero():
        return "0"
    digits, exponent = len(number.as_tuple().digits), int(number.as_tuple().exponent)
    if exponent >= -_MAX_PLAIN and digits + exponent <= _MAX_PLAIN:
        return format(number, "f")
    return format(number, "E")


def payload_hash(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of `value`."""
    return hashlib.sha256(canonical_json(value).encode("utf-8", "surrogatepass")).hexdigest()
