"""OioiClient against a mocked OIOI endpoint: auth header, UTF-8 JSON, result codes, retries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from backbone.oioi.codes import ResultCode
from backbone.partners.errors import BadRequest, Forbidden, OioiRejected, PartnerError, ServerError
from backbone.partners.oioi_client import OioiClient, RfidPostOutcome

from .conftest import API_KEY, OIOI_ENDPOINT, FakeTime

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "oioi"
SUCCESS = json.loads((FIXTURES / "rfid-post.response.json").read_text(encoding="utf-8"))
PARTNER_ID = "123456-123456-abcdef-abc123-456def"


@pytest.fixture
def endpoint() -> Iterator[respx.Route]:
    with respx.mock(assert_all_called=False) as router:
        yield router.post(OIOI_ENDPOINT)


@pytest.fixture
def client(fake_time: FakeTime) -> Iterator[OioiClient]:
    with OioiClient(OIOI_ENDPOINT, API_KEY, retry_policy=fake_time.policy()) as oioi:
        yield oioi


def _result(code: int, message: str = "", **fields: object) -> httpx.Response:
    return httpx.Response(200, json={**fields, "result": {"code": code, "message": message}})


def test_given_a_whitelist_when_posted_then_the_spec_request_is_sent_with_the_key_header(
    endpoint: respx.Route, client: OioiClient
) -> None:
    endpoint.mock(return_value=httpx.Response(200, json=SUCCESS))
    outcome = client.post_rfids(["12345678", "ABCDEFAB"], PARTNER_ID)
    assert outcome == RfidPostOutcome(processed=2, attempts=1, duration=0.0, code=0)
    request = endpoint.calls.last.request
    assert str(request.url) == OIOI_ENDPOINT  # exactly the endpoint: no trailing slash added
    assert request.headers["Authorization"] == f"key={API_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "rfid-post": {"rfids": ["12345678", "ABCDEFAB"], "partner-identifier": PARTNER_ID}
    }


def test_given_non_ascii_data_when_sent_then_the_body_is_utf8_json(
    endpoint: respx.Route, client: OioiClient
) -> None:
    endpoint.mock(return_value=_result(0))
    client.send("user-post-details", {"city": "Düsseldorf"}, idempotent=True)
    assert "Düsseldorf".encode() in endpoint.calls.last.request.content


def test_given_a_result_code_100_in_a_200_when_posting_rfids_then_it_is_rejected_with_the_code(
    endpoint: respx.Route, client: OioiClient
) -> None:
    endpoint.mock(return_value=_result(100, "System error"))
    with pytest.raises(OioiRejected) as raised:
        client.post_rfids(["12345678"], PARTNER_ID)
    error = raised.value
    assert (error.status, error.oioi_code, error.result_code) == (200, 100, ResultCode.SYSTEM_ERROR)
    assert error.detail == "System error"
    assert error.attempts == 1
    assert endpoint.call_count == 1


def test_given_a_200_without_result_when_posting_rfids_then_it_is_a_success_and_processed_is_kept(
    endpoint: respx.Route, client: OioiClient
) -> None:
    # Seed 002: "OIOI Error codes are not part of the OIOI response, yet."
    endpoint.mock(return_value=httpx.Response(200, json={"rfid": {"processed": 1}}))

    outcome = client.post_rfids(["12345678"], PARTNER_ID)

    assert outcome == RfidPostOutcome(processed=1, attempts=1, duration=outcome.duration, code=None)


def test_given_a_200_with_an_empty_body_when_sent_then_it_is_a_success(
    endpoint: respx.Route, client: OioiClient
) -> None:
    endpoint.mock(return_value=httpx.Response(200, json={}))

    assert client.send("connector-post-status", {"status": "Available"}) == {}


def test_given_a_result_without_a_readable_code_when_sent_then_it_is_not_taken_as_success(
    endpoint: respx.Route, client: OioiClient
) -> None:
    endpoint.mock(return_value=httpx.Response(200, json={"result": {"message": "?"}}))
    with pytest.raises(OioiRejected) as raised:
        client.send("rfid-post", {"rfids": [], "partner-identifier": PARTNER_ID})
    assert raised.value.oioi_code is None


def test_given_a_specific_success_code_when_sent_then_the_response_is_returned(
    endpoint: respx.Route, client: OioiClient
) -> None:
    endpoint.mock(return_value=_result(11, "Successfully started a charging session", **{"session-id": "s1"}))
    response = client.send("session-start", {"user": {"identifier-type": "evco-id"}})
    assert response["session-id"] == "s1"


@pytest.mark.parametrize(("status", "error_type"), [(400, BadRequest), (401, Forbidden), (403, Forbidden)])
def test_given_a_4xx_with_an_error_property_when_sent_then_a_typed_error_carries_it(
    endpoint: respx.Route, client: OioiClient, status: int, error_type: type[PartnerError]
) -> None:
    body = {"error": "Invalid API key", "result": {"code": 210, "message": "Invalid API key"}}
    endpoint.mock(return_value=httpx.Response(status, json=body))
    with pytest.raises(error_type) as raised:
        client.post_rfids(["12345678"], PARTNER_ID)
    assert raised.value.detail == "Invalid API key"
    assert raised.value.oioi_code == ResultCode.INVALID_API_KEY
    assert endpoint.call_count == 1


def test_given_503_with_retry_after_when_posting_rfids_then_it_retries_and_reports_attempts(
    endpoint: respx.Route, client: OioiClient, fake_time: FakeTime
) -> None:
    endpoint.mock(
        side_effect=[httpx.Response(503, headers={"Retry-After": "4"}), httpx.Response(200, json=SUCCESS)]
    )
    outcome = client.post_rfids(["12345678"], PARTNER_ID)
    assert (outcome.attempts, outcome.duration, outcome.processed) == (2, 4.0, 2)
    assert fake_time.sleeps == [4.0]


def test_given_a_session_start_when_the_partner_fails_with_5xx_then_it_is_not_resent(
    endpoint: respx.Route, client: OioiClient
) -> None:
    endpoint.mock(return_value=httpx.Response(500, json={"error": "boom"}))
    with pytest.raises(ServerError):
        client.send("session-start", {"connector-id": "DE*8PS*E123456"})
    assert endpoint.call_count == 1


def test_given_a_session_start_when_throttled_with_429_then_it_is_resent(
    endpoint: respx.Route, client: OioiClient
) -> None:
    endpoint.mock(side_effect=[httpx.Response(429), _result(0)])
    client.send("session-start", {"connector-id": "DE*8PS*E123456"})
    assert endpoint.call_count == 2


def test_given_a_read_message_when_the_partner_fails_with_5xx_then_it_is_resent(
    endpoint: respx.Route, client: OioiClient
) -> None:
    endpoint.mock(side_effect=[httpx.Response(502), _result(0, stations=[])])
    assert client.send("station-get-by-ids", {"station-ids": [1]})["stations"] == []
