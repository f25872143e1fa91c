"""The whitelist push against the template's tables (moto) and the Plugsurfing simulator (real
HTTP through the shared OIOI client): what the receiver ends up with, faults, the lock, the audit."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from unit.emfcapture import emitted
from whitelistkit import NOW, Pusher, active_key

from backbone.keys.aws import KeyStore
from backbone.keys.models import KeyState
from backbone.timeutil import to_storage
from backbone.whitelist import aws as audit_module
from backbone.whitelist.aws import AuditStore
from backbone.whitelist.models import Outcome, PushAttempt, PushRequest
from simulator.oioi_answers import AnswerStyleIn

DAY = timedelta(days=1)


def seed(keys: KeyStore, *uids: str) -> None:
    for uid in uids:
        keys.put_new(active_key(uid))


def raw_item(keys: KeyStore, uid: str) -> None:
    """An item written by something other than ChargingKey (legacy import): UID as stored."""
    keys.table.put_item(
        Item={"uid": uid, "whitelist": "ENABLED", "validTo": "9999-12-31T23:59:59.000Z", "state": "ACTIVE"}
    )


def test_given_keys_on_every_validity_edge_when_pushed_then_the_receiver_gets_exactly_the_valid_ones(
    keys: KeyStore, pusher: Pusher
) -> None:
    keys.put_new(active_key("11111111", validFrom=NOW - DAY, validTo=NOW + 365 * DAY))
    keys.put_new(active_key("22222222"))  # no validity window at all
    keys.put_new(active_key("33333333", validFrom=NOW, validTo=NOW))  # both bounds inclusive
    keys.put_new(active_key("44444444", validFrom=NOW + DAY))  # valid from tomorrow
    keys.put_new(active_key("55555555", validTo=NOW - DAY))  # expired yesterday
    keys.put_new(active_key("66666666", enabled=False, state=KeyState.DISABLED))
    keys.put_new(active_key("77777777", enabled=False, state=KeyState.LOST))
    keys.put_new(active_key("88888888", state=KeyState.ASSIGNED, enabled=False))
    raw_item(keys, "abcd12")  # legacy: lower case, short
    raw_item(keys, "ABCD12")  # the same UID in another spelling
    raw_item(keys, "NOT-A-UID")

    attempt = pusher.push()

    expected = ["0000ABCD12"[-8:], "11111111", "22222222", "33333333"]
    assert expected == ["00ABCD12", "11111111", "22222222", "33333333"]
    assert pusher.received() == expected
    assert attempt.outcome is Outcome.SENT
    assert (attempt.count, attempt.invalid_count, attempt.duplicate_count) == (4, 1, 1)
    assert attempt.processed == 4
    assert {(s.uid, s.kind) for s in attempt.skipped} == {("NOT-A-UID", "invalid"), ("00ABCD12", "duplicate")}


def test_given_a_5xx_with_retry_after_then_success_when_pushed_then_it_waits_as_told_and_sends(
    keys: KeyStore, pusher: Pusher
) -> None:
    seed(keys, "3633E0E0")
    pusher.sim.add_fault(kind="status", status=503, path="/api/v4/request", count=2, retry_after=7)

    attempt = pusher.push()

    assert attempt.outcome is Outcome.SENT
    assert attempt.attempts == 3
    assert pusher.sleeps == [7, 7]
    assert pusher.received() == ["3633E0E0"]


def test_given_a_429_when_pushed_then_retry_after_is_honoured_and_the_push_sent(
    keys: KeyStore, pusher: Pusher
) -> None:
    seed(keys, "3633E0E0")
    pusher.sim.add_fault(kind="throttle", path="/api/v4/request", count=1, retry_after=30)

    attempt = pusher.push()

    assert (attempt.outcome, attempt.attempts, pusher.sleeps) == (Outcome.SENT, 2, [30])


def test_given_a_receiver_that_times_out_once_when_pushed_then_the_full_list_is_resent(
    keys: KeyStore, pusher: Pusher
) -> None:
    """rfid-post replaces the whole list, so resending after a timeout is safe."""
    seed(keys, "3633E0E0")
    pusher.read_timeout = 0.3
    pusher.sim.add_fault(kind="hang", path="/api/v4/request", count=1, delay=2)

    attempt = pusher.push()

    assert (attempt.outcome, attempt.attempts) == (Outcome.SENT, 2)
    assert pusher.received() == ["3633E0E0"]


def test_given_a_receiver_that_keeps_timing_out_when_pushed_then_the_attempt_failed_and_no_success_recorded(
    keys: KeyStore, audit: AuditStore, pusher: Pusher
) -> None:
    seed(keys, "3633E0E0")
    pusher.read_timeout, pusher.max_attempts = 0.3, 2
    pusher.sim.add_fault(kind="hang", path="/api/v4/request", count=2, delay=2)

    attempt = pusher.push()

    assert (attempt.outcome, attempt.attempts) == (Outcome.FAILED, 2)
    assert "ReadTimeout" in (attempt.error or "")
    assert audit.last_success() is None
    assert audit.history()[0].outcome is Outcome.FAILED


def test_given_oioi_answers_a_non_zero_result_code_when_pushed_then_it_failed_with_that_code_and_no_retry(
    keys: KeyStore, audit: AuditStore, pusher: Pusher
) -> None:
    seed(keys, "3633E0E0")
    pusher.sim.add_fault(kind="oioi_result", path="/api/v4/request", code=100, count=1)

    attempt = pusher.push()

    assert (attempt.outcome, attempt.result_code, attempt.attempts) == (Outcome.FAILED, 100, 1)
    assert audit.last_success() is None
    assert pusher.received() is None


def test_given_no_whitelisted_keys_when_pushed_then_the_empty_list_is_refused_and_not_sent(
    keys: KeyStore, pusher: Pusher
) -> None:
    keys.put_new(active_key("66666666", enabled=False, state=KeyState.DISABLED))

    attempt = pusher.push()

    assert attempt.outcome is Outcome.REFUSED_EMPTY
    assert pusher.rfid_posts() == 0


def test_given_a_list_that_shrank_when_pushed_then_refused_until_an_override_with_a_reason(
    keys: KeyStore, audit: AuditStore, pusher: Pusher
) -> None:
    uids = [f"{n:08X}" for n in range(1, 11)]
    seed(keys, *uids)
    pusher.push()
    for uid in uids[:5]:
        keys.table.update_item(Key={"uid": uid}, UpdateExpression="REMOVE whitelist")  # disabled meanwhile

    refused = pusher.push(now=NOW + timedelta(hours=1))
    forced = pusher.push(
        PushRequest(trigger="manual", override=True, reason="fleet 7 left"), now=NOW + timedelta(hours=2)
    )

    assert refused.outcome is Outcome.REFUSED_SHRINK
    assert (refused.count, refused.previous_count) == (5, 10)
    assert forced.outcome is Outcome.SENT
    assert (forced.overridden, forced.reason) == (["shrink"], "fleet 7 left")
    assert pusher.received() == uids[5:]
    last = audit.last_success()
    assert last is not None
    assert (last.count, last.audit_key) == (5, forced.key)


def test_given_an_unchanged_list_when_pushed_again_then_skipped_until_the_heartbeat_is_due(
    keys: KeyStore, pusher: Pusher
) -> None:
    seed(keys, "3633E0E0", "04523022AA4881")
    first = pusher.push()

    skipped = pusher.push(now=NOW + timedelta(hours=12))
    heartbeat = pusher.push(now=NOW + timedelta(hours=24, minutes=1))

    assert [first.outcome, skipped.outcome, heartbeat.outcome] == [
        Outcome.SENT,
        Outcome.SKIPPED_UNCHANGED,
        Outcome.SENT,
    ]
    assert skipped.last_success_age_seconds == 12 * 3600
    assert pusher.rfid_posts() == 2


@pytest.mark.usefixtures("atomic_dynamodb")
def test_given_two_concurrent_triggers_when_both_run_then_exactly_one_sends_and_the_other_is_locked(
    keys: KeyStore, audit: AuditStore, pusher: Pusher, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(keys, "3633E0E0")
    locked_recorded = threading.Event()
    record = audit.record

    def record_and_signal(attempt: PushAttempt) -> None:
        record(attempt)
        if attempt.outcome is Outcome.LOCKED:
            locked_recorded.set()

    monkeypatch.setattr(audit, "record", record_and_signal)
    client = pusher.client()

    class SlowSender:
        """Holds the lock until the other trigger has been turned away."""

        def post_rfids(self, rfids: Any, partner_identifier: str) -> Any:
            locked_recorded.wait(10)
            return client.post_rfids(rfids, partner_identifier)

    start = threading.Barrier(2)
    results: list[PushAttempt] = []

    def trigger(request: PushRequest) -> None:
        start.wait(5)
        results.append(pusher.push(request, sender=SlowSender()))

    threads = [
        threading.Thread(target=trigger, args=(PushRequest(trigger="schedule"),)),
        threading.Thread(target=trigger, args=(PushRequest(trigger="manual", reason="operator"),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)

    assert sorted(result.outcome for result in results) == [Outcome.LOCKED, Outcome.SENT]
    locked = next(result for result in results if result.outcome is Outcome.LOCKED)
    assert locked.message.startswith("push already in progress")
    assert pusher.rfid_posts() == 1
    assert {attempt.outcome for attempt in audit.history()} == {Outcome.LOCKED, Outcome.SENT}
    assert pusher.push(now=NOW + timedelta(hours=25)).outcome is Outcome.SENT  # the lock was released


def test_given_pushes_when_the_audit_is_queried_then_every_attempt_is_there_with_its_facts_and_the_list(
    keys: KeyStore, audit: AuditStore, pusher: Pusher
) -> None:
    seed(keys, "3633E0E0", "04523022AA4881")
    raw_item(keys, "zz")
    sent = pusher.push()
    skipped = pusher.push(PushRequest(trigger="manual", reason="check"), now=NOW + timedelta(minutes=5))

    history = audit.history(limit=10)

    assert [attempt.key for attempt in history] == [skipped.key, sent.key]
    stored = history[1]
    assert stored.model_dump() == sent.model_dump()
    assert stored.trigger == "schedule"
    assert stored.at == NOW
    assert (stored.count, stored.invalid_count, stored.result_code, stored.processed) == (2, 1, 0, 2)
    assert stored.skipped[0].uid == "zz"
    assert "hexadecimal" in stored.skipped[0].reason
    assert stored.attempts == 1
    assert stored.duration_ms is not None
    assert len(stored.sha256 or "") == 64
    assert audit.sent_uids(stored) == ["04523022AA4881", "3633E0E0"]
    assert audit.find(to_storage(NOW)[:16]) == [stored]
    assert (history[0].reason, history[0].outcome) == ("check", Outcome.SKIPPED_UNCHANGED)
    assert audit.sent_uids(history[0]) is None


def test_given_a_list_larger_than_one_item_when_sent_then_it_is_stored_in_chunks_and_recoverable(
    keys: KeyStore, audit: AuditStore, pusher: Pusher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_module, "CHUNK_BYTES", 64)
    uids = [f"{n:014X}" for n in range(1, 40)]
    keys.put_new_many([active_key(uid) for uid in uids])

    attempt = pusher.push()

    assert attempt.list_chunks > 1
    assert audit.sent_uids(attempt) == uids


def test_given_the_handler_when_invoked_manually_then_it_pushes_and_publishes_the_metrics_and_its_oioi_call(
    keys: KeyStore,
    pusher: Pusher,
    function_env: Callable[..., None],
    load_event: Callable[[str], Any],
    lambda_context: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import handler_whitelist_push

    function_env()
    seed(keys, "3633E0E0")
    raw_item(keys, "bad uid")

    answer = handler_whitelist_push.handler(load_event("whitelist/event-manual.json"), lambda_context)

    assert (answer["outcome"], answer["count"], answer["trigger"]) == ("SENT", 1, "manual")
    assert answer["requestedBy"] == "ops@example.com"
    assert pusher.received() == ["3633E0E0"]
    output = capsys.readouterr().out
    calls = [metric for metric in emitted(output) if metric.name == "PartnerCalls"]
    assert [(call.dimensions["api"], call.dimensions["outcome"]) for call in calls] == [("oioi", "ok")]
    published = _emf(output)
    assert published["WhitelistSize"] == 1
    assert published["WhitelistInvalidUids"] == 1
    assert published["WhitelistPushRefused"] == 0
    assert published["WhitelistLastSuccessAgeSeconds"] == 0


def test_given_our_partner_identifier_is_too_short_then_the_push_fails_and_nothing_is_sent(
    keys: KeyStore,
    pusher: Pusher,
    function_env: Callable[..., None],
    resources: dict[str, str],
    aws: Any,
    load_event: Callable[[str], Any],
    lambda_context: Any,
) -> None:
    """A wrong identifier would file the list under someone else: refuse, alarm, send nothing."""
    import handler_whitelist_push

    from backbone.aws.secrets import SecretFormatError

    function_env()
    aws.client("secretsmanager").put_secret_value(
        SecretId=resources["OioiPartnerIdentifierSecret"], SecretString="too-short"
    )
    seed(keys, "3633E0E0")

    with pytest.raises(SecretFormatError, match="at least 16 characters"):
        handler_whitelist_push.handler(load_event("whitelist/event-manual.json"), lambda_context)
    assert pusher.received() is None
    assert pusher.sim.whitelist("too-short") is None  # not sent under the wrong identifier either


def test_given_the_scheduled_event_and_an_empty_table_when_handled_then_refused_and_the_refusal_metric_is_1(
    function_env: Callable[..., None],
    load_event: Callable[[str], Any],
    lambda_context: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import handler_whitelist_push

    function_env()

    answer = handler_whitelist_push.handler(load_event("whitelist/event-schedule.json"), lambda_context)

    assert (answer["outcome"], answer["trigger"]) == ("REFUSED_EMPTY", "schedule")
    published = _emf(capsys.readouterr().out)
    assert published["WhitelistPushRefused"] == 1
    assert "WhitelistLastSuccessAgeSeconds" not in published  # never a success: missing = breaching


def test_given_the_probe_event_when_handled_then_only_the_age_of_the_last_success_is_published(
    keys: KeyStore,
    pusher: Pusher,
    function_env: Callable[..., None],
    load_event: Callable[[str], Any],
    lambda_context: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import handler_whitelist_push

    seed(keys, "3633E0E0")
    pusher.push(now=NOW)
    function_env()

    answer = handler_whitelist_push.handler(load_event("whitelist/event-probe.json"), lambda_context)

    assert answer["trigger"] == "probe"
    assert answer["lastSuccessAgeSeconds"] > 0
    published = _emf(capsys.readouterr().out)
    assert set(published) == {"WhitelistLastSuccessAgeSeconds"}
    assert pusher.rfid_posts() == 1


def _emf(output: str) -> dict[str, Any]:
    """Metric values of the EMF blobs Powertools printed (last value wins)."""
    values: dict[str, Any] = {}
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                values[metric["Name"]] = value[-1] if isinstance(value, list) else value
    return values


def test_given_oioi_answers_without_result_when_pushed_then_the_attempt_is_sent_and_processed_kept(
    keys: KeyStore, audit: AuditStore, pusher: Pusher
) -> None:
    # Seed 002: result codes are "not part of the OIOI response, yet".
    seed(keys, "3633E0E0", "04523022AA4881")
    pusher.sim.oioi.answers.set(AnswerStyleIn(result="omit"))

    attempt = pusher.push()

    assert (attempt.outcome, attempt.result_code, attempt.processed) == (Outcome.SENT, None, 2)
    assert pusher.received() == ["04523022AA4881", "3633E0E0"]
    last = audit.last_success()
    assert last is not None
    assert last.count == 2


def test_given_a_failed_push_when_the_probe_runs_then_it_pushes_again_until_one_succeeds(
    keys: KeyStore,
    audit: AuditStore,
    pusher: Pusher,
    function_env: Callable[..., None],
    load_event: Callable[[str], Any],
    lambda_context: Any,
) -> None:
    import handler_whitelist_push

    seed(keys, "3633E0E0")
    pusher.max_attempts = 1
    pusher.sim.add_fault(kind="status", status=503, path="/api/v4/request", count=1)
    assert pusher.push(now=NOW).outcome is Outcome.FAILED
    function_env()

    retried = handler_whitelist_push.handler(load_event("whitelist/event-probe.json"), lambda_context)
    probed = handler_whitelist_push.handler(load_event("whitelist/event-probe.json"), lambda_context)

    assert (retried["trigger"], retried["outcome"]) == ("retry", "SENT")
    assert pusher.received() == ["3633E0E0"]
    assert (probed["trigger"], "outcome" in probed) == ("probe", False)  # succeeded: no more retries
    assert pusher.rfid_posts() == 2
    assert [attempt.outcome for attempt in audit.history()] == [Outcome.SENT, Outcome.FAILED]
