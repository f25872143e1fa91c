"""The partner adapters against a mocked Drive/EMP API: paths per mode, and which failures the
poller may retry, which end a start for good, and which leave its outcome unknown."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import respx
from sessionfakes import T0, partner_session

from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.partners.retry import RetryPolicy
from backbone.sessions.errors import (
    PartnerBusy,
    PartnerRefused,
    PartnerRetryable,
    SessionNotFound,
    StartOutcomeUnknown,
    StartRefused,
)
from backbone.sessions.models import SessionRecord
from backbone.sessions.partner import SessionsByMode, plugsurfing_sessions

BASE = "https://drive-api-stage.plugsurfing.com/drive"


def record(mode: str = "emp", session_id: str | None = "LWO89J3mDJr") -> SessionRecord:
    return SessionRecord(
        request_id="req-1",
        mode=mode,  # type: ignore[arg-type]
        connector_id="abcJd/vR5fvzBa0X/gxaXA==",
        user_id="ourTestUser" if mode == "drive" else None,
        key_identifier="3633e0e0" if mode == "emp" else None,
        session_id=session_id,
        execution_arn="arn:aws:states:eu-west-1:1:execution:sm:req-1",
        created_at=T0,
        updated_at=T0,
        status_since=T0,
    )


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def partner() -> SessionsByMode:
    return plugsurfing_sessions(PlugsurfingClient(BASE, "test-key", retry_policy=RetryPolicy.no_retry()))


def test_given_emp_mode_when_starting_then_connector_and_key_identifier_are_sent(
    api: respx.MockRouter, partner: SessionsByMode
) -> None:
    route = api.post("/emp/v1/sessions/start").respond(200, json={"sessionId": "0gLAoxYQepp"})

    assert partner.start(record("emp", None)) == "0gLAoxYQepp"
    assert json.loads(route.calls.last.request.content) == {
        "connectorId": "abcJd/vR5fvzBa0X/gxaXA==",
        "keyIdentifier": "3633e0e0",
    }


def test_given_drive_mode_when_starting_then_the_users_start_endpoint_is_called(
    api: respx.MockRouter, partner: SessionsByMode
) -> None:
    api.post("/v1/users").respond(201)
    api.post("/v1/users/ourTestUser/sessions/start").respond(200, json={"sessionId": "LWO89J3mDJr"})

    assert partner.start(record("drive", None)) == "LWO89J3mDJr"


@pytest.mark.parametrize("exists", [False, True])
def test_given_drive_mode_then_the_user_is_created_once_before_the_first_start(
    api: respx.MockRouter, partner: SessionsByMode, exists: bool
) -> None:
    users = api.post("/v1/users").respond(409 if exists else 201, json={"message": "User already exists"})
    starts = api.post("/v1/users/ourTestUser/sessions/start").respond(200, json={"sessionId": "LWO89J3mDJr"})

    partner.start(record("drive", None))
    partner.start(record("drive", None))

    assert users.call_count == 1
    assert json.loads(users.calls[0].request.content) == {"id": "ourTestUser"}
    assert api.calls[0].request is users.calls[0].request
    assert starts.call_count == 2


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (httpx.Response(503), PartnerRetryable),
        (httpx.Response(400, json={"message": "bad id"}), StartRefused),
    ],
)
def test_given_the_user_cannot_be_created_then_no_start_is_sent(
    api: respx.MockRouter, partner: SessionsByMode, answer: httpx.Response, expected: type
) -> None:
    api.post("/v1/users").mock(return_value=answer)
    starts = api.post("/v1/users/ourTestUser/sessions/start").respond(200, json={"sessionId": "x"})

    with pytest.raises(expected):
        partner.start(record("drive", None))

    assert starts.call_count == 0


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (httpx.Response(400, json={"message": "bad connector"}), StartRefused),
        (httpx.Response(404, json={"message": "User or session not found"}), StartRefused),
        (httpx.Response(429, headers={"Retry-After": "3"}), PartnerRetryable),
        (httpx.Response(500), StartOutcomeUnknown),
        (httpx.ConnectError("refused"), PartnerRetryable),
        (httpx.ReadTimeout("slow"), StartOutcomeUnknown),
    ],
)
def test_given_a_failing_start_then_only_never_sent_or_refused_starts_are_retryable(
    api: respx.MockRouter, partner: SessionsByMode, answer: httpx.Response | Exception, expected: type
) -> None:
    """A 5xx or a read timeout may have started a session: sending again could charge twice."""
    route = api.post("/emp/v1/sessions/start")
    route.side_effect = answer if isinstance(answer, Exception) else None
    if isinstance(answer, httpx.Response):
        route.return_value = answer

    with pytest.raises(expected):
        partner.start(record("emp", None))


def test_given_a_session_then_it_is_read_as_received_for_the_cdr(
    api: respx.MockRouter, partner: SessionsByMode
) -> None:
    body = partner_session("COMPLETE", "PAID")
    api.get("/v1/users/ourTestUser/sessions/LWO89J3mDJr").respond(200, json=body)

    observed = partner.get(record("drive"))

    assert observed.status == "COMPLETE"
    assert observed.balance_status == "PAID"
    assert json.loads(observed.raw) == body


def test_given_an_emp_session_id_with_a_slash_then_it_is_one_encoded_path_segment(
    api: respx.MockRouter, partner: SessionsByMode
) -> None:
    route = api.get("/emp/v1/sessions/a%2Fb").respond(200, json=partner_session("STARTED"))

    partner.get(record("emp", "a/b"))

    assert route.called


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (httpx.Response(404), SessionNotFound),
        (httpx.Response(503), PartnerRetryable),
        (httpx.Response(429), PartnerRetryable),
        (httpx.Response(403), PartnerRetryable),
        (httpx.ReadTimeout("slow"), PartnerRetryable),
    ],
)
def test_given_a_failing_read_then_404_ends_and_busy_or_auth_failures_are_retryable(
    api: respx.MockRouter, partner: SessionsByMode, answer: httpx.Response | Exception, expected: type
) -> None:
    route = api.get("/emp/v1/sessions/LWO89J3mDJr")
    if isinstance(answer, Exception):
        route.side_effect = answer
    else:
        route.return_value = answer

    with pytest.raises(expected):
        partner.get(record("emp"))


def test_given_a_stop_then_the_mode_s_stop_endpoint_is_called(
    api: respx.MockRouter, partner: SessionsByMode
) -> None:
    drive = api.post("/v1/users/ourTestUser/sessions/LWO89J3mDJr/stop").respond(200)
    emp = api.post("/emp/v1/sessions/LWO89J3mDJr/stop").respond(200)

    partner.stop(record("drive"))
    partner.stop(record("emp"))

    assert drive.called
    assert emp.called


@pytest.mark.parametrize(
    ("status", "expected"),
    [(400, PartnerRefused), (404, PartnerRefused), (500, PartnerBusy), (429, PartnerBusy)],
)
def test_given_a_failing_stop_then_the_caller_learns_whether_retrying_helps(
    api: respx.MockRouter, partner: SessionsByMode, status: int, expected: type
) -> None:
    api.post("/emp/v1/sessions/LWO89J3mDJr/stop").respond(status)

    with pytest.raises(expected):
        partner.stop(record("emp"))
