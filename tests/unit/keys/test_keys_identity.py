"""One place derives the `keyIdentifier` Plugsurfing gets (hex, little-endian, from our UID) and
finds our key from what a caller names it by (UID or key identifier); key create, enable and
disable use it, whatever form a key record happens to carry (partner mocked with respx)."""

from __future__ import annotations

import json

import pytest
import respx
from keyfakes import BASE_URL, NOW, MemoryKeys, make_key

from backbone.keys import lifecycle as logic
from backbone.keys.identity import find_our_key, partner_key_identifier
from backbone.keys.models import KeyState, PartnerView
from backbone.keys.partner import EmpKeyPartner
from backbone.keys.ports import KeyDependencies
from backbone.keys.sync import sync_key
from backbone.partners.plugsurfing import PlugsurfingClient

LISTED = {
    "keyIdentifier": "8148aa22305204",
    "validTo": "2032-01-24T11:25:54.210Z",
    "contractId": "DE-9FS-C045DS363-E",
    "visualNumber": "VN-1",
    "enabled": True,
}


def misfiled_key() -> object:
    """A key whose stored keyIdentifier is its UID as printed (big-endian), not the EMP form."""
    return make_key("04523022AA4881", "VN-1", key_identifier="04523022AA4881")


def test_given_a_uid_then_the_partner_form_is_its_bytes_reversed_in_lower_case() -> None:
    key = make_key("04523022AA4881", "VN-1")

    assert partner_key_identifier(key) == "8148aa22305204"


@pytest.mark.parametrize("named", ["04523022AA4881", "04523022aa4881", " 04523022AA4881 ", "8148aa22305204"])
def test_given_our_key_named_by_uid_or_key_identifier_then_it_is_found(named: str) -> None:
    store = MemoryKeys()
    store.items["04523022AA4881"] = make_key("04523022AA4881", "VN-1")

    found = find_our_key(named, store)

    assert found is not None
    assert found.uid == "04523022AA4881"


@pytest.mark.parametrize("named", ["0477BD22AA4AAA", "not-hex", "", "1" * 30])
def test_given_something_that_names_no_key_of_ours_then_nothing_is_found(named: str) -> None:
    store = MemoryKeys()
    store.items["04523022AA4881"] = make_key("04523022AA4881", "VN-1")

    assert find_our_key(named, store) is None


def test_given_a_key_stored_in_another_form_when_synced_then_plugsurfing_gets_the_documented_one(
    client: PlugsurfingClient,
) -> None:
    store = MemoryKeys()
    key = logic.enable(misfiled_key(), NOW)  # type: ignore[arg-type]
    store.items[key.uid] = key
    with respx.mock(base_url=BASE_URL, assert_all_called=True) as partner:
        deps = KeyDependencies(store, EmpKeyPartner(client), clock=lambda: NOW)
        create = partner.post("/emp/v1/charging-keys").respond(200, json=LISTED)
        sync_key(store.items[key.uid], deps)
        disable = partner.put("/emp/v1/charging-keys/8148aa22305204/disable").respond(200, json=LISTED)
        store.items[key.uid] = logic.disable(store.items[key.uid], NOW)
        sync_key(store.items[key.uid], deps)

    assert json.loads(create.calls.last.request.content)["keyIdentifier"] == "8148aa22305204"
    assert disable.called
    assert store.items[key.uid].state is KeyState.DISABLED
    assert store.items[key.uid].partner == PartnerView(key_id="8148aa22305204", enabled=False)
