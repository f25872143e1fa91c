"""The real-world variants the simulator plays on demand (tools/simulator/variants.py), each set
up through the admin API as a test would: statuses changed after the fact, 403 on enable/disable,
unknown keys and connectors refused, a start whose answer is lost, a 429 without Retry-After."""

from __future__ import annotations

from conftest import Partner
from flask.testing import FlaskClient

from simulator import PlugsurfingSimulator

CREATED_KEY = {"keyIdentifier": "8148aa22305204", "visualNumber": "VN-1"}


def test_given_an_emp_order_when_its_status_is_changed_then_the_list_shows_the_new_one(
    sim: PlugsurfingSimulator, partner: Partner, client: FlaskClient
) -> None:
    sim.add_order(id="o-1", status="ORDER_PAID")

    changed = client.post("/_sim/orders/o-1/status", json={"status": "ORDER_CANCELLED"})
    listed = partner.emp("GET", "/orders").get_json()["products"]

    assert changed.status_code == 200
    assert [o["status"] for o in listed] == ["ORDER_CANCELLED"]
    assert client.post("/_sim/orders/nope/status", json={"status": "X"}).status_code == 404
    assert client.post("/_sim/orders/o-1/status", json={"state": "X"}).status_code == 400


def test_given_a_drive_order_when_its_state_is_changed_then_the_users_orders_show_it(
    sim: PlugsurfingSimulator, partner: Partner, client: FlaskClient
) -> None:
    sim.add_user("u-1")
    sim.add_drive_order("u-1", id="d-1")

    client.post(
        "/_sim/users/u-1/orders/d-1/state", json={"state": "ORDER_FREE_OF_CHARGE", "hasReceipt": True}
    )

    [order] = partner.drive("GET", "/users/u-1/charging-keys/orders").get_json()
    assert (order["state"], order["hasReceipt"]) == ("ORDER_FREE_OF_CHARGE", True)


def test_given_a_forbidden_emp_key_then_enable_and_disable_answer_403_and_change_nothing(
    partner: Partner, client: FlaskClient
) -> None:
    partner.emp("POST", "/charging-keys", CREATED_KEY)
    client.post("/_sim/keys/forbidden", json={"keyIdentifier": "8148AA22305204"})

    disabled = partner.emp("PUT", "/charging-keys/8148aa22305204/disable")
    enabled = partner.emp("PUT", "/charging-keys/8148aa22305204/enable")
    client.post("/_sim/keys/forbidden", json={"keyIdentifier": "8148aa22305204", "forbidden": False})
    allowed = partner.emp("PUT", "/charging-keys/8148aa22305204/disable")

    assert (disabled.status_code, enabled.status_code) == (403, 403)
    assert "no access to this charging key" in disabled.get_json()["message"]
    assert allowed.status_code == 200


def test_given_a_forbidden_drive_key_then_patch_answers_403(
    sim: PlugsurfingSimulator, partner: Partner, client: FlaskClient
) -> None:
    sim.add_user("u-1")
    partner.drive("POST", "/charging-keys/reservations", {"uid": "8148aa22305204", "visualNumber": "VN-1"})
    key = partner.drive("POST", "/users/u-1/charging-keys/VN-1/activate").get_json()
    client.post("/_sim/keys/forbidden", json={"keyIdentifier": key["keyId"]})

    answer = partner.drive("PATCH", f"/users/u-1/charging-keys/{key['contractId']}", {"enabled": False})

    assert answer.status_code == 403


def test_given_an_emp_start_with_a_key_never_created_then_it_is_refused_unless_switched_off(
    partner: Partner, client: FlaskClient
) -> None:
    partner.emp("POST", "/charging-keys", CREATED_KEY)
    start = {"connectorId": "c-1"}

    by_uid = partner.emp("POST", "/sessions/start", start | {"keyIdentifier": "04523022AA4881"})
    by_identifier = partner.emp("POST", "/sessions/start", start | {"keyIdentifier": "8148aa22305204"})
    client.post("/_sim/variants", json={"emp_unknown_keys": "accept"})
    trusting = partner.emp("POST", "/sessions/start", start | {"keyIdentifier": "04523022AA4881"})

    assert by_uid.status_code == 400, "a UID is not the documented little-endian form"
    assert "keyIdentifier" in by_uid.get_json()["message"]
    assert by_identifier.status_code == 200
    assert trusting.status_code == 200


def test_given_an_unknown_connector_then_a_drive_start_is_refused_and_nothing_starts(
    sim: PlugsurfingSimulator, partner: Partner, client: FlaskClient
) -> None:
    sim.add_user("u-1")
    client.post("/_sim/connectors/unknown", json={"connectorId": "DE*SIM*E9*1"})

    refused = partner.drive("POST", "/users/u-1/sessions/start", {"connectorId": "DE*SIM*E9*1"})
    known = partner.drive("POST", "/users/u-1/sessions/start", {"connectorId": "DE*SIM*E1*1"})

    assert refused.status_code == 400
    assert "connectorId" in refused.get_json()["message"]
    assert known.status_code == 200
    assert [s["connectorId"] for s in sim.snapshot()["sessions"]] == ["DE*SIM*E1*1"]


def test_given_lost_start_answers_then_the_session_starts_but_the_caller_gets_a_5xx(
    sim: PlugsurfingSimulator, partner: Partner, client: FlaskClient
) -> None:
    sim.add_user("u-1")
    client.post("/_sim/sessions/lost-answers", json={"connectorId": "c-1", "status": 504, "count": 1})

    lost = partner.drive("POST", "/users/u-1/sessions/start", {"connectorId": "c-1"})
    history = partner.drive("POST", "/users/u-1/sessions/history", {"limit": 5}).get_json()["sessions"]
    answered = partner.drive("POST", "/users/u-1/sessions/start", {"connectorId": "c-1"})

    assert lost.status_code == 504
    assert len(history) == 1, "it started all the same"
    assert answered.status_code == 200, "only the next start lost its answer"


def test_given_the_order_throttle_without_retry_after_then_the_429_is_bare(
    sim: PlugsurfingSimulator, partner: Partner, client: FlaskClient
) -> None:
    sim.add_user("u-1")
    body = {
        "address": {"addressLine1": "Road 1", "postalCode": "1", "city": "Berlin", "country": "DE"},
        "taxationCountry": "DE",
    }
    client.post("/_sim/variants", json={"order_throttle_retry_after": False})

    partner.drive("POST", "/users/u-1/charging-keys/order", body)
    throttled = partner.drive("POST", "/users/u-1/charging-keys/order", body)

    assert throttled.status_code == 429
    assert "Retry-After" not in throttled.headers
    assert client.get("/_sim/variants").get_json()["orderThrottleRetryAfter"] is False


def test_given_a_reset_then_every_variant_is_off_again(
    sim: PlugsurfingSimulator, client: FlaskClient
) -> None:
    client.post("/_sim/keys/forbidden", json={"keyIdentifier": "aa"})
    client.post("/_sim/variants", json={"emp_unknown_keys": "accept", "order_throttle_retry_after": False})
    client.post("/_sim/variants", json={"typo": 1})

    sim.reset()

    assert client.get("/_sim/variants").get_json() == {
        "forbiddenKeys": [],
        "unknownConnectors": [],
        "lostAnswers": {},
        "empUnknownKeys": "refuse",
        "orderThrottleRetryAfter": True,
    }
