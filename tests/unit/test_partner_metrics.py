"""Partner call metrics: every call counted by API family and outcome, with its latency and
retries, and never a path (ids would make each call a metric of its own)."""

from __future__ import annotations

import httpx
import pytest
import respx
from emfcapture import emitted

from backbone.observability import metrics
from backbone.partners.errors import PartnerError
from backbone.partners.http import CallRecord
from backbone.partners.metrics import call_outcome, oioi_call_hook, plugsurfing_api_of, plugsurfing_call_hook
from backbone.partners.oioi_client import OioiClient
from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.partners.retry import RetryPolicy

DRIVE_BASE = "https://drive-api-stage.plugsurfing.com/drive"
OIOI_ENDPOINT = "https://dev-api.plugsurfing.com/api/v4/request"
NO_WAIT = RetryPolicy(max_attempts=3, sleep=lambda _: None, jitter=lambda low, high: 0)


@pytest.fixture(autouse=True)
def namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "namespace", "Test")


def record(status: int | None, *, ok: bool, attempts: int = 1) -> CallRecord:
    return CallRecord("GET", "/emp/v1/orders", status, attempts, 0.25, ok)


@pytest.mark.parametrize(
    ("call", "outcome"),
    [
        (record(200, ok=True), "ok"),
        (record(200, ok=False), "rejected"),  # OIOI: HTTP 200 with a refusing result code
        (record(429, ok=False), "throttled"),
        (record(404, ok=False), "client_error"),
        (record(503, ok=False), "server_error"),
        (record(None, ok=False), "unreachable"),
    ],
)
def test_given_a_call_record_then_its_outcome_is_one_of_a_few_fixed_values(
    call: CallRecord, outcome: str
) -> None:
    assert call_outcome(call) == outcome


@pytest.mark.parametrize(
    ("path", "api"),
    [("/emp/v1/charging-keys", "emp"), ("/v1/users/u-1/sessions/start", "drive"), ("/v1/users", "drive")],
)
def test_given_a_plugsurfing_path_then_its_api_family_is_known(path: str, api: str) -> None:
    assert plugsurfing_api_of(path) == api


@respx.mock(assert_all_mocked=True)
def test_given_a_retried_then_successful_drive_call_then_one_call_with_its_retries_and_latency_is_emitted(
    respx_mock: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    respx_mock.get(f"{DRIVE_BASE}/v1/users/user-42/charging-keys").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={"chargingKeys": []})]
    )
    client = PlugsurfingClient(DRIVE_BASE, "key", retry_policy=NO_WAIT, on_call=plugsurfing_call_hook())

    client.list_user_charging_keys("user-42")

    out = capsys.readouterr().out
    found = {metric.name: metric for metric in emitted(out)}
    assert found["PartnerCalls"].value == 1
    assert found["PartnerCallRetries"].value == 1
    assert found["PartnerCallLatency"].unit == "Milliseconds"
    assert {"api": "drive", "outcome": "ok"}.items() <= found["PartnerCalls"].dimensions.items()
    assert set(found["PartnerCalls"].dimensions) <= {"api", "outcome", "service"}
    assert "user-42" not in out


@respx.mock(assert_all_mocked=True)
def test_given_an_oioi_call_refused_then_it_is_counted_as_a_client_error_of_the_oioi_api(
    respx_mock: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    respx_mock.post(OIOI_ENDPOINT).mock(return_value=httpx.Response(401, json={"message": "no"}))
    client = OioiClient(OIOI_ENDPOINT, "key", retry_policy=NO_WAIT, on_call=oioi_call_hook())

    with pytest.raises(PartnerError):
        client.post_rfids(["04523022AA4881"], "partner-identifier-0001")

    [call] = [metric for metric in emitted(capsys.readouterr().out) if metric.name == "PartnerCalls"]
    assert {"api": "oioi", "outcome": "client_error"}.items() <= call.dimensions.items()
