"""Reconciliation's Plugsurfing adapters: sessions as the partner sent them, partner failures as
`SessionUnavailable`, and no session history in EMP mode."""

from __future__ import annotations

import httpx
import pytest
import respx

from backbone.cdr.models import SessionUnavailable
from backbone.cdr.partner import DriveSessions, EmpSessions
from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.partners.retry import RetryPolicy

DRIVE_BASE = "https://drive.test/drive"
EMP_BASE = "https://drive.test/emp"


def client() -> PlugsurfingClient:
    return PlugsurfingClient(DRIVE_BASE, "key", emp_base_url=EMP_BASE, retry_policy=RetryPolicy.no_retry())


@respx.mock(assert_all_called=True)
def test_given_a_drive_history_then_complete_sessions_come_back_exactly_as_sent(
    respx_mock: respx.MockRouter,
) -> None:
    sent = {"sessionId": "S1", "energy": {"value": 1.50, "unit": "KWH"}, "extra": "kept"}
    route = respx_mock.post(f"{DRIVE_BASE}/v1/users/u%2F1/sessions/history").respond(
        json={"sessions": [sent, "not a session"]}
    )

    sessions = DriveSessions(client()).completed_sessions("u/1", 20)

    assert sessions == [sent]
    assert route.calls[0].request.content == b'{"limit":20,"sessionStatus":["COMPLETE"]}'


@respx.mock
def test_given_the_partner_fails_then_reconciliation_sees_session_unavailable(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.post(f"{DRIVE_BASE}/v1/users/u1/sessions/history").respond(503)
    respx_mock.get(f"{EMP_BASE}/sessions/E1").mock(side_effect=httpx.ConnectError("down"))
    sessions = DriveSessions(client())

    with pytest.raises(SessionUnavailable):
        sessions.completed_sessions("u1", 20)
    with pytest.raises(SessionUnavailable):
        sessions.session("emp", None, "E1")
    with pytest.raises(SessionUnavailable, match="no user id"):
        sessions.session("drive", None, "D1")


@respx.mock(assert_all_mocked=True)
def test_given_emp_mode_then_no_session_history_is_asked_and_sessions_are_read_by_id(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get(f"{EMP_BASE}/sessions/E1").respond(json={"sessionId": "E1"})
    sessions = EmpSessions(client())

    assert sessions.completed_sessions("u1", 20) == []
    assert sessions.session("emp", None, "E1") == {"sessionId": "E1"}
