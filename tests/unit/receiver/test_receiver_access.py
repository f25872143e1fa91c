"""Partner API keys: hashed storage, header parsing, constant-time check, revocation, and the
caller identity handed from the authorizer to the receiver."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from receiverfakes import CALLER, NOW, FakePartnerAccess, access_for

from backbone.receiver import access
from backbone.receiver.access import (
    AccessDenied,
    AccessStatus,
    Caller,
    MalformedCredentials,
    Unauthenticated,
    authenticate,
    hash_api_key,
    parse_authorization,
)
from backbone.receiver.dispatch import ACCEPTED_MESSAGES
from bbctl import partner_keys
from bbctl.partner_keys import issue_key, partner_id_for, revoke_key

API_KEY = "n3pA0q1Yk4C2t8X0qL9mJ6bV5rW7sZ1uE3hG2fD4cB0"


def _issue(store: FakePartnerAccess, **overrides: object) -> partner_keys.IssuedKey:
    arguments: dict[str, object] = {
        "enrol": lambda access: None,
        "name": "ACME Charging GmbH",
        "partner_identifiers": ["123456-123456-abcdef-abc123-456def"],
        "messages": ["session-post", "rfid-verify"],
        "accepted_messages": ACCEPTED_MESSAGES,
        "now": NOW,
    } | overrides
    return issue_key(store, **arguments)  # type: ignore[arg-type]


def test_given_a_new_key_when_issued_then_only_its_sha256_is_stored() -> None:
    store = FakePartnerAccess()
    issued = _issue(store)
    [item] = store.items.values()
    assert issued.api_key not in json.dumps(item)
    assert item["keyHash"] == hashlib.sha256(issued.api_key.encode()).hexdigest()
    assert item["status"] == "active"
    assert item["partnerId"] == "acme-charging-gmbh"
    assert sorted(item["messages"]) == ["rfid-verify", "session-post"]


def test_given_two_issued_keys_then_they_are_random_256_bit_and_distinct() -> None:
    store = FakePartnerAccess()
    first, second = _issue(store), _issue(store, add_to_existing=True)
    assert first.api_key != second.api_key
    assert first.access.key_id != second.access.key_id
    assert len(first.api_key) == 43  # 32 bytes, url-safe base64 without padding


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"messages": ["rfid-post"]}, "not accepted by this endpoint"),
        ({"messages": []}, "at least one message"),
        ({"partner_identifiers": []}, "partner identifier"),
        ({"partner_identifiers": [" "]}, "partner identifier"),
    ],
)
def test_given_bad_key_options_when_issuing_then_nothing_is_stored(
    overrides: dict[str, object], reason: str
) -> None:
    store = FakePartnerAccess()
    with pytest.raises(ValueError, match=reason):
        _issue(store, **overrides)
    assert store.items == {}


def test_given_a_new_key_then_it_is_enrolled_for_throttling_before_it_is_stored() -> None:
    store, enrolled = FakePartnerAccess(), []

    def enrol(key: access.PartnerAccess) -> None:
        assert store.items == {}  # a stored key is always one API Gateway admits
        enrolled.append(key.usage_key)

    issued = _issue(store, enrol=enrol)

    assert enrolled == [hash_api_key(issued.api_key)]
    assert list(store.items) == enrolled


def test_given_enrolment_fails_then_no_key_is_stored() -> None:
    store = FakePartnerAccess()

    def enrol(key: access.PartnerAccess) -> None:
        raise RuntimeError("API Gateway unreachable")

    with pytest.raises(RuntimeError, match="unreachable"):
        _issue(store, enrol=enrol)
    assert store.items == {}


def test_given_an_issued_key_when_authenticating_with_it_then_the_caller_carries_its_grants() -> None:
    store = FakePartnerAccess()
    issued = _issue(store)
    found = authenticate(f"key={issued.api_key}", store)
    assert found.usage_key == hash_api_key(issued.api_key)  # API Gateway's per-key throttling
    caller = found.caller()
    assert caller.partner_id == "acme-charging-gmbh"
    assert caller.key_id == issued.access.key_id
    assert caller.messages == {"session-post", "rfid-verify"}
    assert caller.acts_for("123456-123456-abcdef-abc123-456def")
    assert not caller.acts_for("1")


@pytest.mark.parametrize(
    "header", [None, "", "key=", "Bearer abc", f"Basic {API_KEY}", "key=short", "key=a b c d"]
)
def test_given_a_missing_or_malformed_header_then_credentials_are_malformed(header: str | None) -> None:
    with pytest.raises(MalformedCredentials):
        authenticate(header, FakePartnerAccess())


@pytest.mark.parametrize("header", [f"key={API_KEY}", f"KEY={API_KEY}", f"  key = {API_KEY} "])
def test_given_the_spec_header_form_then_the_key_is_read(header: str) -> None:
    assert parse_authorization(header) == API_KEY


def test_given_the_spec_example_uuid_key_then_it_is_read() -> None:
    spec_key = "a39ff3fb-fe0a-40a3-bdde-df6372c07c89"
    assert parse_authorization(f"key={spec_key}") == spec_key


def test_given_an_unknown_key_then_access_is_denied() -> None:
    with pytest.raises(AccessDenied, match="unknown"):
        authenticate(f"key={API_KEY}", FakePartnerAccess())


def test_given_a_revoked_key_then_access_is_denied() -> None:
    store = FakePartnerAccess()
    store.put_new(access_for(API_KEY, status=AccessStatus.REVOKED))
    with pytest.raises(AccessDenied, match="revoked"):
        authenticate(f"key={API_KEY}", store)


def test_when_authenticating_then_hashes_are_compared_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = FakePartnerAccess()
    store.put_new(access_for(API_KEY))
    compared: list[tuple[str, str]] = []
    original = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(access.hmac, "compare_digest", spy)
    authenticate(f"key={API_KEY}", store)
    assert compared == [(hash_api_key(API_KEY), hash_api_key(API_KEY))]


def test_given_a_store_returning_another_keys_item_then_access_is_denied() -> None:
    """The constant-time re-check: whatever the store returns must carry this key's hash."""

    class Sloppy(FakePartnerAccess):
        def get(self, key_hash: str):  # type: ignore[no-untyped-def]
            return access_for("some-other-key-0000000000000000")

    with pytest.raises(AccessDenied):
        authenticate(f"key={API_KEY}", Sloppy())


@given(st.one_of(st.none(), st.text(max_size=300)))
@settings(max_examples=200, deadline=None)
def test_given_any_header_then_authentication_only_refuses_in_the_two_ways(header: str | None) -> None:
    with contextlib.suppress(MalformedCredentials, AccessDenied):
        authenticate(header, FakePartnerAccess())


def test_given_a_caller_when_passed_through_the_authorizer_context_then_it_reads_back_equal() -> None:
    context = CALLER.to_context()
    assert all(isinstance(value, str) for value in context.values())  # API Gateway's rule
    assert Caller.from_context({**context, "principalId": "acme-cpo", "integrationLatency": 3}) == CALLER


@pytest.mark.parametrize(
    "context",
    [
        None,
        {},
        {"partnerId": "acme-cpo"},
        {**CALLER.to_context(), "messages": "not json"},
        {**CALLER.to_context(), "messages": '"rfid-verify"'},
        {**CALLER.to_context(), "partnerIdentifiers": "[1, 2]"},
        {**CALLER.to_context(), "partnerId": ""},
    ],
)
def test_given_no_usable_authorizer_context_then_the_request_is_unauthenticated(context: object) -> None:
    with pytest.raises(Unauthenticated) as refused:
        Caller.from_context(context)  # type: ignore[arg-type]
    assert (refused.value.http_status, int(refused.value.code)) == (401, 210)


def test_given_an_active_key_when_revoked_then_it_is_denied_and_revoking_again_keeps_the_first_time() -> None:
    store = FakePartnerAccess()
    issued = _issue(store)
    revoked = revoke_key(store, issued.access.key_id, NOW)
    assert revoked.status is AccessStatus.REVOKED
    with pytest.raises(AccessDenied):
        authenticate(f"key={issued.api_key}", store)
    again = revoke_key(store, issued.access.key_id, NOW.replace(year=2027))
    assert again.revoked_at == NOW


def test_given_an_unknown_key_id_when_revoking_then_it_says_so() -> None:
    with pytest.raises(LookupError, match="no API key"):
        revoke_key(FakePartnerAccess(), "000000000000", NOW)


def test_partner_ids_are_stable_slugs_of_the_name() -> None:
    assert partner_id_for("ACME Charging GmbH") == "acme-charging-gmbh"
    assert partner_id_for("acme  charging gmbh") == "acme-charging-gmbh"
    with pytest.raises(ValueError, match="no letters"):
        partner_id_for("***")


# --- partner identity: one partner can never write under another's id -------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"name": "Plugsurfing"}, "reserved"),
        ({"name": "Drive API"}, "reserved"),
        ({"name": "x", "partner_id": "Plug_Surfing"}, "lower-case"),
        ({"name": "x", "partner_id": "plug-surfing"}, "reserved"),
        ({"name": "x", "partner_id": "x#y"}, "lower-case"),
        ({"name": "x", "partner_id": "-x"}, "lower-case"),
        ({"name": "x", "partner_id": "a" * 65}, "1-64"),
    ],
)
def test_given_a_malformed_or_reserved_partner_id_then_no_key_is_issued(
    overrides: dict[str, object], reason: str
) -> None:
    store = FakePartnerAccess()
    with pytest.raises(partner_keys.PartnerIdRefused, match=reason):
        _issue(store, **overrides)
    assert store.items == {}


def test_given_an_existing_partner_when_its_name_is_reused_then_refused_unless_existing_is_said() -> None:
    store = FakePartnerAccess()
    _issue(store, name="Demo CPO")

    with pytest.raises(partner_keys.PartnerIdRefused, match="exists already"):
        _issue(store, name="Demo-CPO")
    rotated = _issue(store, name="Demo-CPO", add_to_existing=True)

    assert rotated.access.partner_id == "demo-cpo"
    assert len(store.items) == 2


def test_given_an_id_differing_only_in_separators_then_it_is_refused_as_a_lookalike() -> None:
    store = FakePartnerAccess()
    _issue(store, name="Demo CPO")

    with pytest.raises(partner_keys.PartnerIdRefused, match="only in case or separators"):
        _issue(store, name="x", partner_id="democpo")
    with pytest.raises(partner_keys.PartnerIdRefused, match="no partner 'other'"):
        _issue(store, name="Other", add_to_existing=True)
    assert len(store.items) == 1


def test_given_a_partner_identifier_another_partner_acts_for_then_it_is_refused_unless_forced() -> None:
    store = FakePartnerAccess()
    _issue(store, name="ACME", partner_identifiers=["shared-identifier-0001"])

    with pytest.raises(partner_keys.PartnerIdRefused, match="used by partner 'acme'"):
        _issue(store, name="Beta", partner_identifiers=["shared-identifier-0001"])
    forced = _issue(
        store, name="Beta", partner_identifiers=["shared-identifier-0001"], share_identifiers=True
    )

    assert forced.access.partner_id == "beta"


def test_given_a_stored_key_with_an_id_the_checks_now_refuse_then_it_still_authenticates() -> None:
    store = FakePartnerAccess()
    issued = _issue(store)
    store.save(replace(issued.access, partner_id="Legacy_ID"))

    assert authenticate(f"key={issued.api_key}", store).partner_id == "Legacy_ID"
