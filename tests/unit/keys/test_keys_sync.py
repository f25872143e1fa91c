"""Key sync through the EMP and Drive adapters: which Plugsurfing calls each lifecycle change
causes, and how partner answers end up on the key (HTTP mocked with respx)."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from keyfakes import BASE_URL, NOW, MemoryKeys, make_key

from backbone.keys import lifecycle as logic
from backbone.keys.errors import SyncRefused, TemporarySyncFailure
from backbone.keys.models import ChargingKey, KeyState, PartnerView, SyncState
from backbone.keys.partner import DriveKeyPartner, EmpKeyPartner
from backbone.keys.plans import (
    DriveActivate,
    DrivePatch,
    DriveReserve,
    EmpCreate,
    EmpSetEnabled,
    plan_drive,
    plan_emp,
)
from backbone.keys.ports import KeyDependencies
from backbone.keys.sync import should_sync, sync_key, sync_stream_record

EMP_KEYS = "/emp/v1/charging-keys"
VISUAL = "DE-9FS-C045DS363-E"
LISTED = {
    "keyIdentifier": "3633e0e0",  # the spec lists the key byte-reversed
    "validTo": "2036-01-24T11:25:54.210Z",
    "contractId": "DE-9FS-C045DS363-E",
    "visualNumber": VISUAL,
    "fleetId": "y1nNLJqb7m",
    "enabled": True,
}


@pytest.fixture
def partner():
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        mock.post("/v1/users", name="create_user").respond(201)  # Drive: every user is new here
        yield mock


def stored(store: MemoryKeys, key: ChargingKey) -> ChargingKey:
    store.items[key.uid] = key
    return key


def deps(store: MemoryKeys, client, mode="emp", max_attempts=4) -> KeyDependencies:
    partner = EmpKeyPartner(client) if mode == "emp" else DriveKeyPartner(client)
    return KeyDependencies(store, partner, clock=lambda: NOW, sync_max_attempts=max_attempts)


def run(store: MemoryKeys, client, mode="emp", uid="3633E0E0", max_attempts=4):
    return sync_key(store.items[uid], deps(store, client, mode, max_attempts))


def body(call) -> dict:
    return json.loads(call.request.content)


def fleet_key(**fields) -> ChargingKey:
    return logic.assign(make_key(**fields), "y1nNLJqb7m", "fleet", NOW)


# --- deciding -------------------------------------------------------------------------------------


def test_given_only_sync_bookkeeping_changed_when_deciding_then_no_sync():
    old = make_key().to_item()
    new = make_key(
        sync_state=SyncState.SYNCED, partner=PartnerView(key_id="e0e03336", enabled=True)
    ).to_item()
    assert not should_sync(old, new)
    assert should_sync(old, logic.enable(make_key(), NOW).to_item())
    assert should_sync(None, new)
    assert should_sync(old, None)


def test_given_emp_mode_when_planning_then_create_once_and_toggle_after():
    active = logic.enable(make_key(), NOW)
    assert plan_emp(make_key(), PartnerView()) == []
    assert plan_emp(active, PartnerView()) == [EmpCreate()]
    assert plan_emp(active, PartnerView(key_id="e0e03336", enabled=False)) == [EmpSetEnabled(True)]
    assert plan_emp(logic.mark_lost(active, NOW), PartnerView(key_id="e0e03336", enabled=True)) == [
        EmpSetEnabled(False)
    ]
    assert plan_emp(logic.disable(active, NOW), PartnerView()) == []  # never created: nothing to disable


def test_given_drive_mode_when_planning_then_reserve_activate_patch():
    key = make_key()
    active = logic.enable(logic.assign(key, "u-1", "user", NOW), NOW)
    assert plan_drive(key, PartnerView()) == [DriveReserve()]
    assert plan_drive(key, PartnerView(reserved=True)) == []
    assert plan_drive(active, PartnerView(reserved=True)) == [DriveActivate("u-1")]
    activated = PartnerView(reserved=True, key_id="e0e03336", enabled=True, user_id="u-1")
    assert plan_drive(active, activated) == []
    assert plan_drive(logic.disable(active, NOW), activated) == [DrivePatch("u-1", "e0e03336", enabled=False)]
    assert plan_drive(logic.rename(active, "blue tag", NOW), activated) == [
        DrivePatch("u-1", "e0e03336", name="blue tag")
    ]


def test_given_drive_mode_and_an_enabled_key_without_user_when_planning_then_refused():
    active = logic.enable(fleet_key(), NOW)
    with pytest.raises(SyncRefused, match="assign the key to a user"):
        plan_drive(active, PartnerView(reserved=True))


# --- EMP ------------------------------------------------------------------------------------------


def test_given_an_emp_key_enabled_when_synced_then_it_is_created_little_endian_with_fleet_and_enabled(
    partner, client
):
    store = MemoryKeys()
    stored(store, logic.enable(fleet_key(contract_id="DE-9FS-C045DS363-E"), NOW))
    create = partner.post(EMP_KEYS).respond(200, json=LISTED)
    result = run(store, client)
    assert result.outcome == "synced"
    assert body(create.calls.last) == {
        "keyIdentifier": "e0e03336",
        "visualNumber": VISUAL,
        "fleetId": "y1nNLJqb7m",
        "contractId": "DE-9FS-C045DS363-E",
        "enabled": True,
    }
    key = store.items["3633E0E0"]
    assert key.sync_state is SyncState.SYNCED
    assert key.partner == PartnerView(key_id="e0e03336", enabled=True)


def test_given_no_contract_id_when_created_then_the_one_plugsurfing_made_is_kept(partner, client):
    store = MemoryKeys()
    stored(store, logic.enable(make_key(), NOW))
    partner.post(EMP_KEYS).respond(200, json=LISTED | {"contractId": "DE-PSF-C00000001-X"})
    run(store, client)
    assert store.items["3633E0E0"].contract_id == "DE-PSF-C00000001-X"


def test_given_a_created_key_when_disabled_lost_and_enabled_then_put_disable_and_enable(partner, client):
    store = MemoryKeys()
    created = PartnerView(key_id="e0e03336", enabled=True)
    active = stored(store, logic.enable(fleet_key(), NOW).model_copy(update={"partner": created}))
    disable = partner.put(f"{EMP_KEYS}/e0e03336/disable").respond(200, json=LISTED)
    enable = partner.put(f"{EMP_KEYS}/e0e03336/enable").respond(200, json=LISTED)
    create = partner.post(EMP_KEYS)

    stored(store, logic.disable(active, NOW).model_copy(update={"partner": created}))
    run(store, client)
    assert disable.call_count == 1
    assert store.items["3633E0E0"].partner.enabled is False

    stored(store, logic.enable(store.items["3633E0E0"], NOW))
    run(store, client)
    assert enable.call_count == 1
    assert store.items["3633E0E0"].partner.enabled is True

    stored(store, logic.mark_lost(store.items["3633E0E0"], NOW))
    run(store, client)
    assert disable.call_count == 2
    assert not create.called
    assert store.items["3633E0E0"].sync_state is SyncState.SYNCED


def test_given_409_and_plugsurfing_lists_our_key_reversed_when_created_then_adopted_not_an_error(
    partner, client
):
    store = MemoryKeys()
    stored(store, logic.enable(fleet_key(), NOW))
    partner.post(EMP_KEYS).respond(409, json={"message": "Charging key already activated"})
    listing = partner.get(EMP_KEYS).respond(200, json={"keys": [LISTED | {"enabled": False}]})
    enable = partner.put(f"{EMP_KEYS}/e0e03336/enable").respond(200, json=LISTED)
    result = run(store, client)
    assert result.outcome == "synced"
    assert result.calls == ("EmpCreate", "EmpSetEnabled")
    assert listing.calls.last.request.url.params["fleetId"] == "y1nNLJqb7m"
    assert enable.called  # it was there but disabled: enabled as we want
    assert store.items["3633E0E0"].sync_state is SyncState.SYNCED


def test_given_409_and_the_identifier_belongs_to_another_visual_number_then_sync_error(partner, client):
    store = MemoryKeys()
    stored(store, logic.enable(fleet_key(), NOW))
    partner.post(EMP_KEYS).respond(409, json={"message": "Charging key already activated"})
    partner.get(EMP_KEYS).respond(200, json={"keys": [LISTED | {"visualNumber": "SOMEONE-ELSE"}]})
    result = run(store, client)
    assert result.outcome == "error"
    key = store.items["3633E0E0"]
    assert key.sync_state is SyncState.ERROR
    assert "SOMEONE-ELSE" in (key.sync_error or "")


def test_given_404_on_enable_when_synced_then_the_key_is_created_again(partner, client):
    store = MemoryKeys()
    gone = PartnerView(key_id="e0e03336", enabled=False)
    stored(store, logic.enable(make_key(), NOW).model_copy(update={"partner": gone}))
    partner.put(f"{EMP_KEYS}/e0e03336/enable").respond(404, json={"message": "Charging key not found"})
    create = partner.post(EMP_KEYS).respond(200, json=LISTED)
    assert run(store, client).calls == ("EmpSetEnabled", "EmpCreate")
    assert create.called
    assert store.items["3633E0E0"].partner.enabled is True


def test_given_429_with_retry_after_when_created_then_the_client_waits_and_succeeds(partner, client):
    store = MemoryKeys()
    stored(store, logic.enable(make_key(), NOW))
    create = partner.post(EMP_KEYS)
    create.side_effect = [
        httpx.Response(429, headers={"Retry-After": "0"}, json={"message": "Too Many Requests"}),
        httpx.Response(200, json=LISTED),
    ]
    assert run(store, client).outcome == "synced"
    assert create.call_count == 2


def test_given_503_after_the_client_retries_when_created_then_a_temporary_failure_with_no_progress(
    partner, client
):
    key = logic.enable(make_key(), NOW)
    partner.post(EMP_KEYS).respond(503, json={"message": "Internal server error"})
    with pytest.raises(TemporarySyncFailure, match="Plugsurfing unavailable") as failure:
        EmpKeyPartner(client).apply(EmpCreate(), key, key.partner)
    assert failure.value.partner == PartnerView()


def test_given_400_when_created_then_error_on_the_key_without_retry(partner, client):
    store = MemoryKeys()
    stored(store, logic.enable(make_key(), NOW))
    create = partner.post(EMP_KEYS).respond(400, json={"message": "keyIdentifier invalid"})
    assert run(store, client).outcome == "error"
    assert create.call_count == 1
    assert "keyIdentifier invalid" in (store.items["3633E0E0"].sync_error or "")


# --- Drive ----------------------------------------------------------------------------------------

DRIVE_UID = "961818679D007D"  # reservation example `7d009d67181896`, big-endian
REFERENCE = "ES-BA-4321EU-1"
ACTIVATED = {
    "name": "key 4390b827",
    "enabled": True,
    "keyId": "7d009d67181896",
    "referenceId": REFERENCE,
    "contractId": "DE-8PS-C0CD0C002-Q",
    "type": "card",
    "validFrom": "2021-12-08T00:00:00.000Z",
    "validTo": "2031-12-08T23:59:59.000Z",
    "created": "2021-12-08T10:33:01.000Z",
    "updated": "2021-12-08T10:33:01.000Z",
}
ACTIVATE = f"/v1/users/u-1/charging-keys/{REFERENCE}/activate"


def drive_key(**fields) -> ChargingKey:
    return make_key(DRIVE_UID, REFERENCE, type="card", **fields)


def drive_run(store, client):
    return run(store, client, mode="drive", uid=DRIVE_UID)


def test_given_a_new_physical_key_in_drive_mode_when_inserted_then_reserved_little_endian(partner, client):
    store = MemoryKeys()
    key = stored(store, drive_key())
    reserve = partner.post("/v1/charging-keys/reservations").respond(201)
    sync_stream_record(None, key.to_item(), deps(store, client, "drive"))
    assert body(reserve.calls.last) == {"uid": "7d009d67181896", "visualNumber": REFERENCE, "type": "CARD"}
    assert store.items[DRIVE_UID].partner.reserved


def test_given_a_reserved_key_assigned_and_enabled_when_synced_then_activated_for_the_user(partner, client):
    store = MemoryKeys()
    key = logic.enable(logic.assign(drive_key(), "u-1", "user", NOW), NOW)
    stored(store, key.model_copy(update={"partner": PartnerView(reserved=True)}))
    activate = partner.post(ACTIVATE).respond(200, json=ACTIVATED)
    assert drive_run(store, client).calls == ("DriveActivate",)
    assert activate.called
    partner_view = store.items[DRIVE_UID].partner
    assert (partner_view.key_id, partner_view.user_id, partner_view.enabled) == (
        "7d009d67181896",
        "u-1",
        True,
    )
    assert store.items[DRIVE_UID].contract_id == "DE-8PS-C0CD0C002-Q"


def test_given_the_reservation_is_gone_when_activation_says_404_then_reserve_and_activate_again(
    partner, client
):
    store = MemoryKeys()
    key = logic.enable(logic.assign(drive_key(), "u-1", "user", NOW), NOW)
    stored(store, key.model_copy(update={"partner": PartnerView(reserved=True)}))
    activate = partner.post(ACTIVATE)
    activate.side_effect = [
        httpx.Response(404, json={"message": "Charging key not found"}),
        httpx.Response(200, json=ACTIVATED),
    ]
    reserve = partner.post("/v1/charging-keys/reservations").respond(201)
    assert drive_run(store, client).outcome == "synced"
    assert (reserve.call_count, activate.call_count) == (1, 2)


def test_given_activation_keeps_answering_404_then_sync_error(partner, client):
    store = MemoryKeys()
    key = logic.enable(logic.assign(drive_key(), "u-1", "user", NOW), NOW)
    stored(store, key.model_copy(update={"partner": PartnerView(reserved=True)}))
    partner.post(ACTIVATE).respond(404, json={"message": "User or charging key not found"})
    partner.post("/v1/charging-keys/reservations").respond(201)
    assert drive_run(store, client).outcome == "error"
    assert "404" in (store.items[DRIVE_UID].sync_error or "")


@pytest.mark.parametrize("answer", [201, 409])
def test_given_a_user_plugsurfing_may_not_know_then_it_is_created_once_before_the_first_activation(
    partner, client, answer
):
    store = MemoryKeys()
    for key in (drive_key(), make_key("0477BD22AA4880", "VN-2", type="card")):
        enabled = logic.enable(logic.assign(key, "u-1", "user", NOW), NOW)
        stored(store, enabled.model_copy(update={"partner": PartnerView(reserved=True)}))
    users = partner.post("/v1/users", name="create_user").respond(
        answer, json={"message": "User already exists"}
    )
    partner.post(ACTIVATE).respond(200, json=ACTIVATED)
    partner.post("/v1/users/u-1/charging-keys/VN-2/activate").respond(
        200, json=ACTIVATED | {"keyId": "8048aa22bd77"}
    )
    sync_deps = deps(store, client, "drive")

    outcomes = [sync_key(store.items[uid], sync_deps).outcome for uid in (DRIVE_UID, "0477BD22AA4880")]

    assert outcomes == ["synced", "synced"]
    assert users.call_count == 1
    assert json.loads(users.calls[0].request.content) == {"id": "u-1"}
    assert partner.calls[0].request is users.calls[0].request, "created before the first activation"
    assert len([c for c in partner.calls if c.request.url.path.endswith("/activate")]) == 2


@pytest.mark.parametrize(("listed_reference", "outcome"), [(REFERENCE, "synced"), ("SOMEONE-ELSES", "error")])
def test_given_409_key_in_use_when_activated_then_ours_only_if_the_user_has_it(
    partner, client, listed_reference, outcome
):
    store = MemoryKeys()
    key = logic.enable(logic.assign(drive_key(), "u-1", "user", NOW), NOW)
    stored(store, key.model_copy(update={"partner": PartnerView(reserved=True)}))
    partner.post(ACTIVATE).respond(409, json={"message": "Key already in use"})
    listed = ACTIVATED | {"referenceId": listed_reference, "keyId": "aabbccdd"}
    partner.get("/v1/users/u-1/charging-keys").respond(200, json={"keys": [listed]})
    assert drive_run(store, client).outcome == outcome


def test_given_an_activated_key_when_disabled_and_renamed_then_patched(partner, client):
    store = MemoryKeys()
    activated = PartnerView(
        reserved=True, key_id="7d009d67181896", enabled=True, user_id="u-1", name="key 4390b827"
    )
    active = logic.enable(logic.assign(drive_key(), "u-1", "user", NOW), NOW)
    stored(store, logic.disable(active, NOW).model_copy(update={"partner": activated}))
    patch = partner.patch("/v1/users/u-1/charging-keys/7d009d67181896").respond(
        200, json=ACTIVATED | {"enabled": False}
    )
    drive_run(store, client)
    assert body(patch.calls.last) == {"enabled": False}
    assert store.items[DRIVE_UID].partner.enabled is False

    stored(store, logic.rename(store.items[DRIVE_UID], "blue tag", NOW))
    patch.respond(200, json=ACTIVATED | {"enabled": False, "name": "blue tag"})
    drive_run(store, client)
    assert body(patch.calls.last) == {"name": "blue tag"}
    assert store.items[DRIVE_UID].state is KeyState.DISABLED
