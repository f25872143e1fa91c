"""Which event asks for what: a schedule, a manual push (with override and reason), a probe; and
what the function answers and publishes for it (no AWS: the push's data access is faked)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from emfcapture import emitted
from whitelist_fakes import NOW, MemoryAudit, MemoryKeys, RecordingSender, deps

from backbone.observability import metrics
from backbone.partners.errors import PartnerUnavailable
from backbone.whitelist.models import LastSuccess, Outcome
from backbone.whitelist.trigger import InvalidTrigger, handle_event, parse_trigger


def test_given_the_eventbridge_schedule_event_when_parsed_then_it_is_a_scheduled_push(
    load_event: Callable[[str], Any],
) -> None:
    request = parse_trigger(load_event("whitelist/event-schedule.json"))

    assert (request.trigger, request.override, request.reason) == ("schedule", False, None)


def test_given_a_manual_trigger_when_parsed_then_reason_and_requester_are_kept(
    load_event: Callable[[str], Any],
) -> None:
    request = parse_trigger(load_event("whitelist/event-manual.json"))

    assert (request.trigger, request.override) == ("manual", False)
    assert (request.reason, request.requested_by) == ("keys imported for fleet 42", "ops@example.com")


def test_given_a_manual_override_with_a_reason_when_parsed_then_the_override_is_on(
    load_event: Callable[[str], Any],
) -> None:
    request = parse_trigger(load_event("whitelist/event-manual-override.json"))

    assert request.override
    assert request.reason


def test_given_an_override_without_a_reason_when_parsed_then_it_is_refused_with_the_expected_shape(
    load_event: Callable[[str], Any],
) -> None:
    with pytest.raises(InvalidTrigger, match=r"needs a reason.*expected \{\"trigger\""):
        parse_trigger(load_event("whitelist/event-manual-override-without-reason.json"))


def test_given_an_unknown_trigger_kind_when_parsed_then_it_is_refused() -> None:
    with pytest.raises(InvalidTrigger):
        parse_trigger({"trigger": "cron-from-elsewhere"})


@pytest.fixture
def published(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[], dict[str, float]]:
    """The metrics flushed so far, by name (the handler's `log_metrics` flushes them)."""
    monkeypatch.setattr(metrics, "namespace", "Test")
    metrics.clear_metrics()

    def read() -> dict[str, float]:
        metrics.flush_metrics()
        return {metric.name: metric.value for metric in emitted(capsys.readouterr().out)}

    return read


def test_given_a_probe_after_a_success_when_handled_then_the_age_is_published_and_nothing_pushed(
    published: Callable[[], dict[str, float]],
) -> None:
    audit, sender = MemoryAudit(), RecordingSender()
    audit.last = LastSuccess(at=NOW.replace(hour=1), count=1, sha256="x", audit_key="k")

    answer = handle_event({"trigger": "probe"}, deps(MemoryKeys(["3633E0E0"]), audit, sender))

    assert answer == {"trigger": "probe", "lastSuccessAgeSeconds": 7200.0}
    assert sender.calls == []
    assert published() == {"WhitelistLastSuccessAgeSeconds": 7200.0}


def test_given_a_probe_after_a_failed_push_when_handled_then_it_pushes_again_as_a_retry(
    published: Callable[[], dict[str, float]],
) -> None:
    unavailable = PartnerUnavailable("gave up after 4 attempt(s)", last_error=TimeoutError("read"))
    audit, sender = MemoryAudit(), RecordingSender(error=unavailable)
    keys = MemoryKeys(["3633E0E0"])
    assert handle_event({"trigger": "manual"}, deps(keys, audit, sender))["outcome"] == Outcome.FAILED
    sender.error = None

    answer = handle_event({"trigger": "probe"}, deps(keys, audit, sender), "request-1")

    assert (answer["trigger"], answer["outcome"], answer["attemptId"]) == ("retry", "SENT", "request-1")
    assert sender.calls == [(["3633E0E0"], "partner-identifier-0001")]
    assert published()["WhitelistPushFailed"] == 0
