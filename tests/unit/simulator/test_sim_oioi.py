"""OIOI endpoint: authentication, rfid-post whitelist replace semantics, session-post."""

from __future__ import annotations

import pytest

PARTNER_ID = "partner-identifier-0001"  # what the `partner` fixture sends

SESSION_POST = {
    "session-post": {
        "user": {"identifier": "04523022AA4881", "identifier-type": "rfid"},
        "session-id": "abcdef-123456-abc123-456def",
        "connector-id": "DE*8PS*ETABCD*1",
        "session-interval": {"start": "2010-01-01T11:00:00+00:00", "stop": "2010-01-01T17:00:00+00:00"},
        "energy-consumed": 16.5,
        "partner-identifier": PARTNER_ID,
    }
}


def test_given_missing_authorization_when_posting_then_401_invalid_api_key(client):
    response = client.post("/api/v4/request", json={"rfid-post": {}})
    assert response.status_code == 401
    assert response.json["result"]["code"] == 210
    assert response.json["error"]


def test_given_wrong_key_when_posting_then_403_invalid_api_key(partner):
    response = partner.oioi({"rfid-post": {"rfids": [], "partner-identifier": PARTNER_ID}}, key="wrong")
    assert response.status_code == 403
    assert response.json["result"] == {"code": 210, "message": "Invalid API key"}


def test_given_successive_pushes_then_whitelist_is_replaced_and_processed_counts_new_uids(sim, partner):
    first = partner.rfid_post(["04523022AA4881", "0477BD22AA4880"])
    assert first.status_code == 200
    assert first.json == {"rfid": {"processed": 2}, "result": {"code": 0, "message": "Success."}}

    second = partner.rfid_post(["04523022AA4881", "12345678"])
    assert second.json["rfid"]["processed"] == 1
    assert sim.whitelist(PARTNER_ID) == ["04523022AA4881", "12345678"]

    assert partner.rfid_post([]).json["rfid"]["processed"] == 0
    assert sim.whitelist(PARTNER_ID) == []
    assert [h["processed"] for h in sim.whitelists()["history"]] == [2, 1, 0]


def test_given_two_partners_when_pushing_then_whitelists_are_kept_apart(sim, partner):
    partner.rfid_post(["12345678"], partner="partner-identifier-AAAA")
    partner.rfid_post(["87654321"], partner="partner-identifier-BBBB")
    latest = sim.whitelists()["latest"]
    assert latest == {"partner-identifier-AAAA": ["12345678"], "partner-identifier-BBBB": ["87654321"]}


def test_given_duplicate_uids_in_one_push_then_counted_once(partner):
    assert partner.rfid_post(["12345678", "12345678"]).json["rfid"]["processed"] == 1


@pytest.mark.parametrize(
    "uid",
    [
        "abcdefab",  # lower case (the spec's own example, against its rules)
        "1234567",  # 7 characters
        "123456789",  # 9 characters
        "04523022AA48",  # 12 characters
        "0452302GAA4881",  # not hex
        12345678,  # not a string
    ],
)
def test_given_invalid_uid_when_pushing_then_400_code_230_and_whitelist_untouched(sim, partner, uid):
    partner.rfid_post(["12345678"])
    response = partner.rfid_post(["87654321", uid])
    assert response.status_code == 400
    assert response.json["result"]["code"] == 230
    assert response.json["error"]
    assert sim.whitelist(PARTNER_ID) == ["12345678"]


@pytest.mark.parametrize("uid", ["12345678", "04523022AA4881", "0123456789ABCDEF0123"])
def test_given_uids_of_each_valid_length_when_pushing_then_accepted(partner, uid):
    assert partner.rfid_post([uid]).status_code == 200


def test_given_short_partner_identifier_when_pushing_then_400_invalid_partner_identifier(partner):
    response = partner.rfid_post(["12345678"], partner="too-short")
    assert response.status_code == 400
    assert response.json["result"]["code"] == 211


def test_given_session_post_when_sent_then_stored_with_success(sim, partner):
    response = partner.oioi(SESSION_POST)
    assert response.status_code == 200
    assert response.json == {"result": {"code": 0, "message": "Success."}}
    assert sim.snapshot()["oioiSessions"][0]["session-id"] == "abcdef-123456-abc123-456def"


def test_given_session_post_without_session_id_then_400_code_230(partner):
    body = {"session-post": {k: v for k, v in SESSION_POST["session-post"].items() if k != "session-id"}}
    response = partner.oioi(body)
    assert response.status_code == 400
    assert response.json["result"]["code"] == 230


@pytest.mark.parametrize(
    "body",
    [
        {"rfid-verify": {"rfid": "12345678"}},  # real message, not served by this stand-in
        {"no-such-message": {}},
        {},
        {"rfid-post": {"rfids": []}, "session-post": {}},  # two message types at once
        ["rfid-post"],
    ],
)
def test_given_unknown_or_malformed_message_then_400_code_230(partner, body):
    response = partner.oioi(body)
    assert response.status_code == 400
    assert response.json["result"]["code"] == 230


def test_given_non_json_body_then_400_code_230(client):
    response = client.post("/api/v4/request", data=b"not json", headers={"Authorization": "key=sim-oioi-key"})
    assert response.status_code == 400
    assert response.json["result"]["code"] == 230
