"""EMP charging keys: cursor pagination, create/409, enable/disable, identifier byte order."""

from __future__ import annotations

import pytest


def seed_keys(sim, count: int, fleet: str | None = "fleet-a") -> None:
    for n in range(count):
        sim.add_emp_key(keyIdentifier=f"{n:08x}", visualNumber=f"VIS-{n}", fleetId=fleet)


def test_given_250_keys_when_paging_with_size_100_then_three_pages_and_no_cursor_on_the_last(sim, partner):
    seed_keys(sim, 250)
    seen: list[str] = []
    cursors: list[str | None] = []
    cursor = None
    while True:
        query = {"page_size": "100"} | ({"cursor": cursor} if cursor else {})
        response = partner.emp("GET", "/charging-keys", query_string=query)
        assert response.status_code == 200
        seen += [k["visualNumber"] for k in response.json["keys"]]
        cursor = response.json.get("cursor")
        cursors.append(cursor)
        if cursor is None:
            break
    assert len(cursors) == 3
    assert "cursor" not in response.json
    assert seen == [f"VIS-{n}" for n in range(250)]


def test_given_exactly_one_full_page_when_listing_then_no_cursor_is_returned(sim, partner):
    seed_keys(sim, 10)
    response = partner.emp("GET", "/charging-keys", query_string={"page_size": "10"})
    assert len(response.json["keys"]) == 10
    assert "cursor" not in response.json


def test_given_no_page_size_when_listing_then_default_page_is_100(sim, partner):
    seed_keys(sim, 101)
    response = partner.emp("GET", "/charging-keys")
    assert len(response.json["keys"]) == 100
    assert "cursor" in response.json


@pytest.mark.parametrize("size", ["9", "501", "ten", "-1"])
def test_given_page_size_out_of_range_when_listing_then_400(partner, size):
    assert partner.emp("GET", "/charging-keys", query_string={"page_size": size}).status_code == 400


def test_given_a_cursor_not_issued_by_the_simulator_when_listing_then_400(partner):
    assert partner.emp("GET", "/charging-keys", query_string={"cursor": "garbage!!"}).status_code == 400


def test_given_keys_in_two_fleets_when_filtering_by_fleet_then_only_that_fleet(sim, partner):
    seed_keys(sim, 3, fleet="fleet-a")
    sim.add_emp_key(keyIdentifier="aabbccdd", visualNumber="OTHER", fleetId="fleet-b")
    keys = partner.emp("GET", "/charging-keys", query_string={"fleetId": "fleet-b"}).json["keys"]
    assert [k["visualNumber"] for k in keys] == ["OTHER"]


def test_given_spec_example_when_creating_then_answer_shows_byte_reversed_identifier(partner):
    body = {
        "keyIdentifier": "e0e03336",
        "fleetId": "y1nNLJqb7m",
        "contractId": "DE-9FS-C045DS363-E",
        "visualNumber": "DE-9FS-C045DS363-E",
        "enabled": True,
    }
    created = partner.emp("POST", "/charging-keys", body)
    assert created.status_code == 200
    assert created.json["keyIdentifier"] == "3633e0e0"
    assert created.json["contractId"] == "DE-9FS-C045DS363-E"
    listed = partner.emp("GET", "/charging-keys").json["keys"]
    assert listed[0]["keyIdentifier"] == "3633e0e0"


def test_given_echo_as_sent_configured_when_creating_then_identifier_is_returned_unchanged(sim, partner):
    sim.configure(emp_key_echo="as_sent")
    created = partner.emp("POST", "/charging-keys", {"keyIdentifier": "e0e03336", "visualNumber": "V"})
    assert created.json["keyIdentifier"] == "e0e03336"


def test_given_existing_key_when_creating_it_again_then_409_already_activated(partner):
    body = {"keyIdentifier": "04aa2245", "visualNumber": "V1"}
    assert partner.emp("POST", "/charging-keys", body).status_code == 200
    duplicate = partner.emp("POST", "/charging-keys", body)
    assert duplicate.status_code == 409
    assert duplicate.json == {"message": "Charging key already activated"}


def test_given_no_contract_id_when_creating_then_one_is_generated(partner):
    created = partner.emp("POST", "/charging-keys", {"keyIdentifier": "04aa2245", "visualNumber": "V1"})
    assert created.json["contractId"].startswith("DE-SIM-C")
    assert created.json["enabled"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"keyIdentifier": "04AA2245", "visualNumber": "V"},  # upper case: spec examples are lower case
        {"keyIdentifier": "04aa224", "visualNumber": "V"},  # odd number of hex digits
        {"keyIdentifier": "zz", "visualNumber": "V"},
        {"keyIdentifier": "04aa2245"},  # visualNumber is required
    ],
)
def test_given_invalid_body_when_creating_then_400(partner, body):
    assert partner.emp("POST", "/charging-keys", body).status_code == 400


def test_given_key_when_disabled_and_enabled_then_state_follows(partner):
    partner.emp("POST", "/charging-keys", {"keyIdentifier": "04aa2245", "visualNumber": "V1"})
    assert partner.emp("PUT", "/charging-keys/04aa2245/disable").json["enabled"] is False
    assert partner.emp("GET", "/charging-keys").json["keys"][0]["enabled"] is False
    assert partner.emp("PUT", "/charging-keys/04aa2245/enable").json["enabled"] is True


def test_given_key_when_disabling_by_the_reversed_listed_form_then_404(partner):
    """Enable/disable take the identifier "provided when creating the charging key"."""
    partner.emp("POST", "/charging-keys", {"keyIdentifier": "04aa2245", "visualNumber": "V1"})
    assert partner.emp("PUT", "/charging-keys/4522aa04/disable").status_code == 404


def test_given_unknown_key_when_enabling_then_404(partner):
    assert partner.emp("PUT", "/charging-keys/deadbeef/enable").status_code == 404
