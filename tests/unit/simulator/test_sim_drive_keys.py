"""Drive users and charging keys: reservation, activation, PATCH, list."""

from __future__ import annotations

import pytest

RESERVATION = {"uid": "7d009d67181896", "visualNumber": "ES*BA*4321EU*1", "type": "CARD"}


@pytest.fixture
def user(partner) -> str:
    assert partner.drive("POST", "/users", {"id": "driver-1", "email": "d@example.com"}).status_code == 201
    return "driver-1"


@pytest.mark.parametrize("path", ["/users", "/user"])
def test_given_either_documented_path_when_creating_user_then_201_without_body(partner, path):
    response = partner.drive("POST", path, {"id": "u-1"})
    assert response.status_code == 201
    assert response.data == b""


def test_given_existing_user_when_creating_again_then_409(partner, user):
    assert partner.drive("POST", "/users", {"id": user}).status_code == 409


def test_given_new_user_when_listing_keys_then_only_a_virtual_key(partner, user):
    keys = partner.drive("GET", f"/users/{user}/charging-keys").json["keys"]
    assert [k["type"] for k in keys] == ["virtual"]
    assert "referenceId" not in keys[0]


def test_given_reservation_when_activating_then_key_is_usable_and_listed(partner, user):
    assert partner.drive("POST", "/charging-keys/reservations", RESERVATION).status_code == 201
    activated = partner.drive("POST", f"/users/{user}/charging-keys/ES*BA*4321EU*1/activate")
    assert activated.status_code == 200
    key = activated.json
    assert key["keyId"] == "7d009d67181896"
    assert key["referenceId"] == "ES*BA*4321EU*1"
    assert key["type"] == "card"
    assert key["enabled"] is True
    listed = partner.drive("GET", f"/users/{user}/charging-keys").json["keys"]
    assert key in listed


def test_given_reservation_without_dates_then_valid_for_ten_years(partner, user, clock):
    partner.drive("POST", "/charging-keys/reservations", {"uid": "04a1b2c3", "visualNumber": "V-1"})
    key = partner.drive("POST", f"/users/{user}/charging-keys/V-1/activate").json
    assert key["validFrom"] == "2024-05-01T08:00:00.000Z"
    assert key["validTo"].startswith("2034-")
    assert key["type"] == "tag"


def test_given_unknown_reservation_when_activating_then_404(partner, user):
    assert partner.drive("POST", f"/users/{user}/charging-keys/NOPE/activate").status_code == 404


def test_given_unknown_user_when_activating_then_404(partner):
    partner.drive("POST", "/charging-keys/reservations", RESERVATION)
    assert partner.drive("POST", "/users/ghost/charging-keys/ES*BA*4321EU*1/activate").status_code == 404


def test_given_key_active_for_another_user_when_activating_then_409(partner, user):
    partner.drive("POST", "/users", {"id": "driver-2"})
    partner.drive("POST", "/charging-keys/reservations", RESERVATION)
    partner.drive("POST", f"/users/{user}/charging-keys/ES*BA*4321EU*1/activate")
    response = partner.drive("POST", "/users/driver-2/charging-keys/ES*BA*4321EU*1/activate")
    assert response.status_code == 409
    assert response.json == {"message": "Key already in use"}


def test_given_key_active_for_same_user_when_activating_again_then_200_same_key(partner, user):
    partner.drive("POST", "/charging-keys/reservations", RESERVATION)
    first = partner.drive("POST", f"/users/{user}/charging-keys/ES*BA*4321EU*1/activate").json
    again = partner.drive("POST", f"/users/{user}/charging-keys/ES*BA*4321EU*1/activate")
    assert again.status_code == 200
    assert again.json == first


def test_given_reservation_with_non_hex_uid_then_400(partner):
    response = partner.drive("POST", "/charging-keys/reservations", {"uid": "xyz", "visualNumber": "V"})
    assert response.status_code == 400


def test_given_visual_number_reserved_for_another_uid_then_409(partner):
    partner.drive("POST", "/charging-keys/reservations", RESERVATION)
    clash = RESERVATION | {"uid": "0102030405"}
    assert partner.drive("POST", "/charging-keys/reservations", clash).status_code == 409


@pytest.mark.parametrize("by", ["keyId", "contractId"])
def test_given_active_key_when_patching_by_either_identifier_then_updated(partner, user, by):
    partner.drive("POST", "/charging-keys/reservations", RESERVATION)
    key = partner.drive("POST", f"/users/{user}/charging-keys/ES*BA*4321EU*1/activate").json
    patched = partner.drive(
        "PATCH", f"/users/{user}/charging-keys/{key[by]}", {"name": "Blue", "enabled": False}
    )
    assert patched.status_code == 200
    assert (patched.json["name"], patched.json["enabled"]) == ("Blue", False)


def test_given_enabled_as_string_when_patching_then_400(partner, user):
    key = partner.drive("GET", f"/users/{user}/charging-keys").json["keys"][0]
    assert (
        partner.drive("PATCH", f"/users/{user}/charging-keys/{key['keyId']}", {"enabled": "no"}).status_code
        == 400
    )


def test_given_key_of_another_user_when_patching_then_404(partner, user):
    partner.drive("POST", "/users", {"id": "driver-2"})
    other_key = partner.drive("GET", "/users/driver-2/charging-keys").json["keys"][0]
    response = partner.drive("PATCH", f"/users/{user}/charging-keys/{other_key['keyId']}", {"enabled": False})
    assert response.status_code == 404


def test_given_unknown_user_when_listing_keys_then_404(partner):
    assert partner.drive("GET", "/users/ghost/charging-keys").status_code == 404
