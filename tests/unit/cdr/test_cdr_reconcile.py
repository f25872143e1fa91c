"""Reconciliation logic with fakes: which sessions are due, what is re-enqueued, what is counted."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cdrfactory import drive_session_text
from cdrfakes import InMemoryCdrSender

from backbone.cdr.models import PartnerMode, PollerSession, SessionUnavailable
from backbone.cdr.ports import ReconcileDependencies
from backbone.cdr.reconcile import reconcile
from backbone.timeutil import to_storage

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def session(session_id: str, ended_minutes_ago: int, status: str = "COMPLETE") -> dict[str, Any]:
    start = NOW - timedelta(minutes=ended_minutes_ago + 15)
    return dict(
        json.loads(drive_session_text(session_id, status=status, start=to_storage(start), duration="PT15M"))
    )


@dataclass
class FakePoller:
    sessions: list[PollerSession]

    def completed_since(self, since: datetime) -> list[PollerSession]:
        return [s for s in self.sessions if s.completed_at >= since]


@dataclass
class FakePartner:
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    fetched: list[tuple[PartnerMode, str | None, str]] = field(default_factory=list)

    def completed_sessions(self, user_id: str, limit: int) -> list[dict[str, Any]]:
        if user_id not in self.history:
            raise SessionUnavailable("history unavailable")
        return self.history[user_id][:limit]

    def session(self, mode: PartnerMode, user_id: str | None, session_id: str) -> dict[str, Any]:
        self.fetched.append((mode, user_id, session_id))
        return self.by_id[session_id]


@dataclass
class FakeCdrs:
    finals: set[str] = field(default_factory=set)

    def has_final(self, session_id: str) -> bool:
        return session_id in self.finals


def known(
    session_id: str, minutes_ago: int, user: str | None = "u1", mode: PartnerMode = "drive"
) -> PollerSession:
    return PollerSession(session_id, mode, user, NOW - timedelta(minutes=minutes_ago))


def run(poller: FakePoller, partner: FakePartner, cdrs: FakeCdrs) -> tuple[Any, list[Any]]:
    queue = InMemoryCdrSender()
    deps = ReconcileDependencies(
        poller=poller, partner=partner, cdrs=cdrs, queue=queue, partner_id="plugsurfing", clock=lambda: NOW
    )
    report = reconcile(deps)
    return report, queue.sent


def test_given_sessions_completed_within_the_settle_time_then_they_are_not_checked_yet() -> None:
    poller = FakePoller([known("fresh", 5), known("settled", 60)])
    partner = FakePartner(history={"u1": [session("fresh", 5), session("settled", 60)]})

    report, sent = run(poller, partner, FakeCdrs())

    assert report.checked == 1
    assert [json.loads(e.raw)["sessionId"] for e in sent] == ["settled"]


def test_given_sessions_older_than_the_lookback_then_they_are_ignored() -> None:
    poller = FakePoller([known("recent", 60)])
    partner = FakePartner(history={"u1": [session("recent", 60), session("ancient", 60 * 24 * 30)]})

    report, _ = run(poller, partner, FakeCdrs(finals={"recent"}))

    assert (report.checked, report.missing) == (1, 0)


def test_given_emp_mode_then_missing_sessions_are_fetched_by_id_without_history() -> None:
    poller = FakePoller([known("E1", 60, user=None, mode="emp")])
    partner = FakePartner(by_id={"E1": session("E1", 60)})

    report, sent = run(poller, partner, FakeCdrs())

    assert partner.fetched == [("emp", None, "E1")]
    assert report.reenqueued == 1
    assert sent[0].user_id is None
    assert (sent[0].source, sent[0].partner_id) == ("drive-api", "plugsurfing")


def test_given_a_history_session_without_start_time_then_it_is_skipped_not_enqueued_every_hour() -> None:
    odd = session("odd", 60)
    del odd["startTime"]
    partner = FakePartner(history={"u1": [odd]})

    report, sent = run(FakePoller([known("other", 60)]), partner, FakeCdrs(finals={"other"}))

    assert (report.checked, sent) == (1, [])


@pytest.mark.parametrize("status", ["FAILED", "STARTED"])
def test_given_history_sessions_that_are_not_complete_then_they_are_not_checked(status: str) -> None:
    partner = FakePartner(history={"u1": [session("x", 60, status=status)]})

    report, _ = run(FakePoller([known("y", 60)]), partner, FakeCdrs(finals={"y"}))

    assert report.checked == 1
