"""Sessions progress on the simulator clock: start, stop, completion, balance, failures."""

from __future__ import annotations

import pytest


@pytest.fixture
def user(partner) -> str:
    partner.drive("POST", "/users", {"id": "driver-1"})
    return "driver-1"


def start(partner, user: str, connector: str = "conn-1") -> str:
    response = partner.drive("POST", f"/users/{user}/sessions/start", {"connectorId": connector})
    assert response.status_code == 200
    return response.json["sessionId"]


def status(partner, user: str, session_id: str) -> dict:
    response = partner.drive("GET", f"/users/{user}/sessions/{session_id}")
    assert response.status_code == 200
    return response.json


def test_given_started_session_when_time_passes_and_stopped_then_full_lifecycle(sim, partner, user, clock):
    sim.configure(session={"start_delay": 2, "stop_to_complete": 3, "balance_delay": 10, "power_w": 7200})
    session_id = start(partner, user)
    assert status(partner, user, session_id)["sessionStatus"] == "STARTING"

    clock.advance(2)
    started = status(partner, user, session_id)
    assert started["sessionStatus"] == "STARTED"
    assert "energy" not in started

    clock.advance(900)  # charged 15 minutes at 7.2 kW
    assert partner.drive("POST", f"/users/{user}/sessions/{session_id}/stop").status_code == 200
    assert status(partner, user, session_id)["sessionStatus"] == "STARTED"  # stopping takes a moment

    clock.advance(3)
    complete = status(partner, user, session_id)
    assert complete["sessionStatus"] == "COMPLETE"
    assert complete["balanceStatus"] == "PROCESSING"
    assert complete["duration"] == "PT15M"
    assert complete["energy"] == {"unit": "WH", "value": 1800}
    assert complete["price"] == {"currencyCode": "EUR", "minorExclVat": 68, "minorInclVat": 81, "vat": "19"}
    assert complete["receiptAvailable"] is False

    clock.advance(10)
    settled = status(partner, user, session_id)
    assert settled["balanceStatus"] == "PAID"
    assert settled["receiptAvailable"] is True


def test_given_failing_connector_when_starting_then_session_id_returned_and_session_fails(
    sim, partner, user, clock
):
    sim.script_connector("broken-conn", outcome="fail", start_delay=1)
    session_id = start(partner, user, "broken-conn")
    assert session_id
    clock.advance(1)
    failed = status(partner, user, session_id)
    assert failed["sessionStatus"] == "FAILED"
    assert "balanceStatus" not in failed
    assert status(partner, user, start(partner, user, "conn-ok"))["sessionStatus"] == "STARTING"


def test_given_stuck_connector_when_time_passes_then_session_stays_starting(sim, partner, user, clock):
    sim.script_connector("stuck-conn", outcome="stuck")
    session_id = start(partner, user, "stuck-conn")
    clock.advance(3600)
    assert status(partner, user, session_id)["sessionStatus"] == "STARTING"


def test_given_auto_complete_script_when_time_passes_then_completes_without_stop(sim, partner, user, clock):
    sim.script_connector("auto", start_delay=0, auto_complete_after=60, stop_to_complete=0, energy_wh=500)
    session_id = start(partner, user, "auto")
    clock.advance(60)
    done = status(partner, user, session_id)
    assert done["sessionStatus"] == "COMPLETE"
    assert done["energy"]["value"] == 500


def test_given_debt_script_on_running_session_when_settled_then_balance_is_debt(sim, partner, user, clock):
    session_id = start(partner, user)
    sim.script_session(session_id, balance_status="DEBT", balance_delay=0)
    partner.drive("POST", f"/users/{user}/sessions/{session_id}/stop")
    clock.advance(60)
    assert status(partner, user, session_id)["balanceStatus"] == "DEBT"


def test_given_completed_session_when_stopping_again_then_200(partner, user, clock):
    session_id = start(partner, user)
    partner.drive("POST", f"/users/{user}/sessions/{session_id}/stop")
    clock.advance(60)
    assert partner.drive("POST", f"/users/{user}/sessions/{session_id}/stop").status_code == 200
    assert status(partner, user, session_id)["sessionStatus"] == "COMPLETE"


def test_given_unknown_session_when_reading_or_stopping_then_404(partner, user):
    assert partner.drive("GET", f"/users/{user}/sessions/nope").status_code == 404
    assert partner.drive("POST", f"/users/{user}/sessions/nope/stop").status_code == 404


def test_given_session_of_another_user_when_reading_then_404(partner, user):
    partner.drive("POST", "/users", {"id": "driver-2"})
    session_id = start(partner, "driver-2")
    assert partner.drive("GET", f"/users/{user}/sessions/{session_id}").status_code == 404


def test_given_start_without_connector_then_400(partner, user):
    assert partner.drive("POST", f"/users/{user}/sessions/start", {}).status_code == 400


def test_given_start_with_content_type_star_as_in_the_curl_example_then_accepted(partner, user):
    response = partner.client.post(
        f"/drive/v1/users/{user}/sessions/start",
        data='{"connectorId": "conn-1"}',
        headers=partner.headers | {"Content-Type": "*/*"},
    )
    assert response.status_code == 200


def test_given_sessions_in_many_states_when_history_filtered_then_matching_newest_first(
    sim, partner, user, clock
):
    sim.script_connector("broken", outcome="fail", start_delay=0)
    first = start(partner, user)
    partner.drive("POST", f"/users/{user}/sessions/{first}/stop")
    clock.advance(60)
    second = start(partner, user)
    partner.drive("POST", f"/users/{user}/sessions/{second}/stop")
    clock.advance(60)
    start(partner, user, "broken")
    history = partner.drive(
        "POST", f"/users/{user}/sessions/history", {"sessionStatus": ["COMPLETE"], "limit": 50}
    )
    assert [s["sessionId"] for s in history.json["sessions"]] == [second, first]
    limited = partner.drive("POST", f"/users/{user}/sessions/history", {"limit": 1}).json["sessions"]
    assert [s["sessionStatus"] for s in limited] == ["FAILED"]


def test_given_emp_session_when_started_read_and_stopped_then_lifecycle_matches(sim, partner, clock):
    sim.add_emp_key(keyIdentifier="04aa2245", visualNumber="V")
    response = partner.emp("POST", "/sessions/start", {"connectorId": "c-9", "keyIdentifier": "04aa2245"})
    session_id = response.json["sessionId"]
    clock.advance(5)
    running = partner.emp("GET", f"/sessions/{session_id}").json
    assert running["sessionStatus"] == "STARTED"
    assert running["chargingKeyType"] == "tag"
    assert partner.emp("POST", f"/sessions/{session_id}/stop").status_code == 200
    clock.advance(60)
    done = partner.emp("GET", f"/sessions/{session_id}").json
    assert done["sessionStatus"] == "COMPLETE"
    assert done["receiptAvailable"] is False  # no receipt for external clearing


def test_given_disabled_emp_key_when_starting_then_id_returned_and_session_fails(sim, partner, clock):
    sim.add_emp_key(keyIdentifier="04aa2245", visualNumber="V", enabled=False)
    session_id = partner.emp(
        "POST", "/sessions/start", {"connectorId": "c", "keyIdentifier": "04aa2245"}
    ).json["sessionId"]
    clock.advance(5)
    assert partner.emp("GET", f"/sessions/{session_id}").json["sessionStatus"] == "FAILED"


def test_given_emp_start_without_key_identifier_then_400(partner):
    assert partner.emp("POST", "/sessions/start", {"connectorId": "c"}).status_code == 400


def test_given_drive_session_when_read_through_emp_api_then_404(partner, user):
    session_id = start(partner, user)
    assert partner.emp("GET", f"/sessions/{session_id}").status_code == 404
