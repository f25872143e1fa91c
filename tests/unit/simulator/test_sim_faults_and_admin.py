"""Faults, authentication, request log and the admin API."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import simulator

SIMULATOR_DIR = Path(simulator.__file__).parent


def test_given_two_503_faults_when_calling_three_times_then_two_failures_with_retry_after_then_success(
    sim, partner
):
    sim.add_fault(kind="status", status=503, path="/drive/emp/v1/charging-keys", count=2, retry_after=7)
    first = partner.emp("GET", "/charging-keys")
    second = partner.emp("GET", "/charging-keys")
    third = partner.emp("GET", "/charging-keys")
    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 200]
    assert first.headers["Retry-After"] == "7"
    assert sim.snapshot()["faults"] == []


def test_given_fault_on_one_path_when_calling_another_then_unaffected(sim, partner):
    sim.add_fault(kind="status", path="/drive/emp/*")
    partner.drive("POST", "/users", {"id": "u"})
    assert partner.drive("GET", "/users/u/charging-keys").status_code == 200
    assert partner.emp("GET", "/charging-keys").status_code == 503


def test_given_fault_for_one_method_when_other_method_called_then_unaffected(sim, partner):
    sim.add_fault(kind="status", status=500, path="/drive/emp/v1/charging-keys", method="POST")
    assert partner.emp("GET", "/charging-keys").status_code == 200
    assert (
        partner.emp("POST", "/charging-keys", {"keyIdentifier": "01020304", "visualNumber": "V"}).status_code
        == 500
    )


def test_given_throttle_fault_then_429_with_retry_after(sim, partner):
    sim.add_fault(kind="throttle", retry_after=3)
    response = partner.emp("GET", "/charging-keys")
    assert (response.status_code, response.headers["Retry-After"]) == (429, "3")


def test_given_5xx_fault_on_oioi_then_body_in_oioi_dialect(sim, partner):
    sim.add_fault(kind="status", status=502, path="/api/v4/request")
    response = partner.rfid_post(["12345678"])
    assert response.status_code == 502
    assert response.json["result"]["code"] == 100
    assert sim.whitelists()["history"] == []


def test_given_oioi_result_fault_then_http_200_with_non_zero_code_and_nothing_stored(sim, partner):
    sim.add_fault(kind="oioi_result", code=100, path="/api/v4/request")
    response = partner.rfid_post(["12345678"])
    assert response.status_code == 200
    assert response.json["result"] == {"code": 100, "message": "System error"}
    assert sim.whitelists()["latest"] == {}


def test_given_disconnect_fault_without_a_socket_then_the_call_raises(sim, partner):
    sim.add_fault(kind="disconnect")
    with pytest.raises(ConnectionAbortedError):
        partner.emp("GET", "/charging-keys")


def test_given_slow_fault_then_request_still_answers_normally(sim, partner):
    sim.add_fault(kind="slow", delay=0.01)
    assert partner.emp("GET", "/charging-keys").status_code == 200
    assert partner.client.get("/_sim/requests").json["requests"][-1]["fault"] == "slow"


def test_given_faults_when_cleared_then_requests_succeed(sim, partner):
    sim.add_fault(kind="status", count=5)
    sim.clear_faults()
    assert partner.emp("GET", "/charging-keys").status_code == 200


def test_given_fault_on_everything_when_using_admin_api_then_admin_is_never_faulted(sim, client):
    sim.add_fault(kind="status", count=10)
    assert client.get("/_sim/state").status_code == 200


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "wrong"}])
def test_given_missing_or_wrong_api_key_when_calling_drive_or_emp_then_403_forbidden(client, headers):
    for path in ("/drive/v1/users/u/charging-keys", "/drive/emp/v1/charging-keys"):
        response = client.get(path, headers=headers)
        assert response.status_code == 403
        assert response.json == {"message": "Forbidden"}


def test_given_custom_keys_when_configured_then_only_those_are_accepted():
    sim = simulator.PlugsurfingSimulator(api_key="k1", oioi_key="k2")
    client = sim.app.test_client()
    assert client.get("/drive/emp/v1/charging-keys", headers={"x-api-key": "k1"}).status_code == 200
    assert client.get("/drive/emp/v1/charging-keys", headers={"x-api-key": "sim-api-key"}).status_code == 403
    body = {"rfid-post": {"rfids": [], "partner-identifier": "partner-identifier-0001"}}
    assert client.post("/api/v4/request", json=body, headers={"Authorization": "key=k2"}).status_code == 200


def test_given_requests_when_inspecting_log_then_recorded_with_secrets_masked(partner, client):
    partner.emp("GET", "/charging-keys", query_string={"page_size": "10"})
    partner.rfid_post(["12345678"])
    entries = client.get("/_sim/requests").json["requests"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/drive/emp/v1/charging-keys", 200),
        ("POST", "/api/v4/request", 200),
    ]
    assert entries[0]["query"] == {"page_size": "10"}
    assert entries[0]["headers"]["X-Api-Key"] == "***"
    assert entries[1]["headers"]["Authorization"] == "***"
    assert entries[1]["body"]["rfid-post"]["rfids"] == ["12345678"]
    only_oioi = client.get("/_sim/requests", query_string={"path_prefix": "/api"}).json["requests"]
    assert len(only_oioi) == 1


def test_given_admin_http_api_when_seeding_and_advancing_then_partner_api_reflects_it(client, partner):
    assert client.post("/_sim/users", json={"id": "admin-user"}).status_code == 201
    assert (
        client.post("/_sim/keys", json=[{"keyIdentifier": "01020304", "visualNumber": "V"}]).status_code
        == 201
    )
    assert client.post("/_sim/orders", json={"id": "o-late", "visible_after": 30}).status_code == 201
    assert partner.emp("GET", "/orders").json["products"] == []
    assert client.post("/_sim/clock/advance", json={"seconds": 30}).status_code == 200
    assert [p["id"] for p in partner.emp("GET", "/orders").json["products"]] == ["o-late"]
    assert partner.drive("GET", "/users/admin-user/charging-keys").status_code == 200
    assert len(partner.emp("GET", "/charging-keys").json["keys"]) == 1


def test_given_admin_fault_and_script_and_config_calls_then_they_take_effect(client, partner):
    assert client.post("/_sim/faults", json={"kind": "status", "status": 500, "count": 1}).status_code == 201
    assert partner.emp("GET", "/charging-keys").status_code == 500
    assert client.post("/_sim/config", json={"order_throttle_seconds": 1}).json["order_throttle_seconds"] == 1
    script = client.post("/_sim/sessions/script", json={"connectorId": "c", "outcome": "fail"}).json["script"]
    assert script["outcome"] == "fail"


def test_given_admin_body_with_unknown_field_then_400(client):
    assert client.post("/_sim/faults", json={"kind": "status", "cuont": 2}).status_code == 400
    assert (
        client.post("/_sim/sessions/script", json={"connectorId": "c", "outcom": "fail"}).status_code == 400
    )


def test_given_data_and_faults_when_reset_then_everything_is_gone(sim, client, partner):
    partner.rfid_post(["12345678"])
    sim.add_order(id="o1")
    sim.add_fault(kind="status", count=3)
    sim.configure(order_throttle_seconds=1)
    assert client.post("/_sim/reset").status_code == 204
    state = client.get("/_sim/state").json
    assert (state["whitelists"], state["empOrders"], state["faults"]) == ({}, [], [])
    assert state["config"]["order_throttle_seconds"] == 300
    assert client.get("/_sim/requests").json["requests"] == []


def test_given_unknown_route_then_json_404(partner):
    response = partner.drive("GET", "/no/such/thing")
    assert response.status_code == 404
    assert response.json == {"message": "Not Found"}


def test_the_simulator_never_imports_the_product_package():
    """An independent stand-in catches our misreadings of the spec instead of sharing them."""
    imported: set[str] = set()
    for source in SIMULATOR_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    assert "simulator" in imported
    assert "backbone" not in imported
