"""Session metrics: how sessions end (`SessionsEnded` by status, for the dashboard), and the errors
tasks raise on purpose to steer the state machine (`SessionTaskSignals`), which the function's
Errors alarm subtracts so that only real failures page someone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emfcapture import emitted
from sessionfakes import ScriptedPartner, World, at, clocked, partner_session

from backbone.observability import metrics
from backbone.sessions.errors import PartnerRetryable, SessionFinished
from backbone.sessions.poller import TaskInput, run_task, start_session

POLL = TaskInput.model_validate({"action": "poll", "requestId": "req-1"})


@pytest.fixture(autouse=True)
def clean_metrics(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(metrics, "namespace", "Test")
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def started_world(*answers: dict[str, object] | Exception) -> World:
    """A session the partner accepted; its next polls get `answers`."""
    world = World(ScriptedPartner(*answers))
    world.request()
    start_session("req-1", clocked(world.tasks, at(0)))
    return world


def flushed(capsys: pytest.CaptureFixture[str]) -> list[tuple[str, dict[str, str]]]:
    """What the handler's log_metrics would flush at the end of the invocation, and what was put."""
    metrics.flush_metrics()
    return [(metric.name, metric.dimensions) for metric in emitted(capsys.readouterr().out)]


def test_given_a_session_that_completes_when_polled_then_it_is_counted_once_as_ended_complete(
    capsys: pytest.CaptureFixture[str],
) -> None:
    world = started_world(partner_session("COMPLETE", "PAID"))

    with pytest.raises(SessionFinished):
        run_task(POLL, clocked(world.tasks, at(30)))

    found = flushed(capsys)
    assert [dims["status"] for name, dims in found if name == "SessionsEnded"] == ["COMPLETE"]
    assert [name for name, _ in found].count("SessionTaskSignals") == 1


def test_given_a_session_still_charging_when_polled_then_nothing_ended_and_no_signal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    world = started_world(partner_session("STARTED"))

    run_task(POLL, clocked(world.tasks, at(30)))

    names = [name for name, _ in flushed(capsys)]
    assert "SessionsEnded" not in names
    assert "SessionTaskSignals" not in names


def test_given_the_partner_busy_when_polled_then_the_retry_signal_is_counted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    world = started_world(PartnerRetryable("503 from the partner"))

    with pytest.raises(PartnerRetryable):
        run_task(POLL, clocked(world.tasks, at(30)))

    assert [name for name, _ in flushed(capsys)].count("SessionTaskSignals") == 1
