"""Which event asks for what: a schedule, a manual push (with override and reason), a probe."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from backbone.whitelist.trigger import InvalidTrigger, parse_trigger


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
