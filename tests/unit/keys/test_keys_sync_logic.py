"""Key sync and reconciliation as rules, with Plugsurfing played by a fake `KeyPartner`: what is
recorded on the key for each outcome, when a record is skipped, how drift is found and repaired."""

from __future__ import annotations

import pytest
from keyfakes import NOW, FakeKeyPartner, MemoryKeys, fake_deps, make_key

from backbone.keys import lifecycle as logic
from backbone.keys.errors import SyncRefused, TemporarySyncFailure
from backbone.keys.models import ChargingKey, PartnerView, SyncState
from backbone.keys.ports import ListedKey
from backbone.keys.reconcile import reconcile
from backbone.keys.sync import sync_key, sync_stream_record


def stored(store: MemoryKeys, key: ChargingKey) -> ChargingKey:
    store.items[key.uid] = key
    return key


def unavailable() -> TemporarySyncFailure:
    return TemporarySyncFailure("Plugsurfing unavailable: 503", PartnerView())


def test_given_an_emp_key_in_stock_when_inserted_then_no_call_and_synced():
    store, partner = MemoryKeys(), FakeKeyPartner()
    key = stored(store, make_key())
    result = sync_stream_record(None, key.to_item(), fake_deps(store, partner))
    assert result.calls == ()
    assert partner.calls == []
    assert store.items[key.uid].sync_state is SyncState.SYNCED


def test_given_a_sync_outcome_write_when_its_stream_record_arrives_then_it_is_skipped():
    store, partner = MemoryKeys(), FakeKeyPartner()
    key = stored(store, logic.enable(make_key(), NOW))
    after = key.model_copy(update={"sync_state": SyncState.SYNCED, "partner": PartnerView(key_id="x")})
    result = sync_stream_record(key.to_item(), after.to_item(), fake_deps(store, partner))
    assert result.outcome == "skipped"
    assert partner.calls == []


def test_given_plugsurfing_keeps_failing_when_synced_then_retried_by_the_stream_and_error_when_exhausted():
    store, partner = MemoryKeys(), FakeKeyPartner(failures=[unavailable(), unavailable()])
    stored(store, logic.enable(make_key(), NOW))
    with pytest.raises(TemporarySyncFailure):
        sync_key(store.items["3633E0E0"], fake_deps(store, partner, max_attempts=2))
    first = store.items["3633E0E0"]
    assert (first.sync_state, first.sync_attempts) == (SyncState.PENDING, 1)
    assert "retrying" in (first.sync_error or "")
    with pytest.raises(TemporarySyncFailure):
        sync_key(store.items["3633E0E0"], fake_deps(store, partner, max_attempts=2))
    exhausted = store.items["3633E0E0"]
    assert exhausted.sync_state is SyncState.ERROR
    assert "gave up after 2 attempts" in (exhausted.sync_error or "")


def test_given_a_failed_key_when_plugsurfing_recovers_then_synced_and_the_error_is_cleared():
    store, partner = MemoryKeys(), FakeKeyPartner(contract_id="DE-PSF-C00000001-X")
    stored(store, logic.enable(make_key(), NOW).model_copy(update={"sync_error": "x", "sync_attempts": 3}))
    sync_key(store.items["3633E0E0"], fake_deps(store, partner))
    key = store.items["3633E0E0"]
    assert (key.sync_state, key.sync_error, key.sync_attempts) == (SyncState.SYNCED, None, 0)
    assert key.contract_id == "DE-PSF-C00000001-X"  # the one Plugsurfing made is kept
    assert key.synced_at == NOW


def test_given_plugsurfing_refuses_when_synced_then_error_on_the_key_and_no_retry():
    store = MemoryKeys()
    partner = FakeKeyPartner(failures=[SyncRefused("Plugsurfing refused EmpCreate: 400", PartnerView())])
    stored(store, logic.enable(make_key(), NOW))
    result = sync_key(store.items["3633E0E0"], fake_deps(store, partner))
    assert result.outcome == "error"
    assert partner.calls == ["EmpCreate"]
    key = store.items["3633E0E0"]
    assert (key.sync_state, key.sync_attempts) == (SyncState.ERROR, 0)
    assert "400" in (key.sync_error or "")


def test_given_a_deleted_enabled_key_when_its_remove_record_arrives_then_disabled_at_plugsurfing():
    key = logic.enable(make_key(), NOW).model_copy(
        update={"partner": PartnerView(key_id="e0e03336", enabled=True)}
    )
    partner = FakeKeyPartner(held={"e0e03336": True})
    result = sync_stream_record(key.to_item(), None, fake_deps(MemoryKeys(), partner))
    assert result.outcome == "synced"
    assert partner.calls == ["EmpSetEnabled"]
    assert partner.held == {"e0e03336": False}


def test_given_drift_when_reconciled_then_reported_and_only_our_keys_are_repaired():
    created = PartnerView(key_id="e0e03336", enabled=True)
    ours = logic.disable(logic.enable(make_key(), NOW), NOW).model_copy(update={"partner": created})
    missing = logic.enable(make_key("0A0B0C01", "V-1"), NOW)
    store = MemoryKeys([ours, missing])
    listed = [ListedKey("3633e0e0", "DE-9FS-C045DS363-E", True), ListedKey("deadbeef", "STRANGER", True)]
    partner = FakeKeyPartner(held={"e0e03336": True, "deadbeef": True}, listed=[listed[:1], listed[1:]])

    report = reconcile(fake_deps(store, partner), repair=True)

    assert (report.checked, report.partner_keys, report.partner_pages) == (2, 2, 2)
    found = {(drift.kind, drift.uid or drift.visual_number) for drift in report.drifts}
    assert found == {("ENABLED_MISMATCH", ours.uid), ("MISSING", missing.uid), ("UNKNOWN", "STRANGER")}
    assert sorted(report.repaired) == sorted([ours.uid, missing.uid])
    assert partner.held["e0e03336"] is False
    assert partner.held["010c0b0a"] is True
    assert partner.held["deadbeef"] is True  # unknown keys are never touched
    assert store.items[missing.uid].sync_state is SyncState.SYNCED
