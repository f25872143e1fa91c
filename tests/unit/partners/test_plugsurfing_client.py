"""PlugsurfingClient against a mocked Drive/EMP API: paths, bodies, paging, models, retry choices."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from backbone.partners.errors import Conflict, PartnerError, RepeatedCursor, ServerError, TooManyRequests
from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.partners.schemas import (
    BalanceStatus,
    OrderAddress,
    OrderState,
    SessionStatus,
)

from .conftest import API_KEY, DRIVE_BASE, FakeTime

KEY = {
    "keyIdentifier": "3633e0e0",
    "validTo": "2022-01-24T11:25:54.210Z",
    "contractId": "DE-9FS-C045DS363-E",
    "visualNumber": "DE-9FS-C045DS363-E",
    "fleetId": "y1nNLJqb7m",
    "enabled": True,
}
USER_KEY = {
    "name": "key 4390b827",
    "enabled": True,
    "keyId": "27b89043",
    "referenceId": "DE*8PS*CD0C00*2",
    "contractId": "DE-8PS-C0CD0C002-Q",
    "type": "tag",
    "validFrom": "2021-12-08T00:00:00.000Z",
    "validTo": "2031-12-08T23:59:59.000Z",
    "created": "2021-12-08T10:33:01.000Z",
    "updated": "2021-12-08T10:33:01.000Z",
}
ORDER = {
    "id": "aYnky297eG",
    "address": {"country": "Austria", "address": "First Way 261b", "addressLine2": "Suite 9"},
    "quantity": 1,
    "product": {"id": "Am07b6Q7JZ"},
    "created": "2023-06-26T10:00:00Z",
    "organizationId": "JoEl1xoP7r",
    "status": "ORDER_ASSIGNED",
    "updated": "2023-06-26T12:00:00Z",
}
COMPLETE_SESSION = {
    "sessionStatus": "COMPLETE",
    "balanceStatus": "PAID",
    "charger": {"chargingStationName": "ZzZ", "connectorLabel": "1", "evseId": "NO*XXX*EZzZ*1"},
    "connectorId": "abcJd/vR5fvzBa0X/gxaXA==",
    "duration": "PT15M",
    "energy": {"unit": "WH", "value": 1840},
    "price": {"currencyCode": "NOK", "minorExclVat": 160, "minorInclVat": 200, "vat": "25"},
    "receiptAvailable": False,
    "sessionId": "LWO89J3mDJr",
    "site": "ZzZ 220218114135485264",
    "startTime": "2022-02-18T10:41:39.148Z",
    "paymentMethod": "EXTERNAL",
}


@pytest.fixture
def partner() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=DRIVE_BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def client(fake_time: FakeTime) -> Iterator[PlugsurfingClient]:
    with PlugsurfingClient(DRIVE_BASE, API_KEY, retry_policy=fake_time.policy()) as plugsurfing:
        yield plugsurfing


def _body(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


def _paged(pages: dict[str | None, dict[str, Any]], cursor_param: str = "cursor") -> Any:
    """A side effect answering each request with the page its cursor names."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages[request.url.params.get(cursor_param)])

    return answer


# --- EMP charging keys ----------------------------------------------------------------------------


def test_given_keys_on_three_pages_when_listing_then_all_keys_come_with_the_api_key_header(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    pages = {
        None: {"keys": [KEY], "cursor": "c1"},
        "c1": {"keys": [{**KEY, "keyIdentifier": "aa"}], "cursor": "c2"},
        "c2": {"keys": [{**KEY, "keyIdentifier": "bb", "fleetId": None}]},
    }
    route = partner.get("/emp/v1/charging-keys").mock(side_effect=_paged(pages))
    keys = list(client.list_charging_keys(fleet_id="y1nNLJqb7m", page_size=250))
    assert [key.key_identifier for key in keys] == ["3633e0e0", "aa", "bb"]
    assert keys[0].valid_to == datetime(2022, 1, 24, 11, 25, 54, 210000, tzinfo=UTC)
    requests = [call.request for call in route.calls]
    assert [dict(request.url.params) for request in requests] == [
        {"fleetId": "y1nNLJqb7m", "page_size": "250"},
        {"fleetId": "y1nNLJqb7m", "page_size": "250", "cursor": "c1"},
        {"fleetId": "y1nNLJqb7m", "page_size": "250", "cursor": "c2"},
    ]
    assert all(request.headers["x-api-key"] == API_KEY for request in requests)
    assert str(requests[0].url).startswith(f"{DRIVE_BASE}/emp/v1/charging-keys?")


def test_given_a_partner_that_repeats_a_cursor_when_listing_keys_then_it_stops_with_an_error(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    pages = {None: {"keys": [KEY], "cursor": "c1"}, "c1": {"keys": [KEY], "cursor": "c1"}}
    partner.get("/emp/v1/charging-keys").mock(side_effect=_paged(pages))
    with pytest.raises(RepeatedCursor):
        list(client.list_charging_keys())


@pytest.mark.parametrize("page_size", [0, 9, 501, 10_000])
def test_given_a_page_size_out_of_10_to_500_when_listing_keys_then_it_is_refused_before_any_call(
    partner: respx.MockRouter, client: PlugsurfingClient, page_size: int
) -> None:
    route = partner.get("/emp/v1/charging-keys")
    with pytest.raises(ValueError, match="page_size"):
        client.list_charging_keys(page_size=page_size)
    assert route.call_count == 0


@pytest.mark.parametrize("page_size", [10, 500])
def test_given_a_page_size_at_the_bounds_when_listing_keys_then_it_is_sent(
    partner: respx.MockRouter, client: PlugsurfingClient, page_size: int
) -> None:
    route = partner.get("/emp/v1/charging-keys").mock(return_value=httpx.Response(200, json={"keys": []}))
    assert list(client.list_charging_keys(page_size=page_size)) == []
    assert route.calls.last.request.url.params["page_size"] == str(page_size)


def test_given_an_existing_key_when_creating_it_then_conflict_is_raised_without_retry(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    route = partner.post("/emp/v1/charging-keys").mock(return_value=httpx.Response(409, json={}))
    with pytest.raises(Conflict):
        client.create_charging_key("e0e03336", "DE-9FS-C045DS363-E", fleet_id="y1nNLJqb7m")
    assert _body(route) == {
        "keyIdentifier": "e0e03336",
        "visualNumber": "DE-9FS-C045DS363-E",
        "fleetId": "y1nNLJqb7m",
    }
    assert route.call_count == 1


def test_given_a_5xx_when_creating_a_key_then_it_is_not_resent(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    route = partner.post("/emp/v1/charging-keys").mock(return_value=httpx.Response(500))
    with pytest.raises(ServerError):
        client.create_charging_key("e0e03336", "V1")
    assert route.call_count == 1


def test_given_a_5xx_when_disabling_a_key_then_the_put_is_retried(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    route = partner.put("/emp/v1/charging-keys/3633e0e0/disable").mock(
        side_effect=[httpx.Response(502), httpx.Response(200, json={**KEY, "enabled": False})]
    )
    assert client.disable_charging_key("3633e0e0").enabled is False
    assert route.call_count == 2


def test_given_a_key_when_enabling_it_then_the_enable_path_is_called(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    route = partner.put("/emp/v1/charging-keys/3633e0e0/enable").mock(
        return_value=httpx.Response(200, json=KEY)
    )
    assert client.enable_charging_key("3633e0e0").enabled is True
    assert route.called


# --- EMP orders -----------------------------------------------------------------------------------


def test_given_filters_when_listing_orders_then_one_page_comes_back_with_its_cursor(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    route = partner.get("/emp/v1/orders").mock(
        return_value=httpx.Response(200, json={"products": [ORDER], "cursor": "Cml116D3OZ"})
    )
    page = client.list_orders(
        from_date=datetime(2023, 6, 1, tzinfo=UTC),
        to_date=datetime(2023, 7, 1),
        status="ORDER_PLACED",
        page_size=50,
    )
    assert page.cursor == "Cml116D3OZ"
    [order] = page.items
    assert (order.id, order.status, order.organization_id) == ("aYnky297eG", "ORDER_ASSIGNED", "JoEl1xoP7r")
    assert order.address is not None
    assert order.address.address_line2 == "Suite 9"
    assert dict(route.calls.last.request.url.params) == {
        "fromDate": "2023-06-01T00:00:00Z",
        "toDate": "2023-07-01T00:00:00Z",
        "status": "ORDER_PLACED",
        "pageSize": "50",
    }


def test_given_a_checkpoint_when_iterating_orders_then_it_resumes_there_and_follows_cursors(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    pages = {
        "saved": {"products": [ORDER], "cursor": "next"},
        "next": {"products": [{**ORDER, "id": "second"}]},
    }
    partner.get("/emp/v1/orders").mock(side_effect=_paged(pages))
    assert [order.id for order in client.iter_orders(cursor="saved")] == ["aYnky297eG", "second"]


def test_given_an_order_when_assigning_it_then_the_singular_order_path_is_posted_once(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    route = partner.post("/emp/v1/order/aYnky297eG/assign").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=ORDER)]
    )
    with pytest.raises(ServerError):
        client.assign_order("aYnky297eG")
    assert route.call_count == 1


# --- sessions -------------------------------------------------------------------------------------


def test_given_a_complete_session_when_read_then_energy_price_and_balance_are_typed(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    answer = httpx.Response(200, json=COMPLETE_SESSION)
    partner.get("/v1/users/u1/sessions/LWO89J3mDJr").mock(return_value=answer)
    session = client.get_session("u1", "LWO89J3mDJr")
    assert session.session_status is SessionStatus.COMPLETE
    assert session.balance_status is BalanceStatus.PAID
    assert session.energy is not None
    assert (session.energy.unit, session.energy.value) == ("WH", 1840)
    assert session.price is not None
    assert session.price.vat == Decimal("25")
    assert session.price.minor_incl_vat == 200
    assert session.duration == "PT15M"
    assert session.payment_method == "EXTERNAL"
    assert session.start_time == datetime(2022, 2, 18, 10, 41, 39, 148000, tzinfo=UTC)


def test_given_a_session_read_as_data_then_it_is_the_partners_json_as_received_in_either_api(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    body = {**COMPLETE_SESSION, "vendorExtra": {"kept": True}}
    partner.get("/emp/v1/sessions/LWO89J3mDJr").mock(return_value=httpx.Response(200, json=body))
    partner.get("/v1/users/u1/sessions/LWO89J3mDJr").mock(return_value=httpx.Response(200, json=body))
    partner.post("/v1/users/u1/sessions/history").mock(
        return_value=httpx.Response(200, json={"sessions": [body, "not a session"]})
    )

    assert client.emp_get_session_data("LWO89J3mDJr") == body
    assert client.get_session_data("u1", "LWO89J3mDJr") == body
    assert client.session_history_data("u1") == [body]


def test_given_unknown_session_states_when_read_then_they_map_to_unknown_instead_of_failing(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    body = {"sessionId": "s1", "sessionStatus": "SUSPENDED", "balanceStatus": "WRITTEN_OFF", "newField": 1}
    partner.get("/v1/users/u1/sessions/s1").mock(return_value=httpx.Response(200, json=body))
    session = client.get_session("u1", "s1")
    assert session.session_status is SessionStatus.UNKNOWN
    assert session.balance_status is BalanceStatus.UNKNOWN
    assert session.model_extra == {"newField": 1}


def test_given_a_started_session_when_read_then_balance_status_is_absent(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    body = {"sessionId": "s1", "sessionStatus": "STARTED", "duration": "PT21.379S"}
    partner.get("/v1/users/u1/sessions/s1").mock(return_value=httpx.Response(200, json=body))
    session = client.get_session("u1", "s1")
    assert (session.session_status, session.balance_status) == (SessionStatus.STARTED, None)


def test_given_a_remote_start_when_the_partner_fails_with_5xx_then_it_is_not_resent(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    route = partner.post("/v1/users/u1/sessions/start").mock(return_value=httpx.Response(503))
    with pytest.raises(ServerError):
        client.start_session("u1", "connector-1")
    assert route.call_count == 1
    assert _body(route) == {"connectorId": "connector-1"}


def test_given_a_remote_start_when_the_connection_is_refused_then_it_is_safely_resent(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    route = partner.post("/emp/v1/sessions/start").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json={"sessionId": "0gLAoxYQepp"})]
    )
    assert client.emp_start_session("conn==", "BnZd3qp87z").session_id == "0gLAoxYQepp"
    assert _body(route) == {"connectorId": "conn==", "keyIdentifier": "BnZd3qp87z"}


@pytest.mark.parametrize("emp", [False, True])
def test_given_a_5xx_when_stopping_a_session_then_the_stop_is_retried(
    partner: respx.MockRouter, client: PlugsurfingClient, emp: bool
) -> None:
    path = "/emp/v1/sessions/s1/stop" if emp else "/v1/users/u1/sessions/s1/stop"
    route = partner.post(path).mock(side_effect=[httpx.Response(500), httpx.Response(200)])
    if emp:
        client.emp_stop_session("s1")
    else:
        client.stop_session("u1", "s1")
    assert route.call_count == 2


def test_given_statuses_when_reading_history_then_the_filter_is_posted_and_retried_as_a_read(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    route = partner.post("/v1/users/u1/sessions/history").mock(
        side_effect=[httpx.Response(502), httpx.Response(200, json={"sessions": [COMPLETE_SESSION]})]
    )
    sessions = client.session_history("u1", statuses=[SessionStatus.COMPLETE], limit=10)
    assert [session.session_id for session in sessions] == ["LWO89J3mDJr"]
    assert _body(route) == {"sessionStatus": ["COMPLETE"], "limit": 10}


# --- Drive users, keys and orders -----------------------------------------------------------------


def test_given_a_user_id_with_a_slash_when_calling_then_it_is_one_encoded_path_segment(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    route = partner.get(url__regex=r".*/v1/users/.*/charging-keys$").mock(
        return_value=httpx.Response(200, json={"keys": [USER_KEY, {**USER_KEY, "type": "virtual"}]})
    )
    keys = client.list_user_charging_keys("team/a")
    assert route.calls.last.request.url.raw_path == b"/drive/v1/users/team%2Fa/charging-keys"
    assert [key.is_virtual for key in keys] == [False, True]
    with pytest.raises(ValueError, match="empty"):
        client.list_user_charging_keys("")


def test_given_a_new_user_when_created_then_id_and_email_are_posted(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    route = partner.post("/v1/users").mock(return_value=httpx.Response(201))
    client.create_user("ourTestUser", email="driver@example.com")
    assert _body(route) == {"id": "ourTestUser", "email": "driver@example.com"}


def test_given_a_physical_key_when_reserved_then_uid_and_dates_are_posted(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    route = partner.post("/v1/charging-keys/reservations").mock(return_value=httpx.Response(201))
    client.reserve_charging_key(
        "7d009d67181896",
        "ES*BA*4321EU*1",
        valid_from=datetime(2022, 1, 24, 11, 25, 54, tzinfo=UTC),
        type="CARD",
    )
    assert _body(route) == {
        "uid": "7d009d67181896",
        "visualNumber": "ES*BA*4321EU*1",
        "validFrom": "2022-01-24T11:25:54Z",
        "type": "CARD",
    }


def test_given_a_reserved_key_when_activated_then_the_user_key_is_returned(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    route = partner.post(url__regex=r".*/v1/users/u1/charging-keys/.*/activate$").mock(
        return_value=httpx.Response(200, json=USER_KEY)
    )
    key = client.activate_charging_key("u1", "DE*8PS*CD0C00*2")
    assert (key.key_id, key.reference_id) == ("27b89043", "DE*8PS*CD0C00*2")
    assert route.call_count == 1


def test_given_a_key_when_patched_then_only_given_fields_are_sent_and_5xx_is_retried(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    route = partner.patch("/v1/users/u1/charging-keys/27b89043").mock(
        side_effect=[httpx.Response(500), httpx.Response(200, json={**USER_KEY, "enabled": False})]
    )
    assert client.patch_user_charging_key("u1", "27b89043", enabled=False).enabled is False
    assert _body(route) == {"enabled": False}
    assert route.call_count == 2
    with pytest.raises(ValueError, match="name or enabled"):
        client.patch_user_charging_key("u1", "27b89043")


def test_given_the_order_throttle_when_ordering_a_key_then_429_is_raised_at_once_not_retried(
    partner: respx.MockRouter, client: PlugsurfingClient, fake_time: FakeTime
) -> None:
    route = partner.post("/v1/users/u1/charging-keys/order").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "1"})
    )
    address = OrderAddress(
        address_line1="Driver road 1", postal_code="11122", city="Berlin", country="Germany"
    )
    with pytest.raises(TooManyRequests):
        client.order_charging_key("u1", address, "DE")
    assert route.call_count == 1
    assert fake_time.sleeps == []
    assert _body(route) == {
        "address": {
            "addressLine1": "Driver road 1",
            "postalCode": "11122",
            "city": "Berlin",
            "country": "Germany",
        },
        "taxationCountry": "DE",
    }


def test_given_an_order_when_placed_then_its_state_is_returned(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    partner.post("/v1/users/u1/charging-keys/order").mock(
        return_value=httpx.Response(200, json={"id": "xXXx11", "state": "ORDER_PLACED"})
    )
    placed = client.order_charging_key(
        "u1", {"addressLine1": "x", "city": "y"}, "DE", payment_option_id="STRIPE-1"
    )
    assert (placed.id, placed.state) == ("xXXx11", OrderState.ORDER_PLACED)


def test_given_orders_with_unlisted_states_when_listed_then_they_read_unknown(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    orders = [
        {"id": "a", "state": "ORDER_FREE_OF_CHARGE", "hasReceipt": True, "quantity": 1},
        {"id": "b", "state": "ORDER_PAID", "hasReceipt": False},
    ]
    partner.get("/v1/users/u1/charging-keys/orders").mock(return_value=httpx.Response(200, json=orders))
    listed = client.list_charging_key_orders("u1")
    assert [(order.id, order.state, order.has_receipt) for order in listed] == [
        ("a", OrderState.UNKNOWN, True),
        ("b", OrderState.ORDER_PAID, False),
    ]


def test_given_an_order_with_receipt_when_asked_then_the_url_is_returned(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    partner.post("/v1/users/u1/charging-keys/orders/o1/receipt").mock(
        side_effect=[httpx.Response(500), httpx.Response(200, json={"url": "https://receipts.example/o1"})]
    )
    assert client.get_order_receipt("u1", "o1").url == "https://receipts.example/o1"


def test_given_a_non_object_body_when_a_list_was_expected_then_a_partner_error_is_raised(
    partner: respx.MockRouter, client: PlugsurfingClient
) -> None:
    partner.get("/v1/users/u1/charging-keys").mock(return_value=httpx.Response(200, text="oops"))
    with pytest.raises(PartnerError, match="JSON object"):
        client.list_user_charging_keys("u1")
