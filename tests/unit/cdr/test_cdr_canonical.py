"""Canonical JSON: the same CDR written differently hashes the same; a different one never does."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backbone.cdr.canonical import canonical_json, canonical_number, payload_hash


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("16.50"), "16.5"),
        (Decimal("1840.0"), "1840"),
        (1840, "1840"),
        (Decimal("1E+2"), "100"),
        (Decimal("-0.00"), "0"),
        (Decimal("0.30000000000000004"), "0.30000000000000004"),
        (0.1, "0.1"),
    ],
)
def test_numbers_are_written_as_their_exact_shortest_decimal(value: Decimal | int | float, text: str) -> None:
    assert canonical_number(value) == text


def test_given_key_order_whitespace_and_nulls_then_the_text_is_the_same() -> None:
    one = {"b": [1, {"y": None, "x": "é"}], "a": Decimal("2.0"), "c": None}
    other = {"a": 2, "b": [Decimal("1.00"), {"x": "é"}]}

    assert canonical_json(one) == canonical_json(other) == '{"a":2,"b":[1,{"x":"é"}]}'


def test_given_a_number_and_the_same_digits_as_a_string_then_they_differ() -> None:
    assert payload_hash({"energy": Decimal("16.5")}) != payload_hash({"energy": "16.5"})


def test_given_not_a_finite_number_then_it_is_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        canonical_number(Decimal("NaN"))


@given(st.decimals(allow_nan=False, allow_infinity=False), st.decimals(allow_nan=False, allow_infinity=False))
def test_two_numbers_hash_the_same_exactly_when_they_are_equal(a: Decimal, b: Decimal) -> None:
    assert (payload_hash({"n": a}) == payload_hash({"n": b})) == (a == b)
