"""Reading request bodies: encoding, JSON, envelope, and which messages an endpoint accepts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backbone.errors import DomainError
from backbone.oioi.codes import ResultCode
from backbone.oioi.models import RfidVerify, SessionPost
from backbone.oioi.wire import (
    InvalidMessage,
    MalformedMessage,
    UnknownMessage,
    UnsupportedMessage,
    loads,
    parse_message,
)

from ._spec import fixture_text


def test_given_a_spec_body_as_bytes_when_parsed_then_the_message_is_validated() -> None:
    parsed = parse_message(fixture_text("session-post.request.json").encode())
    assert parsed.name == "session-post"
    assert isinstance(parsed.message, SessionPost)
    assert parsed.message.energy_consumed == Decimal("16.5")


def test_given_json_floats_when_loaded_then_they_are_exact_decimals() -> None:
    assert loads(b'{"a": 14.32, "b": 2}') == {"a": Decimal("14.32"), "b": 2}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"rfid-verify": {"rfid": "\xff"}}', "not UTF-8"),
        ('\ufeff{"rfid-verify": {"rfid": "1"}}'.encode(), "not valid JSON"),
        (b'{"rfid-verify": ', "not valid JSON"),
        (b'{"session-post": {"energy-consumed": NaN}}', "NaN is not a JSON number"),
        (b"[]", "exactly one message"),
        (b'{"rfid-verify": {"rfid": "1"}, "rfid-post": {}}', "exactly one message"),
        (b'{"rfid-verify": "12345678"}', "must be a JSON object"),
    ],
)
def test_given_a_malformed_body_when_parsed_then_code_230_with_the_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason) as caught:
        parse_message(raw)
    assert caught.value.code is ResultCode.INVALID_REQUEST_FORMAT
    assert caught.value.http_status == 400


def test_given_a_name_oioi_does_not_define_when_parsed_then_it_is_an_unknown_message() -> None:
    with pytest.raises(UnknownMessage, match="'rfid-delete'") as caught:
        parse_message(b'{"rfid-delete": {}}')
    assert caught.value.code is ResultCode.INVALID_REQUEST_FORMAT


@pytest.mark.parametrize("body", [b'{"user-verify": {}}', b'{"session-post": {}}'])
def test_given_a_known_message_this_endpoint_does_not_offer_when_parsed_then_code_220(body: bytes) -> None:
    with pytest.raises(UnsupportedMessage) as caught:
        parse_message(body, accepted=frozenset({"rfid-verify"}))
    assert caught.value.code is ResultCode.API_KEY_NOT_ALLOWED
    assert caught.value.http_status == 400
    assert isinstance(caught.value, DomainError)


def test_given_an_accepted_message_when_parsed_with_a_narrowed_set_then_it_passes() -> None:
    parsed = parse_message(
        b'{"rfid-verify": {"rfid": "04523022AA4881"}}', accepted=frozenset({"rfid-verify"})
    )
    assert isinstance(parsed.message, RfidVerify)


def test_given_invalid_fields_when_parsed_then_every_error_names_the_hyphenated_path() -> None:
    body = b'{"connector-post-status": {"connector-id": "1356", "status": "Charging"}}'
    with pytest.raises(InvalidMessage) as caught:
        parse_message(body)
    errors = caught.value.errors
    assert any(e.startswith("connector-post-status.connector-id:") and "EVSE ID" in e for e in errors)
    assert any(e.startswith("connector-post-status.status:") for e in errors)
    assert any(e.startswith("connector-post-status.partner-identifier:") for e in errors)
    assert caught.value.code is ResultCode.INVALID_REQUEST_FORMAT
