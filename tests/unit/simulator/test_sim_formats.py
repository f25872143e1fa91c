"""Wire formats the simulator emits: durations, byte order, cursors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.formats import CursorError, decode_cursor, encode_cursor, iso_duration, reverse_hex_bytes


@pytest.mark.parametrize(
    ("elapsed", "text"),
    [
        (timedelta(minutes=15), "PT15M"),
        (timedelta(seconds=21.379), "PT21.379S"),
        (timedelta(seconds=30.234), "PT30.234S"),
        (timedelta(hours=1, minutes=2, seconds=3), "PT1H2M3S"),
        (timedelta(0), "PT0S"),
    ],
)
def test_durations_read_like_the_spec_examples(elapsed, text):
    assert iso_duration(elapsed) == text


def test_reverse_hex_bytes_matches_the_emp_example():
    assert reverse_hex_bytes("e0e03336") == "3633e0e0"


@given(st.binary(min_size=1, max_size=10))
def test_reversing_byte_order_twice_is_identity(raw):
    assert reverse_hex_bytes(reverse_hex_bytes(raw.hex())) == raw.hex()


@given(st.one_of(st.integers(), st.lists(st.text(), max_size=3)))
def test_cursor_round_trips(position):
    assert decode_cursor(encode_cursor(position)) == position


def test_cursor_from_elsewhere_is_rejected():
    with pytest.raises(CursorError):
        decode_cursor("%%%")
