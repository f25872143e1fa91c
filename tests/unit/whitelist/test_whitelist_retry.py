"""A whitelist push rides out a blip: the documented 120 s budget bounds one rfid-post's retries,
and after a FAILED push the probe pushes again until an attempt ends otherwise."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

import pytest
from whitelist_fakes import NOW

from backbone.partners.errors import PartnerError, ServerError
from backbone.partners.factory import oioi_client
from backbone.whitelist.models import Outcome, PushAttempt
from backbone.whitelist.push import retry_due
from backbone.whitelist.settings import WhitelistPushSettings
from backbone.whitelist.wiring import rfid_client


@dataclasses.dataclass
class FakeTime:
    now: float = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def push_policy(fake: FakeTime) -> object:
    """The retry policy WhitelistPushFunction's client uses (its own jitter), on fake time."""
    settings = WhitelistPushSettings(
        charging_keys_table="keys",
        whitelist_audit_table="audit",
        oioi_partner_identifier_secret="partner-id-secret",
        oioi_endpoint_url="https://oioi.example/api/v4/request",
        oioi_api_key_secret="oioi-key-secret",
    )
    oioi_client.cache_clear()
    policy = rfid_client(settings).http.retry_policy
    oioi_client.cache_clear()
    return dataclasses.replace(policy, clock=fake.clock, sleep=fake.sleep)


@pytest.fixture(params=["shortest", "longest"])
def jitter_extreme(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every random wait at one end of its range: the worst case for each assertion."""
    pick = (lambda low, high: low) if request.param == "shortest" else (lambda low, high: high)
    monkeypatch.setattr(random, "uniform", pick)
    return str(request.param)


def failing_for(fake: FakeTime, seconds: float, calls: list[float]):
    def attempt() -> str:
        calls.append(fake.now)
        if fake.now < seconds:
            raise ServerError("503 Service Unavailable", status=503)
        return "accepted"

    return attempt


def test_given_a_receiver_answering_5xx_for_a_minute_when_the_push_posts_then_it_retries_and_sends(
    jitter_extreme: str,
) -> None:
    fake, calls = FakeTime(), []
    policy = push_policy(fake)

    done = policy.run(failing_for(fake, 60, calls), idempotent=True)  # type: ignore[attr-defined]

    assert done.value == "accepted"
    assert done.duration <= 120
    assert len(calls) > 4  # the old policy gave up after 4 attempts (about 2 s of 5xx)


def test_given_a_receiver_down_for_longer_than_the_budget_when_the_push_posts_then_it_gives_up_within_it(
    jitter_extreme: str,
) -> None:
    fake, calls = FakeTime(), []
    policy = push_policy(fake)

    with pytest.raises(PartnerError) as raised:
        policy.run(failing_for(fake, 10_000, calls), idempotent=True)  # type: ignore[attr-defined]

    assert 60 <= raised.value.duration <= 120
    assert calls[-1] <= 120


def attempt(outcome: Outcome, minutes: int) -> PushAttempt:
    return PushAttempt(
        key=f"k{minutes}",
        at=NOW + timedelta(minutes=minutes),
        attemptId=f"a{minutes}",
        trigger="schedule",
        outcome=outcome,
        message="",
    )


@pytest.mark.parametrize(
    ("newest_first", "due"),
    [
        ([Outcome.FAILED, Outcome.SENT], True),
        ([Outcome.LOCKED, Outcome.FAILED], True),  # a push was running: the failure still stands
        ([Outcome.FAILED, Outcome.FAILED], True),  # a failed retry keeps the retries going
        ([Outcome.SENT, Outcome.FAILED], False),  # it succeeded
        ([Outcome.SKIPPED_UNCHANGED, Outcome.FAILED], False),  # the receiver has this list already
        ([Outcome.REFUSED_SHRINK, Outcome.FAILED], False),  # an operator has to look
        ([Outcome.LOCKED], False),
        ([], False),
    ],
)
def test_given_the_recent_attempts_when_the_probe_runs_then_it_retries_only_after_a_failure(
    newest_first: list[Outcome], due: bool
) -> None:
    recent = [attempt(outcome, -index) for index, outcome in enumerate(newest_first)]

    assert retry_due(recent) is due
