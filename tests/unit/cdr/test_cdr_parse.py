"""Validation and normalisation of CDR payloads: exact numbers, UTC times, drivers, poison."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from cdrfactory import T0, drive, drive_session_text, oioi, session_post_text

from backbone.aws.attributes import to_attributes
from backbone.cdr.envelope import CdrEnvelope
from backbone.cdr.models import CdrStatus, DriverType, StoredCdr
from backbone.cdr.parse import InvalidCdr, minor_to_amount, parse_cdr


def test_given_the_spec_example_when_parsed_then_energy_and_cost_are_exact_decimals() -> None:
    cdr = parse_cdr(oioi(session_post_text(energy="16.5", cost="14.32")))

    assert cdr.energy_kwh == Decimal("16.5")
    assert str(cdr.energy_kwh) == "16.5"
    assert cdr.cost is not None
    assert (cdr.cost.amount, cdr.cost.currency) == (Decimal("14.32"), "EUR")


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("0.1", "0.1"),
        ("0.30000000000000004", "0.30000000000000004"),
        ("12345678.123456789", "12345678.123456789"),
    ],
)
def test_given_numbers_floats_cannot_hold_when_parsed_then_the_digits_survive(
    written: str, expected: str
) -> None:
    cdr = parse_cdr(oioi(session_post_text(energy=written, cost=written)))

    assert str(cdr.energy_kwh) == expected
    assert cdr.cost is not None
    assert str(cdr.cost.amount) == expected
    assert cdr.to_item()["energyKwh"] == Decimal(expected)


def test_given_offsets_when_parsed_then_times_are_stored_in_utc_and_raw_keeps_the_offset() -> None:
    raw = session_post_text()
    item = parse_cdr(oioi(raw)).to_item()

    assert item["startedAt"] == "2026-03-01T10:00:00.000Z"
    assert item["stoppedAt"] == "2026-03-01T16:00:00.000Z"
    assert item["chargingStoppedAt"] == "2026-03-01T15:00:00.000Z"
    assert item["raw"] == raw
    assert "+01:00" in item["raw"]


def test_given_the_whole_request_body_when_parsed_then_it_is_the_same_cdr_as_the_inner_object() -> None:
    inner = session_post_text()
    wrapped = '{"session-post": ' + inner + "}"

    assert parse_cdr(oioi(wrapped)).payload_hash == parse_cdr(oioi(inner)).payload_hash


def test_given_no_session_stop_when_parsed_then_the_cdr_is_ongoing() -> None:
    cdr = parse_cdr(oioi(session_post_text(stop=None, charging_stop=None, cost=None)))

    assert cdr.status is CdrStatus.ONGOING
    assert cdr.stopped_at is None
    assert cdr.progress.startswith("0|")


@pytest.mark.parametrize(
    ("identifier_type", "identifier", "driver_key"),
    [
        ("rfid", "4523022aa4881", "rfid#04523022AA4881"),
        ("rfid", "not-hex", "rfid#NOT-HEX"),
        ("evco-id", "de-8ps-c0cd0c002-q", "evco-id#DE8PSC0CD0C002Q"),
        ("username", "Jane.Doe", "username#Jane.Doe"),
    ],
)
def test_given_a_driver_identifier_when_parsed_then_it_has_one_spelling_for_the_index(
    identifier_type: str, identifier: str, driver_key: str
) -> None:
    cdr = parse_cdr(oioi(session_post_text(uid=identifier, identifier_type=identifier_type)))

    assert cdr.driver is not None
    assert cdr.driver.key == driver_key


def test_given_a_complete_drive_session_when_parsed_then_wh_and_minor_units_become_exact_kwh_and_money() -> (
    None
):
    cdr = parse_cdr(
        drive(drive_session_text(energy_wh=1840, minor_incl=1432, minor_excl=1146, currency="EUR"))
    )

    assert cdr.status is CdrStatus.FINAL
    assert cdr.energy_kwh == Decimal("1.84")
    assert str(cdr.energy_kwh) == "1.840"
    assert cdr.cost is not None
    assert (cdr.cost.amount, cdr.cost.amount_excl_vat, cdr.cost.currency) == (
        Decimal("14.32"),
        Decimal("11.46"),
        "EUR",
    )
    assert cdr.cost.vat_percent == Decimal("25")
    assert cdr.started_at == datetime(2026, 2, 18, 10, 41, 39, 148000, tzinfo=UTC)
    assert cdr.stopped_at == datetime(2026, 2, 18, 10, 56, 39, 148000, tzinfo=UTC)
    assert cdr.evse_id == "NO*XXX*EZzZ220218114136937169*1"
    assert cdr.driver is not None
    assert (cdr.driver.type, cdr.driver.id) == (
        DriverType.DRIVE_USER,
        "ourTestUser",
    )
    assert cdr.balance_status == "PAID"


@pytest.mark.parametrize(
    ("minor", "currency", "amount"),
    [
        (1432, "EUR", "14.32"),
        (5, "EUR", "0.05"),
        (500, "JPY", "500"),
        (1234, "KWD", "1.234"),
        (0, "NOK", "0.00"),
    ],
)
def test_given_minor_units_when_converted_then_the_currency_exponent_applies(
    minor: int, currency: str, amount: str
) -> None:
    assert minor_to_amount(minor, currency) == Decimal(amount)
    assert str(minor_to_amount(minor, currency)) == amount


def test_given_a_drive_session_without_user_when_parsed_then_it_has_no_driver() -> None:
    assert parse_cdr(drive(drive_session_text(), user_id=None)).driver is None


def test_given_a_started_drive_session_when_parsed_then_it_is_an_ongoing_cdr() -> None:
    cdr = parse_cdr(drive(drive_session_text(status="STARTED", balance=None, duration="PT5M")))

    assert cdr.status is CdrStatus.ONGOING
    assert cdr.stopped_at is None
    assert cdr.energy_kwh is None


def test_given_a_payment_settling_when_the_session_is_sent_again_then_the_hash_is_the_same() -> None:
    processing = parse_cdr(drive(drive_session_text(balance="PROCESSING", receipt=False)))
    paid = parse_cdr(drive(drive_session_text(balance="PAID", receipt=True), received=60))

    assert processing.payload_hash == paid.payload_hash


def test_given_the_same_instant_with_another_offset_or_number_spelling_then_the_hash_is_the_same() -> None:
    one = session_post_text(energy="16.5", stop="2026-03-01T17:00:00+01:00")
    other = session_post_text(energy="16.50", stop="2026-03-01T16:00:00Z")

    assert parse_cdr(oioi(one)).payload_hash == parse_cdr(oioi(other)).payload_hash


def test_given_a_different_energy_then_the_hash_differs() -> None:
    assert (
        parse_cdr(oioi(session_post_text(energy="16.5"))).payload_hash
        != parse_cdr(oioi(session_post_text(energy="16.6"))).payload_hash
    )


def test_given_a_stored_item_when_read_back_then_it_is_the_same_cdr() -> None:
    cdr = parse_cdr(oioi(session_post_text()))

    assert StoredCdr.from_item(cdr.to_item()).cdr == cdr


@pytest.mark.parametrize(
    ("envelope", "reason"),
    [
        (oioi("not json"), "not valid JSON"),
        (oioi("[1, 2]"), "JSON object"),
        (oioi(session_post_text(energy="NaN")), "not valid JSON"),
        (oioi(session_post_text(session_id=" ")), "session-id: must not be empty"),
        (oioi(session_post_text(session_id="S\\u0000")), "control characters"),
        (oioi(session_post_text(session_id="x" * 513)), "at most 512 bytes"),
        (oioi(session_post_text(session_id="\\ud800")), "lone surrogate"),
        (oioi('{"session-id": "S-1"}'), "partner-identifier"),
        (oioi("[" * 40 + "]" * 40), "levels deep; at most 32"),
        (oioi('"' + '\\\\"' * 20000), "not valid JSON"),
        (oioi(session_post_text(), partner="acme#1"), "must not contain '#'"),
        (drive(drive_session_text(status="FAILED")), "FAILED session is not a CDR"),
        (drive(drive_session_text(unit="MWH")), "energy unit"),
        (drive(drive_session_text(energy_wh="18.5")), "energy.value"),
        (drive(drive_session_text(duration="soon")), "duration"),
        (drive(drive_session_text(start="2026-02-18T10:41:39")), "UTC offset"),
        (drive(drive_session_text(currency="euro")), "currency"),
    ],
)
def test_given_a_poison_payload_when_parsed_then_invalid_cdr_names_the_reason(
    envelope: CdrEnvelope, reason: str
) -> None:
    with pytest.raises(InvalidCdr, match=reason):
        parse_cdr(envelope)


def test_given_a_drive_raw_with_float_energy_in_text_then_it_is_refused_not_rounded() -> None:
    raw = json.loads(drive_session_text())
    raw["energy"]["value"] = 1840.4
    with pytest.raises(InvalidCdr):
        parse_cdr(drive(json.dumps(raw), received=T0))


# --- intake policy: sloppy but billable posts are stored, normalised or flagged --------------


@pytest.mark.parametrize(
    ("sloppy", "clean"),
    [
        (session_post_text(currency="eur"), session_post_text()),
        (session_post_text(currency=" Eur "), session_post_text()),
        (session_post_text(energy='"16.5"'), session_post_text()),
        (session_post_text(energy='" 16.50 "'), session_post_text()),
        (session_post_text(energy="16.500"), session_post_text()),
        (session_post_text(cost='"14.32"'), session_post_text()),
        (session_post_text(evse="DE8PS*ETABCD*1"), session_post_text()),
        (session_post_text(session_id=" S-1 "), session_post_text()),
    ],
)
def test_given_a_sloppy_spelling_with_one_meaning_then_it_is_the_same_cdr_and_never_a_correction(
    sloppy: str, clean: str
) -> None:
    read, expected = parse_cdr(oioi(sloppy)), parse_cdr(oioi(clean))

    assert read.anomalies == ()
    assert (read.session_id, read.energy_kwh, read.cost, read.evse_id) == (
        expected.session_id,
        expected.energy_kwh,
        expected.cost,
        expected.evse_id,
    )
    assert read.payload_hash == expected.payload_hash
    assert read.raw == sloppy  # the partner's text is what we keep


def test_given_a_numeric_session_id_then_it_names_the_same_session_as_its_text() -> None:
    numeric = session_post_text().replace('"session-id": "S-1"', '"session-id": 12345')

    assert parse_cdr(oioi(numeric)).session_id == "12345"


@pytest.mark.parametrize(
    ("text", "field", "left_out"),
    [
        (session_post_text(energy='"1_6.5"'), "energy-consumed", "energy_kwh"),
        (session_post_text(energy='"16,5"'), "energy-consumed", "energy_kwh"),
        (session_post_text(energy="-1"), "energy-consumed", "energy_kwh"),
        (session_post_text(energy="1e9"), "energy-consumed", "energy_kwh"),
        (session_post_text(energy="1e-200"), "energy-consumed", "energy_kwh"),
        (session_post_text(energy="1." + "1" * 40), "energy-consumed", "energy_kwh"),
        (session_post_text(energy="true"), "energy-consumed", "energy_kwh"),
        (session_post_text(cost="1e999999"), "calculated-cost.amount", "cost"),
        (session_post_text(evse="x" * 2000), "connector-id", "evse_id"),
        (session_post_text(uid="A" * 50_000), "user.identifier", "driver"),
        (session_post_text(identifier_type="uid"), "user.identifier-type", "driver"),
        (session_post_text(stop="9999-12-31T23:59:59-01:00"), "session-interval.stop", "stopped_at"),
    ],
)
def test_given_a_field_without_one_certain_meaning_then_it_is_left_out_flagged_and_the_cdr_kept(
    text: str, field: str, left_out: str
) -> None:
    cdr = parse_cdr(oioi(text))

    assert getattr(cdr, left_out) is None
    assert any(anomaly.startswith(field) for anomaly in cdr.anomalies), cdr.anomalies
    item = cdr.to_item()
    assert item["needsReview"] == "OPEN"
    assert item["raw"] == text
    assert StoredCdr.from_item(item).cdr == cdr


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (session_post_text(currency="euro"), "calculated-cost.currency"),
        (session_post_text(stop="2026-03-01T09:00:00+01:00"), "session-interval: stop"),
        (session_post_text(evse="not-an-evse"), "connector-id"),
        (session_post_text(cost="-5"), "calculated-cost.amount: negative"),
        (session_post_text(start="1970-01-01T00:00:00Z"), "session-interval.start"),
    ],
)
def test_given_a_doubtful_value_then_it_is_kept_as_sent_and_flagged(text: str, field: str) -> None:
    cdr = parse_cdr(oioi(text))

    assert any(anomaly.startswith(field) for anomaly in cdr.anomalies), cdr.anomalies
    assert cdr.is_final  # a stop was sent, even a doubtful one


def test_given_a_stop_that_cannot_be_read_then_the_cdr_is_still_final() -> None:
    cdr = parse_cdr(oioi(session_post_text(stop="yesterday evening")))

    assert cdr.status is CdrStatus.FINAL
    assert cdr.stopped_at is None
    assert cdr.anomalies


def test_given_hostile_numbers_in_an_extra_field_then_the_hash_is_computed_without_expanding_them() -> None:
    poison = session_post_text(extra={})[:-1] + ', "x": [' + ", ".join(["1e999999"] * 400) + "]}"

    cdr = parse_cdr(oioi(poison))

    assert cdr.anomalies == ()
    assert len(cdr.payload_hash) == 64


@pytest.mark.parametrize("start", ["0001-01-01T00:00:00+01:00", "2026-03-01T11:00:00", "1700000000"])
def test_given_a_start_that_cannot_be_read_then_the_cdr_is_flagged_and_indexed_by_its_stop(
    start: str,
) -> None:
    cdr = parse_cdr(oioi(session_post_text(start=start)))

    assert any(anomaly.startswith("session-interval.start") for anomaly in cdr.anomalies)
    assert (
        cdr.started_at == cdr.stopped_at == datetime(2026, 3, 1, 16, tzinfo=UTC)
    )  # settlement still finds it


def test_given_neither_start_nor_stop_readable_then_the_cdr_is_indexed_by_its_receipt() -> None:
    cdr = parse_cdr(oioi(session_post_text(start="soon", stop=None), received=T0))

    assert cdr.started_at == T0
    assert cdr.status is CdrStatus.ONGOING


@pytest.mark.parametrize(
    ("respelled", "original"),
    [
        (session_post_text(uid="4523022aa4881"), session_post_text(uid="04523022AA4881")),
        (session_post_text(identifier_type="RFID"), session_post_text()),
        (session_post_text(energy="0E-200"), session_post_text(energy="0")),
        (
            session_post_text(charging_start=None, charging_stop=None),
            session_post_text(charging_start=None, charging_stop=None)[:-1] + ', "charging-interval": {}}',
        ),
    ],
)
def test_given_the_same_cdr_spelled_differently_then_it_hashes_the_same(
    respelled: str, original: str
) -> None:
    assert parse_cdr(oioi(respelled)).payload_hash == parse_cdr(oioi(original)).payload_hash


@pytest.mark.parametrize("zero", ["0E-200", "-0.0e-200", "0e+999", '"0e-500"'])
def test_given_a_zero_with_any_exponent_then_it_is_stored_as_zero(zero: str) -> None:
    cdr = parse_cdr(oioi(session_post_text(energy=zero, cost=zero)))

    assert cdr.energy_kwh == 0
    assert cdr.energy_kwh.as_tuple().exponent == 0
    assert cdr.cost is not None
    assert cdr.cost.amount.as_tuple().exponent == 0
    to_attributes(cdr.to_item())  # DynamoDB's serializer accepts every number
