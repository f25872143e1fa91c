"""Internal API commands: idempotent start, lookup, stop with hand-over to a fast poller."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sessionfakes import T0, ScriptedPartner, World, at, clocked, partner_session

from backbone.sessions.commands import find_session, request_stop, submit_start
from backbone.sessions.errors import (
    InvalidStartRequest,
    PartnerBusy,
    RequestIdConflict,
    SessionFinished,
    SessionNotStarted,
    SessionRecordConflict,
    SessionUnknown,
    StartRefused,
)
from backbone.sessions.models import StartRequest, Status
from backbone.sessions.poller import start_session

ORIGINAL = "arn:aws:states:eu-west-1:123456789012:execution:poller:req-1"
FOLLOWER = "arn:aws:states:eu-west-1:123456789012:execution:poller:req-1.stop"


def emp_request(request_id: str = "req-1", connector: str = "conn-1") -> StartRequest:
    return StartRequest.model_validate(
        {"requestId": request_id, "connectorId": connector, "keyIdentifier": "3633e0e0"}
    )


def test_given_a_new_request_then_it_is_recorded_and_its_execution_is_named_after_the_request_id() -> None:
    world = World()

    record, created = submit_start(emp_request(), clocked(world.commands, T0))

    assert created
    assert record.status == Status.REQUESTED
    assert record.execution_arn == ORIGINAL
    assert world.executions.started == {"req-1": {"requestId": "req-1"}}
    assert world.record().key_identifier == "3633e0e0"


def test_given_the_same_request_twice_then_the_first_session_is_returned_and_nothing_new_is_recorded() -> (
    None
):
    world = World()
    first, _ = submit_start(emp_request(), clocked(world.commands, T0))

    again, created = submit_start(emp_request(), clocked(world.commands, at(30)))

    assert not created
    assert again == first
    assert world.store.writes == 1
    assert list(world.executions.started) == ["req-1"]


def test_given_a_request_id_reused_for_another_connector_then_it_is_refused_as_a_conflict() -> None:
    world = World()
    submit_start(emp_request(), clocked(world.commands, T0))

    with pytest.raises(RequestIdConflict):
        submit_start(emp_request(connector="other"), clocked(world.commands, at(1)))


@pytest.mark.parametrize(
    ("mode", "body", "missing"),
    [
        ("drive", {"keyIdentifier": "3633e0e0"}, "userId"),
        ("emp", {"userId": "ourTestUser"}, "keyIdentifier"),
    ],
)
def test_given_a_request_without_the_id_its_partner_mode_needs_then_it_is_refused(
    mode: str, body: dict[str, str], missing: str
) -> None:
    world = World(mode=mode)  # type: ignore[arg-type]
    request = StartRequest.model_validate({"requestId": "r", "connectorId": "c", **body})

    with pytest.raises(InvalidStartRequest, match=missing):
        submit_start(request, clocked(world.commands, T0))
    assert world.store.records == {}


def test_given_a_session_then_it_is_found_by_request_id_and_by_partner_session_id() -> None:
    world = World()
    world.request()
    start_session("req-1", clocked(world.tasks, at(1)))

    assert find_session("req-1", world.store).request_id == "req-1"
    assert find_session("LWO89J3mDJr", world.store).request_id == "req-1"
    with pytest.raises(SessionUnknown):
        find_session("nope", world.store)


def test_given_a_charging_session_when_stopped_then_the_partner_is_asked_and_a_fast_poller_takes_over() -> (
    None
):
    world = World(ScriptedPartner(partner_session("STARTED")))
    world.request()
    start_session("req-1", clocked(world.tasks, at(1)))

    record = request_stop("req-1", clocked(world.commands, at(7200)))

    assert world.partner.stops == ["LWO89J3mDJr"]
    assert record.stop_requested_at == at(7200)
    assert record.execution_arn == FOLLOWER
    assert world.executions.started["req-1.stop"] == {"requestId": "req-1"}
    assert world.executions.stopped == [ORIGINAL]
    assert world.record().history[-1].note == "stop requested"


def test_given_a_stop_requested_twice_then_the_first_time_stays_and_no_third_execution_appears() -> None:
    world = World()
    world.request()
    start_session("req-1", clocked(world.tasks, at(1)))
    request_stop("req-1", clocked(world.commands, at(100)))

    again = request_stop("req-1", clocked(world.commands, at(160)))

    assert again.stop_requested_at == at(100)
    assert sorted(world.executions.started) == ["req-1", "req-1.stop"]
    assert world.partner.stops == ["LWO89J3mDJr", "LWO89J3mDJr"], "repeating a stop is harmless (spec)"


def test_given_no_partner_session_yet_when_stopped_then_the_caller_is_told_to_retry() -> None:
    world = World()
    world.request()

    with pytest.raises(SessionNotStarted):
        request_stop("req-1", clocked(world.commands, at(1)))


def test_given_a_finished_session_when_stopped_then_nothing_happens() -> None:
    world = World(ScriptedPartner(partner_session("FAILED")))
    world.request()
    start_session("req-1", clocked(world.tasks, at(1)))
    record = world.record().with_change(at(20), status=Status.FAILED)
    world.store.save(record)

    request_stop("req-1", clocked(world.commands, at(30)))

    assert world.partner.stops == []
    assert "req-1.stop" not in world.executions.started


def test_given_the_partner_is_busy_when_stopping_then_nothing_is_recorded_and_the_caller_may_retry() -> None:
    world = World()
    world.request()
    start_session("req-1", clocked(world.tasks, at(1)))
    world.partner.stop_error = PartnerBusy("503")

    with pytest.raises(PartnerBusy):
        request_stop("req-1", clocked(world.commands, at(10)))

    assert world.record().stop_requested_at is None


class RacingStore:
    """A store whose first save loses a race against a poll."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.raced = False

    def __getattr__(self, name: str) -> object:
        return getattr(self.world.store, name)

    def save(self, record):  # type: ignore[no-untyped-def]
        if not self.raced:
            self.raced = True
            current = self.world.record()
            self.world.store.save(current.with_change(at(50), status=Status.STARTED))
        return self.world.store.save(record)


def test_given_a_poll_writes_meanwhile_when_stopping_then_the_stop_is_applied_on_the_fresh_record() -> None:
    world = World()
    world.request()
    start_session("req-1", clocked(world.tasks, at(1)))
    deps = replace(world.commands, store=RacingStore(world))

    request_stop("req-1", clocked(deps, at(60)))

    record = world.record()
    assert record.status == Status.STARTED
    assert record.stop_requested_at == at(60)


def test_given_the_store_keeps_losing_races_then_the_conflict_surfaces() -> None:
    world = World()
    world.request()
    start_session("req-1", clocked(world.tasks, at(1)))

    class AlwaysLosing(RacingStore):
        def save(self, record):  # type: ignore[no-untyped-def]
            raise SessionRecordConflict("again")

    deps = replace(world.commands, store=AlwaysLosing(world))
    with pytest.raises(SessionRecordConflict):
        request_stop("req-1", clocked(deps, at(60)))


def test_given_a_start_the_partner_refused_when_stopped_then_there_is_nothing_to_stop() -> None:
    world = World()
    world.partner.start_error = StartRefused("400: bad connector")
    world.request()
    with pytest.raises(SessionFinished):
        start_session("req-1", clocked(world.tasks, at(1)))

    record = request_stop("req-1", clocked(world.commands, at(5)))

    assert record.status == Status.FAILED_TO_START
    assert world.partner.stops == []
