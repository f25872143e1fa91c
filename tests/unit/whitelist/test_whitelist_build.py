"""Building the rfid-post body: normalised, valid, unique, sorted UIDs, never an invalid one."""

from __future__ import annotations

import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

from backbone.oioi.identifiers import InvalidUid, normalise_uid
from backbone.whitelist.build import WhitelistBuilder, build_whitelist

PARTNER = "partner-identifier-0001"


def sent_uids(pages: list[list[str]]) -> list[str]:
    body = json.loads(build_whitelist(pages, PARTNER).payload)
    return body["rfid-post"]["rfids"]


def test_given_lower_case_and_short_uids_when_built_then_upper_case_and_left_padded_to_8_14_20() -> None:
    uids = sent_uids([["abcd", "04523022aa4881", "1234567890abcdef", "4a"]])

    assert uids == ["0000004A", "00001234567890ABCDEF", "0000ABCD", "04523022AA4881"]
    assert {len(uid) for uid in uids} <= {8, 14, 20}


def test_given_invalid_uids_when_built_then_they_are_skipped_with_reasons_and_never_sent() -> None:
    built = build_whitelist([["3633E0E0", "not-hex", "", "0" * 21, "12 34"]], PARTNER)

    assert list(built.uids()) == ["3633E0E0"]
    assert built.invalid_count == 4
    assert {skipped.uid for skipped in built.skipped} == {"not-hex", "", "0" * 21, "12 34"}
    assert all(skipped.kind == "invalid" and skipped.reason for skipped in built.skipped)
    assert b"not-hex" not in built.payload


def test_given_the_same_uid_in_two_spellings_across_pages_when_built_then_it_is_sent_once() -> None:
    built = build_whitelist([["abcd1234", "3633E0E0"], ["ABCD1234"], ["abcd1234"]], PARTNER)

    assert list(built.uids()) == ["3633E0E0", "ABCD1234"]
    assert built.duplicate_count == 2
    assert [skipped.kind for skipped in built.skipped] == ["duplicate", "duplicate"]


def test_given_a_short_uid_that_prefixes_a_longer_one_when_built_then_text_order_is_kept() -> None:
    uids = sent_uids([["FFFFFFFF000000", "FFFFFFFF", "0000000A", "00000000FF0000"]])

    assert uids == sorted(uids) == ["00000000FF0000", "0000000A", "FFFFFFFF", "FFFFFFFF000000"]


def test_given_a_list_when_built_then_the_hash_is_sha256_of_the_sorted_newline_joined_uids() -> None:
    built = build_whitelist([["BBBBBBBB", "aaaaaaaa"]], PARTNER)

    assert built.sha256 == hashlib.sha256(b"AAAAAAAA\nBBBBBBBB").hexdigest()
    assert built.count == 2


def test_given_no_keys_when_built_then_the_body_is_a_valid_empty_rfid_post() -> None:
    built = build_whitelist([], PARTNER)

    assert json.loads(built.payload) == {"rfid-post": {"rfids": [], "partner-identifier": PARTNER}}
    assert (built.count, list(built.uids())) == (0, [])
    assert built.sha256 == hashlib.sha256(b"").hexdigest()


def test_given_many_invalid_uids_when_built_then_the_sample_is_capped_and_the_count_complete() -> None:
    builder = WhitelistBuilder(PARTNER, sample_limit=3)
    builder.add_page([f"bad-{index}" for index in range(10)])

    built = builder.finish()

    assert (built.invalid_count, len(built.skipped)) == (10, 3)


def test_given_a_partner_identifier_with_quotes_when_built_then_the_body_stays_valid_json() -> None:
    built = build_whitelist([["3633E0E0"]], 'quote"and\\backslash-partner')

    assert json.loads(built.payload)["rfid-post"]["partner-identifier"] == 'quote"and\\backslash-partner'


hex_uids = st.text(alphabet="0123456789abcdefABCDEF", min_size=1, max_size=20)
raw_uids = st.one_of(hex_uids, st.text(max_size=22))


@given(st.lists(st.lists(raw_uids, max_size=30), max_size=6))
def test_property_the_body_is_exactly_the_sorted_unique_normalised_valid_uids(pages: list[list[str]]) -> None:
    expected = set()
    invalid = 0
    for page in pages:
        for raw in page:
            try:
                expected.add(normalise_uid(raw))
            except InvalidUid:
                invalid += 1

    built = build_whitelist(pages, PARTNER)

    assert json.loads(built.payload)["rfid-post"]["rfids"] == sorted(expected)
    assert list(built.uids()) == sorted(expected)
    assert built.sha256 == hashlib.sha256("\n".join(sorted(expected)).encode()).hexdigest()
    assert built.invalid_count == invalid
    assert built.keys_read == sum(len(page) for page in pages)
    assert built.count + built.duplicate_count + built.invalid_count == built.keys_read
