"""Key lifecycle rules and CSV import (pure logic against the in-memory store)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from keyfakes import NOW, MemoryKeys, make_key

from backbone.keys import lifecycle as logic
from backbone.keys.errors import ConcurrentModification, KeyNotFound, TransitionNotAllowed
from backbone.keys.models import KeyState, SyncState
from backbone.oioi.codes import ResultCode
from bbctl.key_import import import_keys

LATER = NOW + timedelta(minutes=5)

# --- byte order on the spec's own examples --------------------------------------------------------


def test_given_the_emp_example_uid_printed_big_endian_when_imported_then_the_partner_identifier_is_e0e03336():
    store = MemoryKeys()
    result = import_keys("uid,visual_number\n3633E0E0,DE-9FS-C045DS363-E\n", store, NOW)
    (key,) = result.imported
    assert key.uid == "3633E0E0"
    assert key.key_identifier == "e0e03336"  # what POST /emp/v1/charging-keys sends


def test_given_the_reservation_example_printed_little_endian_when_imported_then_uid_is_big_endian():
    store = MemoryKeys()
    text = "uid,visual_number,type\n7d009d67181896,ES*BA*4321EU*1,card\n"
    (key,) = import_keys(text, store, NOW, uid_order="little").imported
    assert key.uid == "961818679D007D"  # what rfid-verify and the whitelist carry
    assert key.key_identifier == "7d009d67181896"  # the reservation example's `uid`
    assert key.type == "card"


def test_given_a_short_uid_when_imported_then_it_is_padded_to_the_oioi_width():
    (key,) = import_keys("uid,visual_number\nabcdef,V-1\n", MemoryKeys(), NOW).imported
    assert key.uid == "00ABCDEF"


# --- CSV import -----------------------------------------------------------------------------------

BAD_FILE = """uid,visual_number,type
04523022AA4881,VIS-1,tag
not-hex,VIS-2,tag
0477BD22AA4880,,card
0477BD22AA4AAA,VIS-4,sticker
04523022AA4881,VIS-5,tag
11223344,VIS-1,card
"""


def test_given_a_file_with_bad_rows_when_imported_then_each_error_names_its_line_and_nothing_is_written():
    store = MemoryKeys()
    result = import_keys(BAD_FILE, store, NOW)
    assert result.imported == []
    assert store.items == {}
    messages = {error.line: error.message for error in result.errors}
    assert sorted(messages) == [3, 4, 5, 6, 7]
    assert "bad UID" in messages[3]
    assert "visual number missing" in messages[4]
    assert "'sticker'" in messages[5]
    assert "duplicate UID 04523022AA4881 (already on line 2)" in messages[6]
    assert "duplicate visual number VIS-1 (already on line 2)" in messages[7]


def test_given_bad_rows_and_skip_bad_when_imported_then_only_the_good_rows_are_written():
    store = MemoryKeys()
    result = import_keys(BAD_FILE, store, NOW, skip_bad=True)
    assert [key.uid for key in result.imported] == ["04523022AA4881"]
    assert set(store.items) == {"04523022AA4881"}
    assert len(result.errors) == 5


def test_given_uids_and_visual_numbers_already_in_the_table_when_imported_then_they_are_rejected():
    store = MemoryKeys([make_key("04523022AA4881", "VIS-1")])
    text = "uid,visual_number\n04523022aa4881,VIS-9\n0477BD22AA4880,VIS-1\n0477BD22AA4AAA,VIS-3\n"
    result = import_keys(text, store, NOW)
    assert [(e.line, e.message) for e in result.errors] == [
        (2, "UID 04523022AA4881 is already in the table"),
        (3, "visual number 'VIS-1' already belongs to key 04523022AA4881"),
    ]
    assert set(store.items) == {"04523022AA4881"}


def test_given_a_header_without_visual_number_when_imported_then_line_1_is_reported():
    result = import_keys("uid,number\n3633E0E0,V\n", MemoryKeys(), NOW)
    assert [(e.line, e.message.split(";")[0]) for e in result.errors] == [
        (1, "header must name the columns visual_number")
    ]


def test_given_camel_case_headers_blank_lines_and_validity_when_imported_then_keys_carry_them():
    text = "UID, Visual-Number\n\n3633E0E0, V-1\n\n"
    (key,) = import_keys(text, MemoryKeys(), NOW).imported
    assert (key.uid, key.visual_number, key.state, key.enabled) == (
        "3633E0E0",
        "V-1",
        KeyState.IN_STOCK,
        False,
    )
    text = "uid,visual_number,valid_from,valid_to\n3633E0E0,V-1,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z\n"
    (key,) = import_keys(text, MemoryKeys(), NOW).imported
    assert key.valid_to is not None
    assert key.valid_to.year == 2027


def test_given_a_time_without_zone_when_imported_then_the_row_is_rejected():
    text = "uid,visual_number,valid_to\n3633E0E0,V-1,2027-01-01T00:00:00\n"
    (error,) = import_keys(text, MemoryKeys(), NOW).errors
    assert error.line == 2
    assert "valid_to" in error.message


# --- lifecycle ------------------------------------------------------------------------------------


def test_given_a_key_in_stock_when_enabled_then_it_is_active_whitelisted_authorises_and_awaits_sync():
    key = make_key(sync_state=SyncState.SYNCED)
    enabled = logic.enable(key, LATER)
    assert (enabled.state, enabled.enabled, enabled.whitelisted) == (KeyState.ACTIVE, True, True)
    assert enabled.sync_state is SyncState.PENDING
    assert enabled.updated_at == LATER
    assert enabled.authorisation(LATER) is ResultCode.SUCCESS
    assert "whitelist" in enabled.to_item()


def test_given_an_active_key_when_disabled_then_it_is_refused_and_leaves_the_whitelist():
    key = logic.enable(make_key(), NOW)
    disabled = logic.disable(key, LATER)
    assert (disabled.state, disabled.enabled) == (KeyState.DISABLED, False)
    assert disabled.authorisation(LATER) is ResultCode.EVCO_ID_LOCKED
    assert "whitelist" not in disabled.to_item()


def test_given_a_disabled_key_when_enabled_again_then_it_is_active():
    key = logic.disable(logic.enable(make_key(), NOW), NOW)
    assert logic.enable(key, LATER).state is KeyState.ACTIVE


def test_given_any_key_when_lost_then_it_is_final():
    lost = logic.mark_lost(logic.enable(make_key(), NOW), LATER)
    assert (lost.state, lost.enabled) == (KeyState.LOST, False)
    for change in (
        lambda k: logic.enable(k, LATER),
        lambda k: logic.disable(k, LATER),
        lambda k: logic.assign(k, "u-1", "user", LATER),
        lambda k: logic.rename(k, "mine", LATER),
    ):
        with pytest.raises(TransitionNotAllowed):
            change(lost)
    assert logic.mark_lost(lost, LATER) is lost  # losing it again changes nothing


@pytest.mark.parametrize("owner_type", ["user", "fleet"])
def test_given_a_key_in_stock_when_assigned_then_it_is_assigned_to_that_owner(owner_type):
    assigned = logic.assign(make_key(), "owner-1", owner_type, LATER)
    assert (assigned.state, assigned.owner_id, assigned.owner_type) == (
        KeyState.ASSIGNED,
        "owner-1",
        owner_type,
    )
    assert not assigned.enabled


def test_given_an_active_key_when_assigned_to_someone_else_then_it_is_refused():
    active = logic.enable(logic.assign(make_key(), "u-1", "user", NOW), NOW)
    with pytest.raises(TransitionNotAllowed, match="cannot assign"):
        logic.assign(active, "u-2", "user", LATER)


def test_given_a_user_owner_is_required_and_missing_when_enabled_then_it_is_refused():
    with pytest.raises(TransitionNotAllowed, match="assign it to a user"):
        logic.enable(make_key(), NOW, user_owner_required=True)
    fleet_key = logic.assign(make_key(), "fleet-1", "fleet", NOW)
    with pytest.raises(TransitionNotAllowed):
        logic.enable(fleet_key, NOW, user_owner_required=True)
    user_key = logic.assign(make_key(), "u-1", "user", NOW)
    assert logic.enable(user_key, NOW, user_owner_required=True).state is KeyState.ACTIVE


def test_given_an_enabled_key_when_enabled_again_then_nothing_changes():
    key = logic.enable(make_key(), NOW).model_copy(update={"sync_state": SyncState.SYNCED})
    assert logic.enable(key, LATER) is key


# --- change_key: load, apply, save with the optimistic lock ---------------------------------------


def test_given_a_visual_number_when_changed_then_the_key_is_found_saved_and_its_version_bumped():
    store = MemoryKeys([make_key("3633E0E0", "V-1")])
    saved = logic.change_key(store, "V-1", lambda k: logic.enable(k, NOW))
    assert saved.version == 1
    assert store.items["3633E0E0"].state is KeyState.ACTIVE


def test_given_an_unknown_key_when_changed_then_key_not_found():
    with pytest.raises(KeyNotFound):
        logic.change_key(MemoryKeys(), "nope", lambda k: k)


def test_given_a_concurrent_writer_when_changed_then_the_change_is_reapplied_on_fresh_data():
    store = MemoryKeys([make_key("3633E0E0", "V-1")])
    interfering = {"done": False}

    def enable_after_someone_assigns(key):
        if not interfering["done"]:
            interfering["done"] = True
            other = logic.assign(store.items[key.uid], "fleet-9", "fleet", NOW)
            store.save(other, expected_version=key.version)
        return logic.enable(key, NOW)

    saved = logic.change_key(store, "3633E0E0", enable_after_someone_assigns)
    assert (saved.state, saved.owner_id, saved.version) == (KeyState.ACTIVE, "fleet-9", 2)


def test_given_a_writer_that_always_wins_when_changed_then_concurrent_modification_is_raised():
    store = MemoryKeys([make_key()])

    def always_overtaken(key):
        store.items[key.uid] = store.items[key.uid].model_copy(
            update={"version": store.items[key.uid].version + 1}
        )
        return logic.enable(key, NOW)

    with pytest.raises(ConcurrentModification):
        logic.change_key(store, "3633E0E0", always_overtaken)
