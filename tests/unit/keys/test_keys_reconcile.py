"""Drift between our table and Plugsurfing through the EMP and Drive adapters: found across cursor
pages, reported, repaired on request (HTTP mocked with respx)."""

from __future__ import annotations

import httpx
import pytest
import respx
from keyfakes import BASE_URL, NOW, MemoryKeys, make_key

from backbone.keys import lifecycle as logic
from backbone.keys.models import ChargingKey, PartnerView, SyncState
from backbone.keys.partner import DriveKeyPartner, EmpKeyPartner
from backbone.keys.ports import KeyDependencies
from backbone.keys.reconcile import reconcile
from backbone.oioi.identifiers import uid_to_key_identifier

EMP_KEYS = "/emp/v1/charging-keys"


def listed(key: ChargingKey, *, enabled: bool = True, reversed_identifier: bool = False) -> dict:
    identifier = key.uid.lower() if reversed_identifier else key.key_identifier
    return {
        "keyIdentifier": identifier,
        "validTo": "2036-01-01T00:00:00.000Z",
        "contractId": "DE-PSF-C00000001-X",
        "visualNumber": key.visual_number,
        "enabled": enabled,
    }


def active(uid: str, visual: str) -> ChargingKey:
    created = PartnerView(key_id=uid_to_key_identifier(uid), enabled=True)
    return logic.enable(make_key(uid, visual), NOW).model_copy(update={"partner": created})


@pytest.fixture
def world():
    """10 keys of ours; Plugsurfing lists 9 of them plus a stranger over 3 pages, with drift."""
    ours = [active(f"0A0B0C{n:02X}", f"V-{n}") for n in range(10)]
    ours[3] = logic.disable(ours[3], NOW)  # we disabled it, Plugsurfing still has it enabled
    store = MemoryKeys(ours)
    stranger = {**listed(make_key("DEADBEEF", "STRANGER")), "fleetId": "other-fleet"}
    partner_side = [listed(k, reversed_identifier=n % 2 == 0) for n, k in enumerate(ours) if n != 7]
    partner_side[5]["enabled"] = False  # ours[5]: enabled here, disabled there
    partner_side.append(stranger)
    pages = [partner_side[0:4], partner_side[4:8], partner_side[8:]]
    return store, ours, pages


def emp(store: MemoryKeys, client) -> KeyDependencies:
    """The EMP adapter listing 10 keys a page."""
    return KeyDependencies(store, EmpKeyPartner(client, page_size=10), clock=lambda: NOW)


def mock_pages(partner: respx.MockRouter, pages: list[list[dict]]) -> respx.Route:
    def answer(request: httpx.Request) -> httpx.Response:
        index = int(request.url.params.get("cursor") or 0)
        body: dict = {"keys": pages[index]}
        if index + 1 < len(pages):
            body["cursor"] = str(index + 1)
        return httpx.Response(200, json=body)

    return partner.get(EMP_KEYS).mock(side_effect=answer)


@pytest.fixture
def partner():
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        yield mock


def test_given_drift_across_pages_when_reported_then_missing_mismatch_and_unknown_are_found(
    world, partner, client
):
    store, ours, pages = world
    listing = mock_pages(partner, pages)
    report = reconcile(emp(store, client))
    assert listing.call_count == 3
    assert [call.request.url.params["page_size"] for call in listing.calls] == ["10"] * 3
    assert (report.checked, report.partner_keys, report.partner_pages) == (10, 10, 3)
    found = {(d.kind, d.uid or d.visual_number) for d in report.drifts}
    assert found == {
        ("MISSING", ours[7].uid),
        ("ENABLED_MISMATCH", ours[3].uid),
        ("ENABLED_MISMATCH", ours[5].uid),
        ("UNKNOWN", "STRANGER"),
    }
    assert report.repaired == []
    assert not [call for call in partner.calls if call.request.method != "GET"]


def test_given_drift_when_repaired_then_missing_created_mismatches_toggled_unknown_left_alone(
    world, partner, client
):
    store, ours, pages = world
    mock_pages(partner, pages)
    create = partner.post(EMP_KEYS).respond(200, json=listed(ours[7]))
    disable = partner.put(f"{EMP_KEYS}/{ours[3].key_identifier}/disable").respond(200, json=listed(ours[3]))
    enable = partner.put(f"{EMP_KEYS}/{ours[5].key_identifier}/enable").respond(200, json=listed(ours[5]))
    report = reconcile(
        KeyDependencies(store, EmpKeyPartner(client, page_size=10), clock=lambda: NOW), repair=True
    )
    assert (create.call_count, disable.call_count, enable.call_count) == (1, 1, 1)
    assert sorted(report.repaired) == sorted([ours[3].uid, ours[5].uid, ours[7].uid])
    assert report.repair_failures == {}
    assert store.items[ours[7].uid].sync_state is SyncState.SYNCED
    stranger_calls = [c for c in partner.calls if "deadbeef" in str(c.request.url).lower()]
    assert stranger_calls == []


def test_given_a_repair_plugsurfing_refuses_when_repaired_then_it_is_reported_as_a_failure(
    world, partner, client
):
    store, ours, pages = world
    mock_pages(partner, pages)
    partner.post(EMP_KEYS).respond(400, json={"message": "bad key"})
    partner.put(f"{EMP_KEYS}/{ours[3].key_identifier}/disable").respond(200, json=listed(ours[3]))
    partner.put(f"{EMP_KEYS}/{ours[5].key_identifier}/enable").respond(200, json=listed(ours[5]))
    report = reconcile(
        KeyDependencies(store, EmpKeyPartner(client, page_size=10), clock=lambda: NOW), repair=True
    )
    assert list(report.repair_failures) == [ours[7].uid]
    assert store.items[ours[7].uid].sync_state is SyncState.ERROR


def test_given_drive_users_when_reconciled_then_each_owner_is_listed_and_virtual_keys_ignored(
    partner, client
):
    mine = logic.enable(logic.assign(make_key("0A0B0C01", "V-1"), "u-1", "user", NOW), NOW)
    missing = logic.enable(logic.assign(make_key("0A0B0C02", "V-2"), "u-2", "user", NOW), NOW)
    store = MemoryKeys([mine, missing])
    drive_key = {
        "enabled": False,
        "keyId": mine.key_identifier,
        "referenceId": "V-1",
        "type": "tag",
        "validFrom": "2026-01-01T00:00:00.000Z",
        "validTo": "2036-01-01T00:00:00.000Z",
        "created": "2026-01-01T00:00:00.000Z",
        "updated": "2026-01-01T00:00:00.000Z",
    }
    virtual = drive_key | {"keyId": "f00f00f00f", "type": "virtual", "referenceId": None, "enabled": True}
    partner.get("/v1/users/u-1/charging-keys").respond(200, json={"keys": [drive_key, virtual]})
    partner.get("/v1/users/u-2/charging-keys").respond(404, json={"message": "User not found"})
    report = reconcile(KeyDependencies(store, DriveKeyPartner(client), clock=lambda: NOW))
    assert {(d.kind, d.uid) for d in report.drifts} == {
        ("ENABLED_MISMATCH", mine.uid),
        ("MISSING", missing.uid),
    }
