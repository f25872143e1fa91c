"""OIOI message models against the spec's own examples, plus the rules the spec leaves to us."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from backbone.oioi.codes import ResultCode, UnknownResultCode
from backbone.oioi.fields import as_utc
from backbone.oioi.identifiers import InvalidUid
from backbone.oioi.models import (
    MESSAGE_MODELS,
    OIOI_MESSAGE_NAMES,
    ConnectorPostStatus,
    ConnectorStatus,
    IdentifierType,
    OioiResponse,
    RfidPost,
    RfidPostResponse,
    RfidVerify,
    SessionPost,
    SessionStart,
    SessionStartResponse,
    SessionStartResult,
    StationPost,
    response_model_for,
    result_body,
)
from backbone.oioi.wire import loads

from ._spec import FIXTURES, fixture_json, fixture_text

REQUESTS = sorted(path.name for path in FIXTURES.glob("*.request.json"))
RESPONSES = sorted(path.name for path in FIXTURES.glob("*.response*.json"))


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


def _session_post(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = copy.deepcopy(fixture_json("session-post.request.json")["session-post"])
    payload.update(changes)
    return payload


def test_given_the_fixture_folder_then_every_message_we_handle_has_its_spec_examples() -> None:
    assert {name.removesuffix(".request.json") for name in REQUESTS} == MESSAGE_MODELS.keys()
    assert "session-start.response-stoppable.json" in RESPONSES


@pytest.mark.parametrize("name", REQUESTS)
def test_given_a_spec_request_example_when_parsed_and_reserialised_then_json_is_equivalent(name: str) -> None:
    body = loads(fixture_text(name))  # the receiver's way: floats as exact Decimals
    [(message_name, payload)] = body.items()

    model = MESSAGE_MODELS[message_name].model_validate(payload)

    assert {message_name: _dump(model)} == fixture_json(name)
    assert model.to_request() == fixture_json(name)


@pytest.mark.parametrize("name", RESPONSES)
def test_given_a_spec_response_example_when_parsed_and_reserialised_then_json_is_equivalent(
    name: str,
) -> None:
    message_name = name.split(".")[0]
    model = response_model_for(message_name).model_validate(loads(fixture_text(name)))
    assert model.is_success
    assert _dump(model) == fixture_json(name)


def test_given_the_stoppable_session_start_response_when_parsed_then_session_id_and_flag_are_read() -> None:
    response = SessionStartResponse.model_validate(fixture_json("session-start.response-stoppable.json"))
    assert response.is_stoppable
    assert response.session_start is not None
    assert response.session_start.session_id == "abcdef-123456-abc123-456def"
    plain = SessionStartResponse.model_validate(fixture_json("session-start.response.json"))
    assert not plain.is_stoppable


def test_given_rfid_post_response_when_parsed_then_processed_count_is_read() -> None:
    response = RfidPostResponse.model_validate(fixture_json("rfid-post.response.json"))
    assert response.rfid is not None
    assert response.rfid.processed == 2


# --- Extra fields, dates, numbers --------------------------------------------------------------


def test_given_fields_the_spec_adds_later_when_parsed_then_they_are_kept_and_written_back() -> None:
    payload = _session_post(**{"new-field": {"nested": 1.25, "list": [2.5, "x"]}, "tariff-id": "T1"})
    payload["calculated-cost"]["vat"] = 19.0

    model = SessionPost.model_validate(loads(json.dumps(payload)))

    dumped = _dump(model)
    assert dumped["new-field"] == {"nested": 1.25, "list": [2.5, "x"]}  # numbers stay numbers
    assert dumped["tariff-id"] == "T1"
    assert dumped["calculated-cost"]["vat"] == 19.0


def test_given_a_time_without_offset_when_parsed_then_the_error_names_field_and_rule() -> None:
    payload = _session_post(**{"session-interval": {"start": "2010-01-01T11:00:00"}})
    with pytest.raises(ValidationError) as caught:
        SessionPost.model_validate(payload)
    error = caught.value.errors()[0]
    assert error["loc"] == ("session-interval", "start")
    assert "UTC offset" in error["msg"]


def test_given_a_unix_timestamp_when_parsed_then_it_is_rejected_as_not_rfc3339() -> None:
    with pytest.raises(ValidationError, match="RFC 3339"):
        SessionPost.model_validate(_session_post(**{"session-interval": {"start": 1262343600}}))


def test_given_a_time_with_an_offset_when_parsed_then_the_offset_is_kept_and_utc_is_available() -> None:
    interval = {"start": "2010-01-01T12:00:00+01:00", "stop": "2010-01-01T13:30:00Z"}
    model = SessionPost.model_validate(_session_post(**{"session-interval": interval}))
    start = model.session_interval.start
    assert start.utcoffset() == timedelta(hours=1)
    assert as_utc(start) == datetime(2010, 1, 1, 11, tzinfo=UTC)
    assert as_utc(start).tzinfo is UTC
    dumped = _dump(model)["session-interval"]
    assert dumped["start"] == "2010-01-01T12:00:00+01:00"
    assert dumped["stop"] == "2010-01-01T13:30:00+00:00"  # same instant; "Z" is written as +00:00


def test_given_money_and_energy_when_parsed_then_decimals_are_exact_whatever_the_json_reader() -> None:
    for body in (loads(fixture_text("session-post.request.json")), fixture_json("session-post.request.json")):
        model = SessionPost.model_validate(body["session-post"])
        assert model.calculated_cost is not None
        assert model.calculated_cost.amount == Decimal("14.32")
        assert model.energy_consumed == Decimal("16.5")


@pytest.mark.parametrize(
    ("raw", "exact"), [("14.32", "14.32"), (14.32, "14.32"), (16, "16"), (Decimal("0.1"), "0.1")]
)
def test_given_amounts_in_any_numeric_form_when_parsed_then_the_decimal_is_exact(
    raw: Any, exact: str
) -> None:
    model = SessionPost.model_validate(
        _session_post(**{"calculated-cost": {"amount": raw, "currency": "EUR"}})
    )
    assert model.calculated_cost is not None
    assert str(model.calculated_cost.amount) == exact


def test_given_integral_energy_when_reserialised_then_it_stays_a_json_integer() -> None:
    model = SessionPost.model_validate(loads(json.dumps(_session_post(**{"energy-consumed": 16}))))
    assert json.dumps(_dump(model)["energy-consumed"]) == "16"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("energy-consumed", -1, "greater than or equal to 0"),
        ("energy-consumed", "NaN", "finite"),
        ("energy-consumed", True, "Decimal input"),
        ("calculated-cost", {"amount": 1, "currency": "eur"}, "pattern"),
        ("connector-id", "1356", "is not an EVSE ID"),
    ],
)
def test_given_bad_session_post_fields_when_parsed_then_the_field_is_named(
    field: str, value: Any, reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason) as caught:
        SessionPost.model_validate(_session_post(**{field: value}))
    assert caught.value.errors()[0]["loc"][0] == field


# --- Session post: ongoing vs final ------------------------------------------------------------


def test_given_a_session_post_without_stop_when_parsed_then_it_is_an_ongoing_session() -> None:
    model = SessionPost.model_validate(
        _session_post(**{"session-interval": {"start": "2010-01-01T11:00:00+00:00"}, "charging-interval": {}})
    )
    assert not model.is_final
    assert model.charging_interval is not None
    assert model.charging_interval.start is None


def test_given_the_spec_cdr_when_parsed_then_it_is_final() -> None:
    assert SessionPost.model_validate(_session_post()).is_final


@pytest.mark.parametrize("interval", ["session-interval", "charging-interval"])
def test_given_a_stop_before_the_start_when_parsed_then_it_is_rejected(interval: str) -> None:
    times = {"start": "2010-01-01T12:00:00+00:00", "stop": "2010-01-01T12:59:00+01:00"}
    with pytest.raises(ValidationError, match="is before start") as caught:
        SessionPost.model_validate(_session_post(**{interval: times}))
    assert caught.value.errors()[0]["loc"] == (interval,)


def test_given_an_unknown_identifier_type_when_parsed_then_it_is_rejected() -> None:
    with pytest.raises(ValidationError, match="evco-id"):
        SessionPost.model_validate(_session_post(user={"identifier-type": "email", "identifier": "a@b.c"}))


# --- Connector status, stations ----------------------------------------------------------------


def test_given_an_invalid_status_when_parsed_then_the_error_names_the_field() -> None:
    payload = fixture_json("connector-post-status.request.json")["connector-post-status"]
    payload["status"] = "Charging"
    with pytest.raises(ValidationError) as caught:
        ConnectorPostStatus.model_validate(payload)
    [error] = caught.value.errors()
    assert error["loc"] == ("status",)
    assert "'Available'" in error["msg"]


def test_given_snake_case_names_when_built_in_code_then_the_wire_form_is_hyphenated() -> None:
    message = ConnectorPostStatus(
        connector_id="DE*8PS*E123456", status=ConnectorStatus.OCCUPIED, partner_identifier="p" * 16
    )
    assert message.to_request() == {
        "connector-post-status": {
            "connector-id": "DE*8PS*E123456",
            "status": "Occupied",
            "partner-identifier": "p" * 16,
        }
    }


def test_given_the_station_example_when_parsed_then_web_and_partner_identifier_are_read() -> None:
    model = StationPost.model_validate(fixture_json("station-post.request.json")["station-post"])
    assert model.partner_identifier == "1"
    assert model.station.contact.homepage == "www.example.com"
    assert model.station.deleted
    assert [c.name for c in model.station.connectors] == ["Schuko", "Type2"]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("connectors", 0, "name"), "Type7"),
        (("connectors", 0, "id"), "1356"),
        (("open-hour-notes", 0, "days"), ["Mo"]),
        (("open-hour-notes", 0, "days"), ["Mon", "Fri"]),
        (("open-hour-notes", 0, "times"), ["7:30", "19:00"]),
        (("address", "country"), "Germany"),
    ],
)
def test_given_bad_station_fields_when_parsed_then_the_field_path_is_reported(
    path: tuple[Any, ...], value: Any
) -> None:
    payload = fixture_json("station-post.request.json")["station-post"]
    target = payload["station"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValidationError) as caught:
        StationPost.model_validate(payload)
    assert caught.value.errors()[0]["loc"][: len(path) + 1] == ("station", *path)


def test_given_a_type_e_connector_and_website_field_when_parsed_then_both_are_accepted() -> None:
    payload = fixture_json("station-post.request.json")["station-post"]
    payload["station"]["connectors"][0]["name"] = "TypeE"
    payload["station"]["contact"] = {"phone": "1", "website": "https://example.com"}
    model = StationPost.model_validate(payload)
    assert model.station.contact.homepage == "https://example.com"
    assert _dump(model)["station"]["contact"] == {"phone": "1", "website": "https://example.com"}


# --- RFID --------------------------------------------------------------------------------------


def test_given_uids_to_send_when_not_normalised_then_for_sending_refuses_them() -> None:
    with pytest.raises(InvalidUid, match="'abcdefab' is not normalised"):
        RfidPost.for_sending(["12345678", "abcdefab"], "p" * 16)
    message = RfidPost.for_sending(["12345678", "04523022AA4881"], "p" * 16)
    assert message.to_request()["rfid-post"]["rfids"] == ["12345678", "04523022AA4881"]


def test_given_a_received_rfid_post_with_a_non_hex_uid_when_parsed_then_it_is_rejected() -> None:
    with pytest.raises(ValidationError, match="not hexadecimal"):
        RfidPost.model_validate({"rfids": ["12:34"], "partner-identifier": "p"})


def test_given_an_rfid_verify_when_normalised_then_raw_is_kept_and_canonical_form_available() -> None:
    model = RfidVerify.model_validate({"rfid": "477bd22aa4880"})
    assert model.rfid == "477bd22aa4880"
    assert model.normalised_uid() == "0477BD22AA4880"


def test_given_session_start_with_evco_id_when_parsed_then_user_and_plugsurfing_connector_id_are_read() -> (
    None
):
    model = SessionStart.model_validate(fixture_json("session-start.request.json")["session-start"])
    assert model.user.identifier_type is IdentifierType.EVCO_ID
    assert model.connector_id == "1356"


# --- Responses and registry --------------------------------------------------------------------


def test_given_a_success_when_building_a_body_then_it_matches_the_spec_examples() -> None:
    assert result_body(ResultCode.SUCCESS) == fixture_json("session-post.response.json")
    stoppable = result_body(
        ResultCode.SUCCESS,
        session_start=SessionStartResult(session_id="abcdef-123456-abc123-456def", is_stoppable=True),
    )
    assert stoppable == fixture_json("session-start.response-stoppable.json")
    assert result_body(0, rfid={"processed": 2}) == fixture_json("rfid-post.response.json")


def test_given_a_session_post_failure_when_building_a_body_then_the_reason_part_is_included() -> None:
    body = result_body(ResultCode.SYSTEM_ERROR, reason="store unavailable")
    assert body == {"reason": "store unavailable", "result": {"code": 100, "message": "System error"}}
    parsed = response_model_for("session-post").model_validate(body)
    assert not parsed.is_success


def test_given_a_client_error_when_building_a_body_then_error_details_are_included() -> None:
    body = result_body(ResultCode.INVALID_REQUEST_FORMAT, error="session-post.connector-id: not an EVSE ID")
    assert body == {
        "result": {"code": 230, "message": "Invalid request format"},
        "error": "session-post.connector-id: not an EVSE ID",
    }
    assert result_body(ResultCode.EVSE_NOT_FOUND, "no such EVSE")["result"]["message"] == "no such EVSE"


def test_given_a_partner_response_with_an_unknown_code_when_parsed_then_it_does_not_fail() -> None:
    response = OioiResponse.model_validate({"result": {"code": 147, "message": "new"}, "error": {"x": 1}})
    assert response.result.result_code == UnknownResultCode(147)
    assert not response.is_success
    assert _dump(response) == {"result": {"code": 147, "message": "new"}, "error": {"x": 1}}


def test_given_the_registry_then_handled_messages_are_a_subset_of_all_oioi_messages() -> None:
    assert MESSAGE_MODELS.keys() < OIOI_MESSAGE_NAMES
    assert {
        "user-verify",
        "station-get-surface",
        "company-get-images",
        "vehicle-get-all",
    } <= OIOI_MESSAGE_NAMES
    assert len(OIOI_MESSAGE_NAMES) == 30
