"""EVSE/EVCO ids, UID normalisation and the little-endian ↔ big-endian bridge."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backbone.oioi.identifiers import (
    UID_LENGTHS,
    InvalidEvseId,
    InvalidKeyIdentifier,
    InvalidUid,
    is_contract_id,
    is_evco_id,
    is_evse_id,
    is_normalised_uid,
    key_identifier_to_uid,
    normalise_uid,
    uid_to_key_identifier,
    validate_evse_id,
)

HEX = "0123456789abcdefABCDEF"
hex_text = st.text(alphabet=HEX, min_size=1, max_size=20)
# Key identifiers of real chips: 4, 7 or 10 bytes (ISO 14443 single, double, triple size).
chip_bytes = st.sampled_from([4, 7, 10]).flatmap(lambda n: st.binary(min_size=n, max_size=n))

# --- EVSE / EVCO -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["DE*8PS*E123456", "DE*8PS*ETABCD*1", "DE*123*E12345*A"])
def test_given_spec_evse_ids_when_validated_then_they_pass(value: str) -> None:
    assert is_evse_id(value)
    assert validate_evse_id(value) == value


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("DE*8PSE1", "DE*8PS*E1"),  # the pattern makes the second `*` optional
        ("DE8PS*E123", "DE*8PS*E123"),  # the glossary's prose makes the first one optional too
        ("DE8PSE123", "DE*8PS*E123"),
        ("de*8ps*e1*a", "DE*8PS*E1*A"),  # eMI3 ids are case-insensitive
        (" DE*8PS*E1 ", "DE*8PS*E1"),
    ],
)
def test_given_another_spelling_of_an_evse_id_then_it_validates_to_the_one_spelling(
    written: str, canonical: str
) -> None:
    assert validate_evse_id(written) == canonical


@pytest.mark.parametrize(
    "value",
    ["1356", "DE*8PS*123456", "DE*8PS*E", "DE*8PS*E" + "1" * 31, "DE**8PS*E1", "DE*8PS*E1-2", "D*8PS*E1"],
)
def test_given_non_evse_ids_when_validated_then_the_error_names_the_value(value: str) -> None:
    assert not is_evse_id(value)
    with pytest.raises(InvalidEvseId, match="is not an EVSE ID"):
        validate_evse_id(value)


@pytest.mark.parametrize(
    "value", ["DE*8PS*123456*7", "DE-8PS-123456-X", "DE8PS1234567", "DE*8PS*CD0C00*2", "de*8ps*abc123*0"]
)
def test_given_glossary_evco_ids_when_validated_then_they_pass(value: str) -> None:
    assert is_evco_id(value)


@pytest.mark.parametrize(
    "value",
    [
        "DE-8PS-C0CD0C002-Q",  # Drive API contract id: longer eMI3 form
        "DE|8PS|123456|7",  # the glossary's `[\*|-]` does not mean a literal bar
        "DE*8PS*123456*|",
        "DE*8PS*123456*x",
        "DE*8PS*12345*7",
    ],
)
def test_given_non_glossary_evco_ids_when_validated_then_they_are_rejected(value: str) -> None:
    assert not is_evco_id(value)


@pytest.mark.parametrize(
    "value", ["DE-8PS-C0CD0C002-Q", "DE-9FS-C045DS363-E", "DE8PSC0CD0C002Q", "DE*8PS*123456*7"]
)
def test_given_partner_api_contract_ids_when_checked_leniently_then_they_pass(value: str) -> None:
    assert is_contract_id(value)


@pytest.mark.parametrize("value", ["", "DE-8PS-C0CD0C00-", "DE-8PS-C0CD0C0021-Q", "27b89043"])
def test_given_garbage_when_checked_as_contract_id_then_it_fails(value: str) -> None:
    assert not is_contract_id(value)


# --- UIDs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "uid"),
    [
        ("04523022AA4881", "04523022AA4881"),  # staging test UIDs
        ("0477bd22aa4880", "0477BD22AA4880"),
        ("  abcdefab\n", "ABCDEFAB"),
        ("1", "00000001"),
        ("123456789", "00000123456789"),
        ("123456789012345", "00000123456789012345"),
    ],
)
def test_given_raw_uids_when_normalised_then_upper_case_and_left_padded(raw: str, uid: str) -> None:
    assert normalise_uid(raw) == uid
    assert is_normalised_uid(uid)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("04:52:30:22", "not hexadecimal"),
        ("0452 3022", "not hexadecimal"),
        ("0x12345678", "not hexadecimal"),
        ("١٢٣", "not hexadecimal"),  # Unicode digits are not hex digits
        ("1" * 21, "at most 20"),
    ],
)
def test_given_invalid_uids_when_normalised_then_the_error_names_value_and_rule(
    raw: str, reason: str
) -> None:
    with pytest.raises(InvalidUid, match=reason) as caught:
        normalise_uid(raw)
    assert repr(raw) in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("value", ["abcdefab", "1234567", "123456789", "", "0477BD22AA48800"])
def test_given_unnormalised_text_when_checked_then_it_is_not_a_normalised_uid(value: str) -> None:
    assert not is_normalised_uid(value)


@given(hex_text)
def test_given_any_hex_when_normalised_then_form_is_canonical_and_value_kept(raw: str) -> None:
    uid = normalise_uid(raw)
    assert len(uid) in UID_LENGTHS
    assert uid == uid.upper()
    assert set(uid) <= set("0123456789ABCDEF")
    assert uid.endswith(raw.upper())  # padding only on the left
    assert int(uid, 16) == int(raw, 16)
    assert normalise_uid(uid) == uid  # idempotent
    assert is_normalised_uid(uid)


@given(st.text(min_size=1, max_size=20).filter(lambda s: s.strip() and any(c not in HEX for c in s.strip())))
def test_given_text_with_a_non_hex_character_when_normalised_then_it_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidUid):
        normalise_uid(raw)


@given(st.text(alphabet=HEX, min_size=21, max_size=40))
def test_given_hex_longer_than_20_when_normalised_then_it_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidUid, match="at most 20"):
        normalise_uid(raw)


# --- Byte order --------------------------------------------------------------------------------


def test_given_the_emp_api_example_when_converted_then_bytes_are_reversed() -> None:
    assert key_identifier_to_uid("e0e03336") == "3633E0E0"
    assert uid_to_key_identifier("3633E0E0") == "e0e03336"


def test_given_the_charging_keys_reservation_uid_when_converted_then_seven_bytes_are_reversed() -> None:
    assert key_identifier_to_uid("7d009d67181896") == "961818679D007D"
    assert uid_to_key_identifier("961818679D007D") == "7d009d67181896"


def test_given_a_short_chip_id_when_converted_then_padding_becomes_trailing_zero_bytes() -> None:
    assert key_identifier_to_uid("abcdef") == "00EFCDAB"
    assert uid_to_key_identifier("00EFCDAB") == "abcdef00"
    assert uid_to_key_identifier("abcdef") == "efcdab00"  # a raw UID is normalised first


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("abc", "odd number"),
        ("", "not hexadecimal"),
        ("BnZd3qp87z", "not hexadecimal"),
        ("00" * 11, "longer"),
    ],
)
def test_given_bad_key_identifiers_when_converted_then_a_clear_error_is_raised(raw: str, reason: str) -> None:
    with pytest.raises(InvalidKeyIdentifier, match=reason):
        key_identifier_to_uid(raw)


@given(hex_text)
def test_given_any_uid_when_converted_to_key_and_back_then_it_is_unchanged(raw: str) -> None:
    uid = normalise_uid(raw)
    key = uid_to_key_identifier(uid)
    assert key == key.lower()
    assert len(key) == len(uid)
    assert key_identifier_to_uid(key) == uid


@given(chip_bytes)
def test_given_a_real_chip_key_when_converted_to_uid_and_back_then_it_is_unchanged(chip: bytes) -> None:
    key = chip.hex()
    uid = key_identifier_to_uid(key.upper())
    assert uid == chip[::-1].hex().upper()
    assert uid_to_key_identifier(uid) == key
