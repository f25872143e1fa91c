"""PartnerHttpClient over a mocked transport: retries, idempotency, typed errors, no secrets in logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from backbone.observability import logger
from backbone.partners.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PartnerError,
    PartnerUnavailable,
    ServerError,
    TooManyRequests,
)
from backbone.partners.http import ApiKeyAuth, CallRecord, PartnerHttpClient

from .conftest import API_KEY, FakeTime

BASE = "https://partner.example/api"


@pytest.fixture
def partner() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def client(fake_time: FakeTime) -> Iterator[PartnerHttpClient]:
    with PartnerHttpClient(
        BASE, auth=ApiKeyAuth("x-api-key", API_KEY), retry_policy=fake_time.policy()
    ) as http_client:
        yield http_client


def _503(retry_after: str | None = None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after else {}
    return httpx.Response(503, json={"message": "busy"}, headers=headers)


# --- retried --------------------------------------------------------------------------------------


def test_given_503_with_retry_after_when_getting_then_it_waits_that_long_and_succeeds(
    partner: respx.MockRouter, client: PartnerHttpClient, fake_time: FakeTime
) -> None:
    route = partner.get("/things").mock(side_effect=[_503("2"), httpx.Response(200, json={"ok": True})])
    response = client.request("GET", "/things")
    assert response.data == {"ok": True}
    assert response.attempts == 2
    assert route.call_count == 2
    assert fake_time.sleeps == [2.0]  # back-off alone would have been 0.5 s


def test_given_429_then_success_when_getting_then_retry_after_is_honoured(
    partner: respx.MockRouter, client: PartnerHttpClient, fake_time: FakeTime
) -> None:
    partner.get("/things").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json=[])]
    )
    assert client.request("GET", "/things").attempts == 2
    assert fake_time.sleeps == [3.0]


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(408),
        httpx.Response(500),
        httpx.Response(502),
        httpx.ReadTimeout("slow"),
        httpx.ConnectTimeout("slow connect"),
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("hung up"),
    ],
    ids=["408", "500", "502", "read-timeout", "connect-timeout", "connect-error", "disconnect"],
)
def test_given_a_transient_failure_when_getting_then_it_is_retried(
    partner: respx.MockRouter, client: PartnerHttpClient, failure: httpx.Response | Exception
) -> None:
    route = partner.get("/things").mock(side_effect=[failure, httpx.Response(200, json={"n": 1})])
    response = client.request("GET", "/things")
    assert response.data == {"n": 1}
    assert route.call_count == 2


def test_given_503_forever_when_getting_then_attempts_are_bounded_and_it_is_unavailable(
    partner: respx.MockRouter, client: PartnerHttpClient, fake_time: FakeTime
) -> None:
    route = partner.get("/things").mock(return_value=_503())
    with pytest.raises(PartnerUnavailable) as raised:
        client.request("GET", "/things")
    assert route.call_count == 4
    assert raised.value.attempts == 4
    assert raised.value.status == 503
    assert raised.value.transient
    assert fake_time.sleeps == [0.5, 1.0, 2.0]


def test_given_retry_after_as_http_date_beyond_the_budget_when_getting_then_caller_is_told_when(
    partner: respx.MockRouter, client: PartnerHttpClient, fake_time: FakeTime
) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(minutes=5), usegmt=True)
    route = partner.get("/things").mock(return_value=httpx.Response(429, headers={"Retry-After": later}))
    with pytest.raises(TooManyRequests) as raised:
        client.request("GET", "/things")
    assert route.call_count == 1
    assert fake_time.sleeps == []
    assert raised.value.retry_after == pytest.approx(300, abs=5)


def test_given_a_network_error_every_time_when_getting_then_it_is_unavailable_wrapping_the_last(
    partner: respx.MockRouter, client: PartnerHttpClient
) -> None:
    partner.get("/things").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(PartnerUnavailable) as raised:
        client.request("GET", "/things")
    assert isinstance(raised.value.last_error, httpx.ConnectError)
    assert raised.value.status is None
    assert raised.value.url == f"{BASE}/things"


# --- not retried ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(400, BadRequest), (401, Forbidden), (403, Forbidden), (404, NotFound), (409, Conflict)],
)
def test_given_a_client_error_when_calling_then_it_is_raised_typed_without_retry(
    partner: respx.MockRouter, client: PartnerHttpClient, status: int, error_type: type[PartnerError]
) -> None:
    body = {"error": "nope", "result": {"code": 230, "message": "Invalid request format"}}
    route = partner.put("/things/1").mock(return_value=httpx.Response(status, json=body))
    with pytest.raises(error_type) as raised:
        client.request("PUT", "/things/1", json={})
    assert route.call_count == 1
    error = raised.value
    assert (error.status, error.body, error.oioi_code, error.detail) == (status, body, 230, "nope")
    assert (error.method, error.url) == ("PUT", f"{BASE}/things/1")
    assert not error.transient


def test_given_a_text_error_body_when_mapped_then_the_body_is_kept_as_text(
    partner: respx.MockRouter, client: PartnerHttpClient
) -> None:
    partner.get("/things").mock(return_value=httpx.Response(418, text="I'm a teapot"))
    with pytest.raises(PartnerError) as raised:
        client.request("GET", "/things")
    assert type(raised.value) is PartnerError
    assert raised.value.body == "I'm a teapot"
    assert raised.value.oioi_code is None


@pytest.mark.parametrize(
    "failure",
    [httpx.Response(503), httpx.Response(500), httpx.Response(408), httpx.ReadTimeout("slow")],
    ids=["503", "500", "408", "read-timeout"],
)
def test_given_a_non_idempotent_post_when_it_may_have_been_processed_then_it_is_not_resent(
    partner: respx.MockRouter, client: PartnerHttpClient, failure: httpx.Response | Exception
) -> None:
    route = partner.post("/sessions/start").mock(side_effect=[failure, httpx.Response(200, json={})])
    with pytest.raises(PartnerError) as raised:
        client.request("POST", "/sessions/start", json={"connectorId": "c1"})
    assert route.call_count == 1
    assert raised.value.attempts == 1
    if isinstance(failure, Exception):
        assert isinstance(raised.value, PartnerUnavailable)
    else:
        assert raised.value.status == failure.status_code


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.Response(429)],
    ids=["connect-error", "connect-timeout", "429"],
)
def test_given_a_non_idempotent_post_when_it_never_reached_the_server_then_it_is_retried(
    partner: respx.MockRouter, client: PartnerHttpClient, failure: httpx.Response | Exception
) -> None:
    route = partner.post("/sessions/start").mock(
        side_effect=[failure, httpx.Response(200, json={"sessionId": "s1"})]
    )
    response = client.request("POST", "/sessions/start", json={"connectorId": "c1"})
    assert response.data == {"sessionId": "s1"}
    assert route.call_count == 2


def test_given_an_idempotency_key_when_posting_then_it_is_sent_and_5xx_is_retried(
    partner: respx.MockRouter, client: PartnerHttpClient
) -> None:
    route = partner.post("/orders").mock(side_effect=[_503(), httpx.Response(201)])
    response = client.request("POST", "/orders", json={"q": 1}, idempotency_key="order-42")
    assert response.status == 201
    assert response.data is None
    assert [call.request.headers["Idempotency-Key"] for call in route.calls] == ["order-42", "order-42"]


def test_given_a_post_declared_idempotent_when_it_fails_with_5xx_then_it_is_retried(
    partner: respx.MockRouter, client: PartnerHttpClient
) -> None:
    route = partner.post("/sessions/s1/stop").mock(side_effect=[_503(), httpx.Response(200)])
    client.request("POST", "/sessions/s1/stop", idempotent=True)
    assert route.call_count == 2


# --- requests and observability -------------------------------------------------------------------


def test_given_params_with_none_when_requesting_then_they_are_left_out_and_json_is_sent(
    partner: respx.MockRouter, client: PartnerHttpClient
) -> None:
    route = partner.post("/search").mock(return_value=httpx.Response(200, json={}))
    client.request("POST", "/search", params={"a": "1", "b": None}, json={"name": "Ärø"}, idempotent=True)
    request = route.calls.last.request
    assert dict(request.url.params) == {"a": "1"}
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content.decode("utf-8")) == {"name": "Ärø"}
    assert request.headers["x-api-key"] == API_KEY


def test_given_a_key_provider_when_the_key_rotates_then_the_next_request_uses_the_new_key(
    partner: respx.MockRouter, fake_time: FakeTime
) -> None:
    keys = iter(["old-key", "new-key"])
    route = partner.get("/things").mock(return_value=httpx.Response(200, json={}))
    with PartnerHttpClient(BASE, auth=ApiKeyAuth("x-api-key", lambda: next(keys))) as http_client:
        http_client.request("GET", "/things")
        http_client.request("GET", "/things")
    assert [call.request.headers["x-api-key"] for call in route.calls] == ["old-key", "new-key"]


def test_given_a_hook_when_a_call_ends_then_it_receives_attempts_status_and_duration(
    partner: respx.MockRouter, fake_time: FakeTime
) -> None:
    records: list[CallRecord] = []
    partner.get("/things").mock(side_effect=[_503("1"), httpx.Response(200, json={})])
    partner.get("/missing").mock(return_value=httpx.Response(404))
    with PartnerHttpClient(BASE, retry_policy=fake_time.policy(), on_call=records.append) as http_client:
        http_client.request("GET", "/things")
        with pytest.raises(NotFound):
            http_client.request("GET", "/missing")
    assert records == [
        CallRecord("GET", "/things", 200, attempts=2, duration=pytest.approx(1.0), ok=True),
        CallRecord("GET", "/missing", 404, attempts=1, duration=0.0, ok=False),
    ]


def test_given_a_failing_hook_when_a_call_succeeds_then_the_call_still_succeeds(
    partner: respx.MockRouter,
) -> None:
    def broken_hook(record: CallRecord) -> None:
        raise RuntimeError("metrics down")

    partner.get("/things").mock(return_value=httpx.Response(200, json={"ok": 1}))
    with PartnerHttpClient(BASE, on_call=broken_hook) as http_client:
        assert http_client.request("GET", "/things").data == {"ok": 1}


def test_given_calls_that_succeed_retry_and_fail_when_logged_then_the_api_key_never_appears(
    partner: respx.MockRouter,
    client: PartnerHttpClient,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    partner.get("/things").mock(side_effect=[_503("1"), httpx.Response(200, json={})])
    partner.post("/broken").mock(side_effect=httpx.ReadTimeout("slow"))
    partner.get("/denied").mock(return_value=httpx.Response(403, json={"error": "Forbidden"}))
    client.request("GET", "/things")
    errors: list[PartnerError] = []
    for method, path in [("POST", "/broken"), ("GET", "/denied")]:
        with pytest.raises(PartnerError) as raised:
            client.request(method, path)
        errors.append(raised.value)

    records = debug_logs.records
    assert any(record.getMessage() == "partner call" for record in records)
    assert any(getattr(record, "attempt", None) == 2 for record in records)  # attempts are logged
    formatter = logger.registered_formatter
    emitted = "\n".join(formatter.format(record) for record in records if record.name == logger.name)
    everything = emitted + debug_logs.text + "".join(str(vars(record)) for record in records)
    assert "latency_ms" in emitted
    assert API_KEY not in everything
    assert all(API_KEY not in f"{error!s} {error!r} {vars(error)}" for error in errors)


def test_given_a_failed_call_when_logged_then_it_is_a_warning_with_status_and_path(
    partner: respx.MockRouter, client: PartnerHttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    partner.get("/denied").mock(return_value=httpx.Response(403))
    with caplog.at_level(logging.INFO), pytest.raises(Forbidden):
        client.request("GET", "/denied")
    [warning] = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert (getattr(warning, "status", None), getattr(warning, "path", None)) == (403, "/denied")


def test_given_server_error_type_when_mapped_then_5xx_is_a_server_error(
    partner: respx.MockRouter, fake_time: FakeTime
) -> None:
    partner.post("/x").mock(return_value=httpx.Response(504, json={"message": "gateway"}))
    with (
        PartnerHttpClient(BASE, retry_policy=fake_time.policy()) as http_client,
        pytest.raises(ServerError) as raised,
    ):
        http_client.request("POST", "/x")
    assert raised.value.detail == "gateway"
    assert raised.value.transient
