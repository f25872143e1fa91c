"""The internal session API against hostile input: every request that cannot be served is a
4xx naming the problem, never a 5xx, and changes nothing."""

from __future__ import annotations

import pytest
from sessionharness import Harness

LONG = "x" * 5000


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/internal/sessions/{LONG}", None),
        ("GET", "/internal/sessions/%00", None),
        ("POST", f"/internal/sessions/{LONG}/stop", None),
        ("POST", "/internal/sessions", "not json"),
        ("POST", "/internal/sessions", "[]"),
        ("POST", "/internal/sessions", '{"requestId": "r-1", "connectorId": "' + "[" * 3 + '"}'),
        (
            "POST",
            "/internal/sessions",
            '{"requestId": "r-1", "connectorId": "\\ud800", "keyIdentifier": "3633e0e0"}',
        ),
        (
            "POST",
            "/internal/sessions",
            '{"requestId": "r-1", "connectorId": "c", "keyIdentifier": "\\ud800"}',
        ),
        ("POST", "/internal/sessions", '{"requestId": ' + "[" * 1000 + "]" * 1000 + "}"),
        ("POST", "/internal/sessions", '{"requestId": "' + LONG + '", "connectorId": "c"}'),
        ("POST", "/internal/sessions", '{"requestId": "r-1", "connectorId": "c", "keyIdentifier": 1e999999}'),
    ],
)
def test_given_hostile_input_then_a_4xx_names_the_problem_and_nothing_is_started(
    poller: Harness, method: str, path: str, body: str | None
) -> None:
    status, answer = poller.api(method, path, body)

    assert 400 <= status < 500, answer
    assert answer.get("message") or answer.get("error")
    assert poller.session.client("dynamodb").scan(TableName=poller.resources["SessionsTable"])["Items"] == []
