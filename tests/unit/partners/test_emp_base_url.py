"""The EMP API's base URL is its own setting: by default the Drive base + `/emp/v1` (the assumption
the EMP document leaves us), otherwise wherever it is configured; Drive calls stay on the Drive
base, and calls are counted by API family either way."""

from __future__ import annotations

import httpx
import pytest
import respx

from backbone.orders.settings import OrderCrawlSettings
from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.partners.retry import RetryPolicy
from backbone.settings import settings_from

DRIVE = "https://drive-api-stage.plugsurfing.com/drive"
EMP = "https://emp.example.test/api/emp/v1"
ENV = {
    "DRIVE_API_BASE_URL": DRIVE,
    "PLUGSURFING_API_KEY_SECRET": "s",
    "ORDERS_TABLE": "t",
    "ORDER_QUEUE_URL": "q",
}


@pytest.mark.parametrize(("configured", "expected"), [(None, None), ("", None), (EMP, EMP)])
def test_given_the_environment_then_the_emp_base_url_is_configured_or_left_to_the_default(
    configured: str | None, expected: str | None
) -> None:
    environ = ENV if configured is None else ENV | {"EMP_API_BASE_URL": configured}

    assert settings_from(OrderCrawlSettings, environ).emp_base_url == expected


@respx.mock(assert_all_called=True)
def test_given_no_emp_base_url_then_emp_calls_go_under_the_drive_base(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get(f"{DRIVE}/emp/v1/orders").mock(
        return_value=httpx.Response(200, json={"products": []})
    )
    client = PlugsurfingClient(DRIVE, "key", retry_policy=RetryPolicy.no_retry())

    client.list_orders()

    assert route.called


@respx.mock(assert_all_called=True)
def test_given_an_emp_base_url_then_emp_calls_go_there_and_drive_calls_stay_on_the_drive_base(
    respx_mock: respx.MockRouter,
) -> None:
    orders = respx_mock.get(f"{EMP}/orders").mock(return_value=httpx.Response(200, json={"products": []}))
    start = respx_mock.post(f"{EMP}/sessions/start").mock(
        return_value=httpx.Response(200, json={"sessionId": "s"})
    )
    keys = respx_mock.get(f"{DRIVE}/v1/users/u-1/charging-keys").mock(
        return_value=httpx.Response(200, json={"keys": []})
    )
    client = PlugsurfingClient(DRIVE, "key", emp_base_url=EMP, retry_policy=RetryPolicy.no_retry())

    client.list_orders()
    client.emp_start_session("conn-1", "8148aa22305204")
    client.list_user_charging_keys("u-1")

    assert orders.called
    assert start.called
    assert keys.called
