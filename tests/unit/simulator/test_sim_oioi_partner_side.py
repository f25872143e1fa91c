"""The simulator's OIOI variants: answers without `result` (switchable), and the messages it
builds when it plays the CPO side (from seed 002, checked here against the spec's own rules)."""

from __future__ import annotations

import re
from datetime import datetime

PARTNER = "123456-123456-abcdef-abc123-456def"
# Seed 002 glossary: EVSE ID structure (the regex as printed) and RFC 3339 times.
EVSE_ID = re.compile(r"[A-Za-z]{2}\*[A-Za-z0-9]{3}\*?E[A-Za-z0-9*]{1,30}")


def build(partner, **body):
    response = partner.client.post("/_sim/oioi/build", json={"url": "http://x", "key": "k", **body})
    assert response.status_code == 200, response.json
    return response.json["messages"]


def test_given_no_result_answers_switched_on_when_rfid_post_is_sent_then_200_without_result_keeps_processed(
    sim, partner
):
    switched = partner.client.post("/_sim/oioi/answers", json={"result": "omit"})

    response = partner.rfid_post(["12345678", "ABCDEF12"])

    assert switched.json == {"result": "omit", "messages": None}
    assert response.status_code == 200
    assert response.json == {"rfid": {"processed": 2}}
    assert sim.whitelist("partner-identifier-0001") == ["12345678", "ABCDEF12"]


def test_given_no_result_answers_when_a_request_is_bad_then_the_error_keeps_its_result_code(sim, partner):
    partner.client.post("/_sim/oioi/answers", json={"result": "omit"})

    response = partner.rfid_post(["bad"])

    assert (response.status_code, response.json["result"]["code"]) == (400, 230)


def test_given_no_result_answers_switched_off_or_reset_then_answers_carry_result_again(sim, partner):
    partner.client.post("/_sim/oioi/answers", json={"result": "omit", "messages": ["session-post"]})
    only_session_post = partner.rfid_post(["12345678"])
    partner.client.post("/_sim/reset")

    after_reset = partner.rfid_post(["12345678"])

    assert only_session_post.json["result"]["code"] == 0
    assert after_reset.json["result"]["code"] == 0
    assert partner.client.get("/_sim/oioi/answers").json["result"] == "include"


def test_given_a_typo_in_the_answer_switch_then_400(sim, partner):
    assert partner.client.post("/_sim/oioi/answers", json={"result": "none"}).status_code == 400


def test_given_ongoing_then_final_when_built_then_two_session_posts_for_one_session_only_the_last_with_stop(
    sim, partner
):
    ongoing, final = build(
        partner, message="session-post", phase="ongoing-then-final", partner_identifier=PARTNER
    )

    first, last = ongoing["session-post"], final["session-post"]
    assert first["session-id"] == last["session-id"]
    assert "stop" not in first["session-interval"]
    assert not {"energy-consumed", "calculated-cost"} & first.keys()
    assert last["session-interval"]["stop"] > last["session-interval"]["start"]
    assert (last["energy-consumed"], last["calculated-cost"]) == (16.5, {"amount": 14.32, "currency": "EUR"})
    assert last["partner-identifier"] == PARTNER
    assert last["user"] == {"identifier": "04523022AA4881", "identifier-type": "rfid"}


def test_given_each_id_shape_when_built_then_ids_follow_the_glossary_and_differ_in_form(sim, partner):
    [glossary] = build(partner, message="session-post", ids="glossary")
    [real] = build(partner, message="session-post", ids="real-world")

    g, r = glossary["session-post"], real["session-post"]
    assert [bool(EVSE_ID.fullmatch(body["connector-id"])) for body in (g, r)] == [True, True]
    assert (g["connector-id"].count("*"), r["connector-id"].count("*")) == (3, 1)
    assert g["session-interval"]["stop"].endswith("+00:00")
    assert r["session-interval"]["stop"].endswith("Z")
    assert datetime.fromisoformat(r["session-interval"]["stop"]).microsecond % 1000 == 0
    assert (r["session-id"].isdigit(), len(g["session-id"])) == (True, 36)


def test_given_station_and_status_messages_when_built_then_they_carry_the_spec_required_fields(sim, partner):
    [station] = build(partner, message="station-post", partner_identifier=PARTNER)
    [status] = build(partner, message="connector-post-status", partner_identifier=PARTNER)

    posted = station["station-post"]["station"]
    required = {"id", "name", "latitude", "longitude", "address", "contact", "cpo-id", "is-open-24"}
    assert required | {"connectors"} <= posted.keys()
    assert all(EVSE_ID.fullmatch(connector["id"]) for connector in posted["connectors"])
    assert station["station-post"]["partner-identifier"] == PARTNER
    statuses = {"Available", "Occupied", "Offline", "Reserved", "Unknown"}
    assert status["connector-post-status"]["status"] in statuses


def test_given_fields_when_built_then_they_override_deeply_and_null_removes(sim, partner):
    [message] = build(
        partner,
        message="session-post",
        fields={"session-id": "s-1", "user": {"identifier": "0477BD22AA4880"}, "calculated-cost": None},
    )

    body = message["session-post"]
    assert body["session-id"] == "s-1"
    assert body["user"] == {"identifier": "0477BD22AA4880", "identifier-type": "rfid"}
    assert "calculated-cost" not in body


def test_given_neither_or_both_message_and_body_then_400(sim, partner):
    neither = partner.client.post("/_sim/oioi/send", json={"url": "http://x", "key": "k"})
    both = partner.client.post(
        "/_sim/oioi/send", json={"url": "http://x", "key": "k", "message": "rfid-verify", "body": {}}
    )
    assert (neither.status_code, both.status_code) == (400, 400)
