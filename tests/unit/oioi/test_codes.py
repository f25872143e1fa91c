"""Result codes: the full table of the newer spec, and the general-code acceptance rule."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backbone.oioi.codes import (
    CodeFamily,
    ResultCode,
    UnknownResultCode,
    accepts,
    family_of,
    general_of,
    generalisations,
    is_success,
    parse_code,
)

from ._spec import fixture_text


def _spec_table() -> tuple[dict[int, str], dict[str, str]]:
    """(code → first line of its description, family pattern → family title) from the verbatim
    table: each code or family line is followed by its description; further lines are notes."""
    lines = [line.strip() for line in fixture_text("result-codes.txt").splitlines() if line.strip()]
    start = lines.index("Description") + 1
    codes: dict[int, str] = {}
    families: dict[str, str] = {}
    for key, text in zip(lines[start:], lines[start + 1 :], strict=False):
        if re.fullmatch(r"\d{3}", key):
            codes[int(key)] = text
        elif re.fullmatch(r"\dxx", key):
            families[key] = text
    return codes, families


SPEC_CODES, SPEC_FAMILIES = _spec_table()


def test_given_the_newer_table_when_read_then_every_code_including_the_added_ones_is_found() -> None:
    assert {189, 194, 322, 323, 330} <= SPEC_CODES.keys()
    assert len(SPEC_CODES) == 60  # lines of three digits in the table, counted with grep


@pytest.mark.parametrize(("value", "text"), sorted(SPEC_CODES.items()))
def test_given_a_code_of_the_spec_table_when_looked_up_then_it_exists_with_the_spec_message(
    value: int, text: str
) -> None:
    code = parse_code(value)
    assert isinstance(code, ResultCode)
    # Responses in the spec write "Success." with a dot; the table writes "Success".
    assert code.message == ("Success." if value == 0 else text)


def test_given_our_enum_when_compared_with_the_table_then_it_defines_no_code_the_spec_lacks() -> None:
    assert {int(code) for code in ResultCode} == SPEC_CODES.keys()


def test_given_the_table_families_when_compared_then_titles_match() -> None:
    assert {family.value: family.title for family in CodeFamily if family is not CodeFamily.UNKNOWN} == (
        SPEC_FAMILIES
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SUCCESS", 0),
        ("SESSION_STARTED", 11),
        ("SESSION_AUTHORIZED", 12),
        ("SYSTEM_ERROR", 100),
        ("DATABASE_ERROR", 101),
        ("SYSTEM_TIMEOUT", 102),
        ("ENTITY_NOT_FOUND", 180),
        ("EVSE_NOT_FOUND", 181),
        ("SESSION_NOT_FOUND", 182),
        ("EVCO_ID_ERROR", 190),
        ("EVCO_ID_NOT_FOUND", 191),
        ("EVCO_ID_LOCKED", 192),
        ("EVCO_ID_NO_PAYMENT_METHOD", 193),
        ("CLIENT_REQUEST_ERROR", 200),
        ("INVALID_API_KEY", 210),
        ("INVALID_PARTNER_IDENTIFIER", 211),
        ("API_KEY_NOT_ALLOWED", 220),
        ("INVALID_REQUEST_FORMAT", 230),
    ],
)
def test_given_a_member_name_other_code_imports_when_used_then_it_has_the_agreed_value(
    name: str, value: int
) -> None:
    assert ResultCode[name] == value


@pytest.mark.parametrize(
    ("expected", "received"),
    [
        (ResultCode.SESSION_STARTED, 0),  # the spec's own example
        (ResultCode.SESSION_AUTHORIZED, 0),
        (ResultCode.AUTHENTICATION_FAILED, 144),  # any 14x where 14x is expected
        (ResultCode.AUTHENTICATION_FAILED, 100),  # ... and 100 too
        (ResultCode.AUTH_USER_TOKEN_INVALID, 140),
        (ResultCode.AUTH_USER_TOKEN_INVALID, 100),
        (ResultCode.EVCO_ID_LOCKED, 190),
        (ResultCode.INVALID_PARTNER_IDENTIFIER, 210),
        (ResultCode.INVALID_PARTNER_IDENTIFIER, 200),
        (ResultCode.EVSE_TIMEOUT, 300),
        (ResultCode.INVALID_CVC, 870),
        (ResultCode.INVALID_CVC, 800),
        (ResultCode.AUTHENTICATION_FAILED, 147),  # a 14x the table does not know yet
        (ResultCode.SUCCESS, 11),
    ],
)
def test_given_an_expected_code_when_a_more_general_or_specific_one_arrives_then_it_is_accepted(
    expected: ResultCode, received: int
) -> None:
    assert accepts(expected, received)
    assert expected.accepts(received)


@pytest.mark.parametrize(
    ("expected", "received"),
    [
        (ResultCode.SESSION_STARTED, 12),  # siblings are different outcomes
        (ResultCode.AUTH_INVALID_EMAIL, 145),
        (ResultCode.SUCCESS, 100),
        (ResultCode.EVSE_NOT_FOUND, 200),
        (ResultCode.EVSE_NOT_FOUND, 300),
        (ResultCode.HUB_TIMEOUT, 100),
    ],
)
def test_given_an_expected_code_when_an_unrelated_one_arrives_then_it_is_not_accepted(
    expected: ResultCode, received: int
) -> None:
    assert not accepts(expected, received)


def test_given_codes_when_asking_for_their_general_code_then_the_tree_is_walked_upwards() -> None:
    assert general_of(145) is ResultCode.AUTHENTICATION_FAILED
    assert generalisations(145) == (ResultCode.AUTHENTICATION_FAILED, ResultCode.SYSTEM_ERROR)
    assert general_of(ResultCode.SESSION_STARTED) is ResultCode.SUCCESS
    assert ResultCode.EVSE_RESERVATION_NOT_SUPPORTED.general is ResultCode.OPERATOR_SYSTEM_ERROR
    assert ResultCode.SYSTEM_ERROR.general is None


@pytest.mark.parametrize(
    ("value", "family"),
    [
        (0, CodeFamily.SUCCESS),
        (12, CodeFamily.SUCCESS),
        (193, CodeFamily.PLUGSURFING),
        (230, CodeFamily.CLIENT),
        (323, CodeFamily.OPERATOR),
        (402, CodeFamily.HUB),
        (880, CodeFamily.PAYMENT),
        (950, CodeFamily.UNKNOWN),
    ],
)
def test_given_a_code_when_classified_then_its_family_follows_the_hundreds_digit(
    value: int, family: CodeFamily
) -> None:
    assert family_of(value) is family


def test_given_only_0xx_codes_when_checked_then_they_alone_are_success() -> None:
    assert ResultCode.SUCCESS.is_success
    assert ResultCode.SESSION_AUTHORIZED.is_success
    assert not ResultCode.SYSTEM_ERROR.is_success
    assert is_success(13)  # unknown, but still a success
    assert not is_success(999)


def test_given_an_unknown_code_from_a_partner_when_parsed_then_it_is_kept_with_its_family() -> None:
    code = parse_code(147)
    assert code == UnknownResultCode(147)
    assert int(code) == 147
    assert code.family is CodeFamily.PLUGSURFING
    assert code.general is ResultCode.AUTHENTICATION_FAILED
    assert not code.is_success
    assert "147" in code.message


def test_given_success_when_parsed_then_the_falsy_zero_is_still_the_enum_member() -> None:
    assert parse_code(0) is ResultCode.SUCCESS
    assert parse_code("011") is ResultCode.SESSION_STARTED


@pytest.mark.parametrize("raw", [True, 1.5, None, "abc", -1, 1000])
def test_given_a_non_code_when_parsed_then_a_value_error_names_it(raw: object) -> None:
    with pytest.raises(ValueError, match="result code"):
        parse_code(raw)


@given(st.integers(min_value=0, max_value=999), st.integers(min_value=0, max_value=999))
def test_given_any_two_codes_when_checked_then_acceptance_is_symmetric_and_reflexive(a: int, b: int) -> None:
    assert accepts(a, a)
    assert accepts(a, b) == accepts(b, a)
    if accepts(a, b) and a != b:
        assert family_of(a) is family_of(b)
