"""The push guards: refuse empty or much shorter lists unless overridden; skip unchanged lists
until the heartbeat is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backbone.whitelist.guards import Action, GuardPolicy, evaluate
from backbone.whitelist.models import LastSuccess

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = GuardPolicy(max_shrink=0.2, max_age=timedelta(hours=24))


def last(count: int = 100, sha256: str = "old", age: timedelta = timedelta(hours=1)) -> LastSuccess:
    return LastSuccess(at=NOW - age, count=count, sha256=sha256, audit_key="k")


def decide(count: int, sha256: str = "new", previous: LastSuccess | None = None, override: bool = False):
    return evaluate(count, sha256, previous, now=NOW, override=override, policy=POLICY)


def test_given_an_empty_list_when_evaluated_then_it_is_refused_even_without_an_earlier_push() -> None:
    verdict = decide(0)

    assert verdict.action is Action.REFUSE_EMPTY
    assert "empty" in verdict.reason


def test_given_an_empty_list_and_an_override_when_evaluated_then_it_is_sent_naming_the_bypassed_guards() -> (
    None
):
    verdict = decide(0, previous=last(count=100), override=True)

    assert verdict.action is Action.SEND
    assert verdict.overridden == ("empty", "shrink")


def test_given_a_list_that_shrank_by_more_than_the_limit_when_evaluated_then_it_is_refused() -> None:
    verdict = decide(79, previous=last(count=100))

    assert verdict.action is Action.REFUSE_SHRINK
    assert "21%" in verdict.reason
    assert "100 -> 79" in verdict.reason


def test_given_a_list_that_shrank_by_exactly_the_limit_when_evaluated_then_it_is_sent() -> None:
    assert decide(80, previous=last(count=100)).action is Action.SEND


def test_given_a_shrunken_list_and_an_override_when_evaluated_then_it_is_sent() -> None:
    verdict = decide(10, previous=last(count=100), override=True)

    assert (verdict.action, verdict.overridden) == (Action.SEND, ("shrink",))


def test_given_no_earlier_success_when_a_small_list_is_evaluated_then_there_is_no_shrink_baseline() -> None:
    assert decide(1).action is Action.SEND


def test_given_an_unchanged_list_and_a_recent_success_when_evaluated_then_the_push_is_skipped() -> None:
    verdict = decide(100, sha256="same", previous=last(sha256="same", age=timedelta(hours=20)))

    assert verdict.action is Action.SKIP_UNCHANGED


@pytest.mark.parametrize("age", [timedelta(hours=24), timedelta(hours=30), timedelta(hours=22)])
def test_given_an_unchanged_list_and_a_success_near_or_past_max_age_when_evaluated_then_a_heartbeat_is_sent(
    age: timedelta,
) -> None:
    """22 h: within the 10% margin before 24 h, so a daily schedule never misses by jitter."""
    verdict = decide(100, sha256="same", previous=last(sha256="same", age=age))

    assert verdict.action is Action.SEND
    assert "heartbeat" in verdict.reason


def test_given_an_unchanged_list_and_an_override_when_evaluated_then_it_is_sent() -> None:
    verdict = decide(100, sha256="same", previous=last(sha256="same"), override=True)

    assert (verdict.action, verdict.overridden) == (Action.SEND, ())


def test_given_a_changed_list_of_the_same_size_when_evaluated_then_it_is_sent() -> None:
    assert decide(100, sha256="other", previous=last(sha256="same")).action is Action.SEND


@pytest.mark.parametrize("bad", [{"max_shrink": 1.5}, {"max_age": timedelta(0)}, {"heartbeat_margin": 1.0}])
def test_given_a_nonsensical_policy_when_built_then_it_is_rejected(bad: dict) -> None:
    with pytest.raises(ValueError, match=r"must|fraction"):
        GuardPolicy(**bad)
