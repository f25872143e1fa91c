"""The silence rule and the receiver's recorder, without AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backbone.partner_health.recorder import ActivityRecorder
from backbone.partner_health.rule import Family, PartnerActivity, assess, family_of, watched_health

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def activity(partner: str = "acme", **ages: timedelta) -> PartnerActivity:
    families = {"session_post": Family.SESSION_POST, "rfid_verify": Family.RFID_VERIFY, "poi": Family.POI}
    return PartnerActivity(partner, {families[name]: NOW - age for name, age in ages.items()})


def test_given_every_family_within_the_period_then_the_partner_is_not_silent() -> None:
    health = assess(activity(session_post=timedelta(hours=23), poi=timedelta(minutes=1)), NOW, DAY)

    assert not health.silent
    assert [f.family for f in health.families] == [Family.SESSION_POST, Family.POI]


def test_given_one_used_family_quiet_longer_than_the_period_then_the_partner_is_silent() -> None:
    # rfid-verify keeps coming, but no CDR for 25 hours: billing data is missing.
    health = assess(activity(session_post=timedelta(hours=25), rfid_verify=timedelta(seconds=5)), NOW, DAY)

    assert health.silent
    session_post = health.of(Family.SESSION_POST)
    assert session_post is not None
    assert session_post.silent
    assert session_post.silence == timedelta(hours=25)
    assert health.of(Family.RFID_VERIFY) is not None
    assert not health.of(Family.RFID_VERIFY).silent  # type: ignore[union-attr]


def test_given_exactly_the_period_then_not_yet_silent() -> None:
    assert not assess(activity(poi=DAY), NOW, DAY).silent
    assert assess(activity(poi=DAY + timedelta(seconds=1)), NOW, DAY).silent


def test_given_a_family_never_used_then_it_is_not_watched() -> None:
    health = assess(activity(session_post=timedelta(minutes=5)), NOW, DAY)

    assert health.of(Family.RFID_VERIFY) is None
    assert not health.silent


def test_given_a_time_a_little_ahead_of_the_clock_then_silence_is_zero_not_negative() -> None:
    health = assess(activity(poi=-timedelta(seconds=3)), NOW, DAY)

    assert health.families[0].silence == timedelta(0)


def test_given_partners_then_only_those_with_an_active_key_are_watched_never_seen_is_not_silent() -> None:
    activities = [activity("gone", poi=timedelta(days=30)), activity("acme", poi=timedelta(days=2))]

    report = watched_health(activities, ["acme", "newcomer", "acme"], NOW, DAY)

    assert [h.partner_id for h in report] == ["acme", "newcomer"]
    assert [h.silent for h in report] == [True, False]
    assert not report[1].ever_seen


@pytest.mark.parametrize(
    ("message", "family"),
    [
        ("session-post", Family.SESSION_POST),
        ("rfid-verify", Family.RFID_VERIFY),
        ("station-post", Family.POI),
        ("connector-post-status", Family.POI),
        ("rfid-post", None),
    ],
)
def test_given_a_message_then_its_family(message: str, family: Family | None) -> None:
    assert family_of(message) == family


class Writes:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[tuple[str, Family, datetime]] = []

    def record(self, partner_id: str, family: Family, at: datetime) -> None:
        self.calls.append((partner_id, family, at))
        if self.fail:
            raise ConnectionError("DynamoDB is down")


def test_given_a_busy_partner_then_one_write_per_family_per_minute() -> None:
    writes = Writes()
    recorder = ActivityRecorder(writes)

    for second in range(0, 150, 2):  # 75 rfid-verify and 75 connector statuses in 2.5 minutes
        recorder.note("acme", "rfid-verify", NOW + timedelta(seconds=second))
        recorder.note("acme", "connector-post-status", NOW + timedelta(seconds=second))
    recorder.note("other", "rfid-verify", NOW)

    seconds = [(p, f, int((at - NOW).total_seconds())) for p, f, at in writes.calls]
    assert seconds == [
        ("acme", Family.RFID_VERIFY, 0),
        ("acme", Family.POI, 0),
        ("acme", Family.RFID_VERIFY, 60),
        ("acme", Family.POI, 60),
        ("acme", Family.RFID_VERIFY, 120),
        ("acme", Family.POI, 120),
        ("other", Family.RFID_VERIFY, 0),
    ]


def test_given_the_store_failing_then_note_never_raises_and_retries_a_minute_later() -> None:
    writes = Writes(fail=True)
    recorder = ActivityRecorder(writes)

    for second in range(0, 70, 10):
        recorder.note("acme", "session-post", NOW + timedelta(seconds=second))

    assert [int((at - NOW).total_seconds()) for _, _, at in writes.calls] == [0, 60]


def test_given_a_message_without_a_family_or_no_store_then_nothing_is_written() -> None:
    writes = Writes()
    ActivityRecorder(writes).note("acme", "rfid-post", NOW)
    ActivityRecorder(None).note("acme", "rfid-verify", NOW)

    assert writes.calls == []
