"""Hostile and sloppy OIOI session-posts as JSON text, the way partners really send them
(numbers such as `1e999999` written verbatim, strings where numbers belong, ids of every size),
for the intake property through both handlers in moto (test_intake_contract.py)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

PARTNER_IDENTIFIER = "123456-123456-abcdef-abc123-456def"


class Raw(str):
    """JSON text written as is (numbers such as `1e999999` that no Python value prints)."""


def emit(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(key)}: {emit(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(emit(item) for item in value) + "]"
    return json.dumps(value)


NUMBERS = st.sampled_from(
    [
        "16.5",
        "0",
        "-0",
        "-1",
        "1e999999",
        "-1e999999",
        "1e-200",
        "1E+400",
        "1" + "0" * 100,
        "123456789012345678901234567890123456789.5",
        "1e9",
        "999999999.999",
        "0.000001",
        "1.0e2",
        "16.50000000000000000000000000000000000000000",
        '"16.5"',
        '"1_6.5"',
        '" 16.50 "',
        '"abc"',
        '"16,5"',
        "true",
        "null",
        "[]",
        "{}",
        '""',
    ]
).map(Raw) | st.decimals(allow_nan=False, allow_infinity=False, places=3).map(lambda d: Raw(str(d)))
TEXTS = st.sampled_from(
    [
        "",
        "  ",
        "\u0000",
        "S\u0007",
        "x" * 600,
        "é" * 300,
        "A" * 50_000,
        "DE*8PS*E1",
        "DE8PSE1",
        "04523022aa4881",
    ]
) | st.text(max_size=24)
SURROGATE = st.just(Raw('"\\ud800"'))
TIMES = st.sampled_from(
    [
        "2026-03-01T11:00:00+01:00",
        "2026-03-01T17:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "1970-01-01T00:00:00Z",
        "2026-03-01T11:00:00",
        "yesterday",
        "1262343600",
        "2026-02-30T10:00:00Z",
    ]
) | st.sampled_from([Raw("1262343600"), Raw("null"), Raw("{}")])
ANY_VALUE = NUMBERS | TEXTS | TIMES | SURROGATE


@st.composite
def session_posts(draw: st.DrawFn, prefix: str = "S") -> str:
    """A session-post body: the spec's example with up to four fields made hostile or sloppy
    and some parts left out; its own session id `<prefix>-<n>` unless that is what is mutated."""
    post: dict[str, Any] = {
        "user": {"identifier-type": "rfid", "identifier": "04523022AA4881"},
        "session-id": f"{prefix}-{draw(st.integers(0, 10**9))}",
        "connector-id": "DE*8PS*E123456",
        "session-interval": {"start": "2026-03-01T11:00:00+01:00", "stop": "2026-03-01T17:00:00+01:00"},
        "energy-consumed": Raw("16.5"),
        "calculated-cost": {"amount": Raw("0.68"), "currency": "EUR"},
        "partner-identifier": PARTNER_IDENTIFIER,
    }
    mutations = {
        ("session-id",): TEXTS | SURROGATE | st.integers(),
        ("connector-id",): TEXTS | SURROGATE | NUMBERS,
        ("energy-consumed",): NUMBERS,
        ("calculated-cost", "amount"): NUMBERS,
        ("calculated-cost", "currency"): st.sampled_from(["eur", " Eur", "EURO", "€", ""]) | NUMBERS,
        ("session-interval", "start"): TIMES,
        ("session-interval", "stop"): TIMES,
        ("user", "identifier"): TEXTS | SURROGATE | NUMBERS,
        ("user", "identifier-type"): st.sampled_from(["rfid", "evco-id", "username", "uid", "drive-user"]),
        ("x-extra",): st.lists(ANY_VALUE, max_size=50),
    }
    for path in draw(st.lists(st.sampled_from(sorted(mutations)), max_size=4, unique=True)):
        parent = post
        for name in path[:-1]:
            parent = parent[name]
        parent[path[-1]] = draw(mutations[path])
    for name in draw(
        st.lists(st.sampled_from(["user", "session-interval", "calculated-cost", "connector-id"]))
    ):
        post.pop(name, None)
    return emit({"session-post": post})
