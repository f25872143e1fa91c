"""KeySyncFunction and KeyReconcileFunction with moto (table, stream, secret) and the partner
either mocked (respx, for exact error cases) or the Plugsurfing simulator over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import handler_key_reconcile
import handler_key_sync
import httpx
import pytest
import respx
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from backbone.keys import lifecycle as logic
from backbone.keys.aws import KeyStore
from backbone.keys.models import KeyState, PartnerView, SyncState
from bbctl.key_import import import_keys

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PARTNER = "https://partner.test/drive"
CSV = "uid,visual_number,type\n3633E0E0,DE-9FS-C045DS363-E,card\n04523022AA4881,DE*8PS*CD0C00*2,tag\n"
CREATED = {
    "keyIdentifier": "3633e0e0",
    "validTo": "2036-01-24T11:25:54.210Z",
    "contractId": "DE-9FS-C045DS363-E",
    "visualNumber": "DE-9FS-C045DS363-E",
    "fleetId": "y1nNLJqb7m",
    "enabled": True,
}


def seed_from_events(keys: KeyStore) -> None:
    """The table as the sample events expect it: both keys enabled, not yet at Plugsurfing."""
    imported = logic.new_key("3633E0E0", "DE-9FS-C045DS363-E", NOW, contract_id="DE-9FS-C045DS363-E")
    keys.put_new(imported)
    logic.change_key(
        keys, imported.uid, lambda k: logic.enable(logic.assign(k, "y1nNLJqb7m", "fleet", NOW), NOW)
    )
    keys.put_new(logic.new_key("04523022AA4881", "DE*8PS*CD0C00*2", NOW))
    logic.change_key(keys, "04523022AA4881", lambda k: logic.enable(k, NOW))


# --- sample events, partner mocked ----------------------------------------------------------------


def test_given_the_enabled_event_when_handled_then_the_key_is_created_at_plugsurfing(
    keys, function_env, load_event, lambda_context
):
    function_env(PARTNER)
    seed_from_events(keys)
    with respx.mock(base_url=PARTNER) as partner:
        create = partner.post("/emp/v1/charging-keys").respond(200, json=CREATED)
        answer = handler_key_sync.handler(load_event("keys/event-stream-key-enabled.json"), lambda_context)
    assert answer == {"batchItemFailures": []}
    assert create.calls.last.request.headers["x-api-key"] == "sim-api-key"
    assert keys.get("3633E0E0").sync_state is SyncState.SYNCED


def test_given_a_sync_outcome_event_when_handled_then_no_partner_call(
    keys, function_env, load_event, lambda_context
):
    function_env(PARTNER)
    seed_from_events(keys)
    with respx.mock(base_url=PARTNER) as partner:
        answer = handler_key_sync.handler(load_event("keys/event-stream-sync-outcome.json"), lambda_context)
    assert answer == {"batchItemFailures": []}
    assert not partner.calls


def test_given_a_batch_with_an_unavailable_partner_and_a_poison_record_then_only_those_are_retried(
    keys, function_env, load_event, lambda_context
):
    function_env(PARTNER)
    seed_from_events(keys)
    event = load_event("keys/event-stream-batch-mixed.json")
    with respx.mock(base_url=PARTNER) as partner:

        def answer(request: httpx.Request) -> httpx.Response:
            if b"e0e03336" in request.content:
                return httpx.Response(200, json=CREATED)
            # Back-pressure longer than the retry budget: handed back to the stream at once.
            return httpx.Response(429, headers={"Retry-After": "120"}, json={"message": "Too Many Requests"})

        partner.post("/emp/v1/charging-keys").mock(side_effect=answer)
        result = handler_key_sync.handler(event, lambda_context)
    failed = [item["itemIdentifier"] for item in result["batchItemFailures"]]
    assert failed == [
        event["Records"][1]["dynamodb"]["SequenceNumber"],
        event["Records"][3]["dynamodb"]["SequenceNumber"],
    ]
    assert keys.get("3633E0E0").sync_state is SyncState.SYNCED
    retrying = keys.get("04523022AA4881")
    assert (retrying.sync_state, retrying.sync_attempts) == (SyncState.PENDING, 1)
    assert "retrying" in (retrying.sync_error or "")


def test_given_the_partner_stays_unavailable_when_retries_run_out_then_the_key_shows_the_error(
    keys, function_env, load_event, lambda_context
):
    function_env(PARTNER)  # KEY_SYNC_MAX_ATTEMPTS=2
    seed_from_events(keys)
    event = load_event("keys/event-stream-key-enabled.json")
    with respx.mock(base_url=PARTNER) as partner:
        partner.post("/emp/v1/charging-keys").respond(429, headers={"Retry-After": "120"})
        for _ in range(2):
            # The whole batch failed: Powertools fails the invocation, the stream retries it.
            with pytest.raises(BatchProcessingError):
                handler_key_sync.handler(event, lambda_context)
    key = keys.get("3633E0E0")
    assert key.sync_state is SyncState.ERROR
    assert "gave up after 2 attempts" in (key.sync_error or "")


# --- real stream records, the simulator over HTTP -------------------------------------------------


def drain(stream, lambda_context, rounds: int = 3) -> None:
    """Feed the stream to the handler until it is quiet (sync writes add records of their own)."""
    for _ in range(rounds):
        event = stream()
        if not event["Records"]:
            return
        assert handler_key_sync.handler(event, lambda_context) == {"batchItemFailures": []}


def sim_key(simulator, sent: str) -> dict:
    return next(k for k in simulator.snapshot()["empKeys"] if k["sentKeyIdentifier"] == sent)


def test_given_emp_mode_when_keys_are_imported_enabled_and_disabled_then_the_simulator_follows(
    keys, stream, simulator, function_env, lambda_context
):
    function_env(simulator.drive_base_url)
    assert import_keys(CSV, keys, NOW).ok
    drain(stream, lambda_context)
    assert simulator.snapshot()["empKeys"] == []  # in stock: Plugsurfing need not know yet

    logic.change_key(keys, "3633E0E0", lambda k: logic.enable(k, NOW))
    drain(stream, lambda_context)
    created = sim_key(simulator, "e0e03336")
    assert (created["visualNumber"], created["enabled"]) == ("DE-9FS-C045DS363-E", True)
    assert [uid for page in keys.iter_whitelist_pages(NOW) for uid in page] == ["3633E0E0"]

    logic.change_key(keys, "DE-9FS-C045DS363-E", lambda k: logic.disable(k, NOW))
    drain(stream, lambda_context)
    assert sim_key(simulator, "e0e03336")["enabled"] is False
    assert list(keys.iter_whitelist_pages(NOW)) == []
    key = keys.get("3633E0E0")
    assert (key.sync_state, key.partner) == (SyncState.SYNCED, PartnerView(key_id="e0e03336", enabled=False))
    assert len(simulator.requests(method="POST", path_prefix="/drive/emp/v1/charging-keys")) == 1


def test_given_drive_mode_when_a_key_is_imported_assigned_enabled_and_lost_then_reserved_activated_disabled(
    keys, stream, simulator, function_env, lambda_context
):
    function_env(simulator.drive_base_url, mode="drive")
    simulator.add_user("user-1")
    assert import_keys(CSV, keys, NOW).ok
    drain(stream, lambda_context)
    reservations = simulator.snapshot()["reservations"]
    assert reservations["DE*8PS*CD0C00*2"]["uid"] == "8148aa22305204"  # little-endian of 04523022AA4881

    logic.change_key(keys, "04523022AA4881", lambda k: logic.assign(k, "user-1", "user", NOW))
    logic.change_key(keys, "04523022AA4881", lambda k: logic.enable(k, NOW, user_owner_required=True))
    logic.change_key(keys, "04523022AA4881", lambda k: logic.rename(k, "blue tag", NOW))
    drain(stream, lambda_context)
    (activated,) = [k for k in simulator.snapshot()["driveKeys"]["user-1"] if k["type"] != "virtual"]
    assert (activated["referenceId"], activated["enabled"], activated["name"]) == (
        "DE*8PS*CD0C00*2",
        True,
        "blue tag",
    )

    logic.change_key(keys, "04523022AA4881", lambda k: logic.mark_lost(k, NOW))
    drain(stream, lambda_context)
    (lost,) = [k for k in simulator.snapshot()["driveKeys"]["user-1"] if k["type"] != "virtual"]
    assert lost["enabled"] is False
    assert keys.get("04523022AA4881").state is KeyState.LOST


def test_given_drift_at_the_simulator_when_reconciled_with_repair_then_fixed_over_several_pages(
    keys, stream, simulator, function_env, lambda_context
):
    function_env(simulator.drive_base_url)  # KEY_LIST_PAGE_SIZE=10
    rows = "\n".join(f"0A0B0C{n:02X},V-{n}" for n in range(25))
    assert import_keys(f"uid,visual_number\n{rows}\n", keys, NOW).ok
    for n in range(25):
        logic.change_key(keys, f"V-{n}", lambda k: logic.enable(k, NOW))
    drain(stream, lambda_context, rounds=5)
    assert len(simulator.snapshot()["empKeys"]) == 25
    simulator.state.set_emp_key_enabled("0c0c0b0a", enabled=False)  # someone disabled V-12 there
    simulator.add_emp_key(keyIdentifier="deadbeef", visualNumber="STRANGER")

    report = handler_key_reconcile.handler({"repair": False}, lambda_context)
    summary = report["summary"]
    assert (summary["partnerPages"], summary["partnerKeys"]) == (3, 26)
    assert (summary["missing"], summary["enabledMismatch"], summary["unknown"]) == (0, 1, 1)
    assert sim_key(simulator, "0c0c0b0a")["enabled"] is False  # report only

    repaired = handler_key_reconcile.handler({"repair": True}, lambda_context)
    assert repaired["repaired"] == ["0A0B0C0C"]
    assert sim_key(simulator, "0c0c0b0a")["enabled"] is True
    assert sim_key(simulator, "deadbeef")["enabled"] is True  # unknown keys are never touched


@pytest.mark.parametrize(
    "event_file", ["keys/event-schedule-reconcile.json", "keys/event-reconcile-repair.json"]
)
def test_given_the_sample_reconcile_events_when_handled_then_a_summary_is_returned(
    keys, simulator, function_env, load_event, lambda_context, event_file
):
    function_env(simulator.drive_base_url)
    answer = handler_key_reconcile.handler(load_event(event_file), lambda_context)
    assert answer["summary"]["checked"] == 0
    assert answer["repairFailures"] == {}
