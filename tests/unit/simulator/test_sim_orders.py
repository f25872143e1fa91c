"""Key orders: EMP orders appearing over time and being assigned; Drive ordering with throttle."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

ORDER_BODY = {
    "address": {
        "addressLine1": "Driver road 1",
        "postalCode": "11122",
        "city": "Berlin",
        "country": "Germany",
    },
    "taxationCountry": "DE",
}


# --- EMP -----------------------------------------------------------------------------------


def test_given_order_scheduled_in_60s_when_crawling_before_and_after_then_it_appears_later(sim, partner):
    sim.schedule_order(60, id="late-order")
    assert partner.emp("GET", "/orders").json["products"] == []
    sim.advance_clock(60)
    products = partner.emp("GET", "/orders").json["products"]
    assert [p["id"] for p in products] == ["late-order"]
    assert products[0]["created"] == "2024-05-01T08:01:00Z"


def test_given_orders_when_filtering_from_date_then_strictly_after(sim, partner):
    sim.add_order(id="a", created=datetime(2024, 5, 1, 7, 0, tzinfo=UTC))
    sim.add_order(id="b", created=datetime(2024, 5, 1, 7, 30, tzinfo=UTC))
    query = {"fromDate": "2024-05-01T07:00:00Z", "toDate": "2024-05-01T08:00:00Z"}
    assert [p["id"] for p in partner.emp("GET", "/orders", query_string=query).json["products"]] == ["b"]


def test_given_order_with_old_created_date_that_appears_late_then_a_from_date_crawler_misses_it(sim, partner):
    """Visibility and `created` are independent, as with eventual consistency upstream."""
    sim.add_order(id="first", created=datetime(2024, 5, 1, 7, 50, tzinfo=UTC))
    sim.schedule_order(30, id="straggler", created=datetime(2024, 5, 1, 7, 40, tzinfo=UTC))
    sim.advance_clock(30)
    query = {"fromDate": "2024-05-01T07:50:00Z"}
    assert partner.emp("GET", "/orders", query_string=query).json["products"] == []
    assert len(partner.emp("GET", "/orders").json["products"]) == 2


def test_given_orders_in_many_states_when_filtering_by_status_then_only_that_status(sim, partner):
    sim.add_order(id="paid", status="ORDER_PAID")
    sim.add_order(id="done", status="ORDER_ASSIGNED")
    products = partner.emp("GET", "/orders", query_string={"status": "ORDER_PAID"}).json["products"]
    assert [p["id"] for p in products] == ["paid"]


def test_given_five_orders_when_paging_by_two_then_all_seen_once_and_last_page_has_no_cursor(sim, partner):
    for n in range(5):
        sim.add_order(id=f"o{n}", created=datetime(2024, 5, 1, 7, n, tzinfo=UTC))
    seen, cursor, pages = [], None, 0
    while True:
        query = {"pageSize": "2"} | ({"cursor": cursor} if cursor else {})
        page = partner.emp("GET", "/orders", query_string=query).json
        seen += [p["id"] for p in page["products"]]
        pages += 1
        cursor = page.get("cursor")
        if not cursor:
            break
    assert seen == ["o0", "o1", "o2", "o3", "o4"]
    assert pages == 3


def test_given_bad_from_date_when_listing_then_400(partner):
    assert partner.emp("GET", "/orders", query_string={"fromDate": "yesterday"}).status_code == 400


def test_given_visible_order_when_assigned_then_status_assigned_and_counted(sim, partner):
    sim.add_order(id="o1")
    response = partner.emp("POST", "/order/o1/assign")
    assert response.status_code == 200
    assert response.json["status"] == "ORDER_ASSIGNED"
    assert sim.assign_count("o1") == 1
    partner.emp("POST", "/order/o1/assign")
    assert sim.assign_count("o1") == 2


def test_given_order_not_yet_visible_when_assigning_then_404(sim, partner):
    sim.schedule_order(60, id="future")
    assert partner.emp("POST", "/order/future/assign").status_code == 404
    assert sim.assign_count("future") == 0


# --- Drive ---------------------------------------------------------------------------------


@pytest.fixture
def user(partner) -> str:
    partner.drive("POST", "/users", {"id": "driver-1"})
    return "driver-1"


def test_given_user_when_ordering_twice_within_5_minutes_then_429_with_retry_after(partner, user, clock):
    first = partner.drive("POST", f"/users/{user}/charging-keys/order", ORDER_BODY)
    assert first.status_code == 200
    assert first.json["state"] == "ORDER_PLACED"
    clock.advance(100)
    second = partner.drive("POST", f"/users/{user}/charging-keys/order", ORDER_BODY)
    assert second.status_code == 429
    assert second.headers["Retry-After"] == "200"
    clock.advance(200)
    assert partner.drive("POST", f"/users/{user}/charging-keys/order", ORDER_BODY).status_code == 200


def test_given_shortened_throttle_window_when_ordering_then_it_applies(sim, partner, user, clock):
    sim.configure(order_throttle_seconds=2)
    partner.drive("POST", f"/users/{user}/charging-keys/order", ORDER_BODY)
    assert (
        partner.drive("POST", f"/users/{user}/charging-keys/order", ORDER_BODY).headers["Retry-After"] == "2"
    )
    clock.advance(2)
    assert partner.drive("POST", f"/users/{user}/charging-keys/order", ORDER_BODY).status_code == 200


def test_given_throttled_user_when_another_user_orders_then_not_throttled(partner, user):
    partner.drive("POST", "/users", {"id": "driver-2"})
    partner.drive("POST", f"/users/{user}/charging-keys/order", ORDER_BODY)
    assert partner.drive("POST", "/users/driver-2/charging-keys/order", ORDER_BODY).status_code == 200


def test_given_unknown_user_when_ordering_then_404(partner):
    assert partner.drive("POST", "/users/ghost/charging-keys/order", ORDER_BODY).status_code == 404


def test_given_order_without_address_then_400_and_no_throttle_consumed(partner, user):
    assert (
        partner.drive("POST", f"/users/{user}/charging-keys/order", {"taxationCountry": "DE"}).status_code
        == 400
    )
    assert partner.drive("POST", f"/users/{user}/charging-keys/order", ORDER_BODY).status_code == 200


def test_given_seeded_order_in_undocumented_state_when_listing_then_state_is_passed_through(
    sim, partner, user
):
    sim.add_drive_order(user, id="free-1", state="ORDER_FREE_OF_CHARGE", hasReceipt=True)
    orders = partner.drive("GET", f"/users/{user}/charging-keys/orders").json
    assert isinstance(orders, list)
    assert [(o["id"], o["state"], o["hasReceipt"]) for o in orders] == [
        ("free-1", "ORDER_FREE_OF_CHARGE", True)
    ]


def test_given_order_with_receipt_when_requesting_receipt_then_absolute_url(sim, partner, user):
    sim.add_drive_order(user, id="with-receipt", hasReceipt=True)
    response = partner.drive("POST", f"/users/{user}/charging-keys/orders/with-receipt/receipt")
    assert response.status_code == 200
    assert response.json["url"].startswith("http://")
    assert partner.client.get(response.json["url"]).status_code == 200


def test_given_order_without_receipt_when_requesting_receipt_then_404(partner, user):
    order_id = partner.drive("POST", f"/users/{user}/charging-keys/order", ORDER_BODY).json["id"]
    assert partner.drive("POST", f"/users/{user}/charging-keys/orders/{order_id}/receipt").status_code == 404


def test_given_default_config_when_reading_order_configuration_then_countries_listed(partner):
    countries = partner.drive("GET", "/charging-keys/orders/configuration").json["countries"]
    assert countries[0]["country"] == "DE"
