"""One push attempt end to end over in-memory stores: what is sent, what is refused, what is audited."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from pydantic import ValidationError
from whitelist_fakes import NOW, PARTNER, MemoryAudit, MemoryKeys, RecordingSender, deps

from backbone.partners.errors import OioiRejected, PartnerUnavailable
from backbone.whitelist.models import LastSuccess, LockHolder, Outcome, PushRequest
from backbone.whitelist.push import IN_PROGRESS, push_whitelist

SCHEDULE = PushRequest(trigger="schedule")


def run(keys: MemoryKeys, audit: MemoryAudit, sender: RecordingSender, request: PushRequest = SCHEDULE, **kw):
    return push_whitelist(
        request,
        deps(keys, audit, sender, kw.get("now", NOW)),
        attempt_id=kw.get("id", str(uuid.uuid4())),
    )


def test_given_keys_when_pushed_then_the_sorted_normalised_list_is_sent_and_becomes_the_last_success() -> (
    None
):
    keys, audit, sender = (
        MemoryKeys(["3633e0e0", "04523022AA4881", "bad!", "abcd"]),
        MemoryAudit(),
        RecordingSender(),
    )

    attempt = run(keys, audit, sender)

    assert sender.calls == [(["0000ABCD", "04523022AA4881", "3633E0E0"], PARTNER)]
    assert attempt.outcome is Outcome.SENT
    assert (attempt.count, attempt.invalid_count, attempt.processed, attempt.attempts) == (3, 1, 3, 1)
    assert attempt.skipped[0].uid == "bad!"
    assert attempt.result_code == 0
    assert attempt.last_success_age_seconds == 0
    assert audit.attempts == [attempt]
    assert audit.last is not None
    assert (audit.last.count, audit.last.sha256) == (3, attempt.sha256)
    assert audit.lists[attempt.key] == ["0000ABCD", "04523022AA4881", "3633E0E0"]
    assert audit.lock is None


def test_given_an_unchanged_list_and_a_recent_success_when_pushed_then_nothing_is_sent() -> None:
    keys, audit, sender = MemoryKeys(["3633E0E0", "ABCD1234"]), MemoryAudit(), RecordingSender()
    first = run(keys, audit, sender)

    second = run(keys, audit, sender, now=NOW + timedelta(hours=6))

    assert second.outcome is Outcome.SKIPPED_UNCHANGED
    assert len(sender.calls) == 1
    assert (second.previous_sha256, second.sha256) == (first.sha256, first.sha256)
    assert second.last_success_age_seconds == 6 * 3600
    assert audit.last is not None
    assert audit.last.at == NOW


def test_given_an_unchanged_list_after_max_age_when_pushed_then_a_heartbeat_is_sent() -> None:
    keys, audit, sender = MemoryKeys(["3633E0E0"]), MemoryAudit(), RecordingSender()
    run(keys, audit, sender)

    heartbeat = run(keys, audit, sender, now=NOW + timedelta(hours=24, seconds=5))

    assert heartbeat.outcome is Outcome.SENT
    assert "heartbeat" in heartbeat.message
    assert len(sender.calls) == 2


def test_given_no_whitelisted_keys_when_pushed_then_the_empty_list_is_refused_and_audited() -> None:
    audit, sender = MemoryAudit(), RecordingSender()

    attempt = run(MemoryKeys([]), audit, sender)

    assert attempt.outcome is Outcome.REFUSED_EMPTY
    assert sender.calls == []
    assert audit.attempts == [attempt]
    assert audit.last is None
    assert audit.lock is None


def test_given_only_invalid_uids_when_pushed_then_the_list_is_empty_and_refused() -> None:
    attempt = run(MemoryKeys(["xyz", "--"]), MemoryAudit(), RecordingSender())

    assert (attempt.outcome, attempt.count, attempt.invalid_count) == (Outcome.REFUSED_EMPTY, 0, 2)


def test_given_a_list_that_shrank_too_much_when_pushed_then_refused_and_nothing_sent() -> None:
    audit, sender = MemoryAudit(), RecordingSender()
    run(MemoryKeys([f"{n:08X}" for n in range(10)]), audit, sender)

    refused = run(MemoryKeys([f"{n:08X}" for n in range(7)]), audit, sender, now=NOW + timedelta(hours=1))

    assert refused.outcome is Outcome.REFUSED_SHRINK
    assert (refused.count, refused.previous_count) == (7, 10)
    assert len(sender.calls) == 1
    assert audit.last is not None
    assert audit.last.count == 10


def test_given_an_override_with_a_reason_when_a_shrunken_list_is_pushed_then_it_is_sent() -> None:
    audit, sender = MemoryAudit(), RecordingSender()
    run(MemoryKeys([f"{n:08X}" for n in range(10)]), audit, sender)
    request = PushRequest(
        trigger="manual", override=True, reason="fleet 7 contract ended", requested_by="ops"
    )

    sent = run(MemoryKeys(["00000001"]), audit, sender, request, now=NOW + timedelta(hours=1))

    assert sent.outcome is Outcome.SENT
    assert (sent.override, sent.reason, sent.requested_by) == (True, "fleet 7 contract ended", "ops")
    assert sent.overridden == ["shrink"]
    assert sender.calls[-1][0] == ["00000001"]


def test_given_an_override_without_a_reason_when_requested_then_it_is_rejected() -> None:
    with pytest.raises(ValidationError, match="needs a reason"):
        PushRequest(trigger="manual", override=True, reason="  ")


def test_given_a_push_holding_the_lock_when_another_is_triggered_then_it_is_refused_as_in_progress() -> None:
    audit, sender = MemoryAudit(), RecordingSender()
    audit.lock = LockHolder("other-attempt", "schedule", NOW, NOW + timedelta(minutes=6))

    attempt = run(MemoryKeys(["3633E0E0"]), audit, sender, PushRequest(trigger="manual"))

    assert attempt.outcome is Outcome.LOCKED
    assert attempt.message.startswith(IN_PROGRESS)
    assert sender.calls == []
    assert audit.attempts == [attempt]
    assert audit.lock is not None
    assert audit.lock.owner == "other-attempt"


def test_given_an_expired_lock_when_pushed_then_the_push_takes_it_over() -> None:
    audit, sender = MemoryAudit(), RecordingSender()
    audit.lock = LockHolder("crashed", "schedule", NOW - timedelta(hours=1), NOW - timedelta(minutes=54))

    assert run(MemoryKeys(["3633E0E0"]), audit, sender).outcome is Outcome.SENT


def test_given_two_concurrent_triggers_when_both_run_then_exactly_one_sends() -> None:
    keys, audit = MemoryKeys(["3633E0E0"]), MemoryAudit()
    in_send, finish = threading.Event(), threading.Event()

    def hold() -> None:
        in_send.set()
        finish.wait(5)

    sender = RecordingSender(before=hold)
    results = []
    first = threading.Thread(target=lambda: results.append(run(keys, audit, sender)))
    first.start()
    assert in_send.wait(5)
    results.append(run(keys, audit, sender, PushRequest(trigger="manual")))
    finish.set()
    first.join(5)

    assert sorted(result.outcome for result in results) == [Outcome.LOCKED, Outcome.SENT]
    assert len(sender.calls) == 1


def test_given_oioi_answers_a_non_zero_result_code_when_pushed_then_the_attempt_failed_with_that_code() -> (
    None
):
    rejected = OioiRejected("answered 200 with result code 100", status=200, oioi_code=100)
    rejected.attempts, rejected.duration = 1, 0.2
    audit = MemoryAudit(last=LastSuccess(at=NOW - timedelta(hours=25), count=1, sha256="x", audit_key="k"))

    attempt = run(MemoryKeys(["3633E0E0"]), audit, RecordingSender(error=rejected))

    assert attempt.outcome is Outcome.FAILED
    assert (attempt.result_code, attempt.attempts, attempt.duration_ms) == (100, 1, 200.0)
    assert "result code 100" in (attempt.error or "")
    assert attempt.last_success_age_seconds == 25 * 3600
    assert audit.last is not None
    assert audit.last.sha256 == "x"
    assert audit.lock is None


def test_given_the_partner_stays_unavailable_when_pushed_then_the_attempt_failed_with_its_attempts() -> None:
    unavailable = PartnerUnavailable("gave up after 4 attempt(s)", last_error=TimeoutError("read"))
    unavailable.attempts = 4

    attempt = run(MemoryKeys(["3633E0E0"]), MemoryAudit(), RecordingSender(error=unavailable))

    assert (attempt.outcome, attempt.attempts, attempt.result_code) == (Outcome.FAILED, 4, None)


def test_given_the_key_read_fails_when_pushed_then_the_failure_is_audited_the_lock_released_and_raised() -> (
    None
):
    audit, sender = MemoryAudit(), RecordingSender()

    with pytest.raises(ConnectionError):
        run(MemoryKeys(fail=ConnectionError("dynamodb down")), audit, sender)

    assert [attempt.outcome for attempt in audit.attempts] == [Outcome.FAILED]
    assert "dynamodb down" in (audit.attempts[0].error or "")
    assert audit.lock is None
    assert sender.calls == []
