"""A remote start whose outcome is unknown (5xx, read timeout) is never sent again; the session it
may have started is looked for and adopted into the poller, or it is recorded that none exists.
Drive against the simulator in-process (a start that starts the session but loses its answer, a
start that never reached it); EMP with scripted answers (its API cannot list sessions)."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from fakes.sessions import InMemorySessionStore, RecordingCdrs, RecordingEvents, RecordingExecutions
from sessionfakes import T0, Chargers, ScriptedPartner, World, clocked, partner_session

from backbone.partners.http import ApiKeyAuth, PartnerHttpClient
from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.partners.retry import RetryPolicy
from backbone.sessions.commands import DriveStarts, request_stop, submit_start
from backbone.sessions.errors import SessionFinished, StartOutcomeUnknown
from backbone.sessions.models import StartRequest, Status
from backbone.sessions.partner import plugsurfing_sessions
from backbone.sessions.poller import poll_session, start_session
from backbone.sessions.ports import ApiDependencies, TaskDependencies
from backbone.sessions.schedule import PollPolicy
from simulator import DEFAULT_API_KEY, ManualClock, PlugsurfingSimulator

USER, CONNECTOR = "driver-1", "DE*SIM*E1*1"


class DriveWorld:
    """The real gateway over WSGI to the simulator (ManualClock), in-memory AWS stand-ins."""

    def __init__(self, sim: PlugsurfingSimulator, clock: ManualClock) -> None:
        self.sim, self.clock = sim, clock
        client = PlugsurfingClient("http://sim/drive", DEFAULT_API_KEY, retry_policy=RetryPolicy.no_retry())
        client.http = PartnerHttpClient(
            "http://sim/drive",
            auth=ApiKeyAuth("x-api-key", DEFAULT_API_KEY),
            retry_policy=RetryPolicy.no_retry(),
            transport=httpx.WSGITransport(app=sim.app),
        )
        self.partner = plugsurfing_sessions(client)
        self.store = InMemorySessionStore()
        self.cdrs = RecordingCdrs()
        self.tasks = TaskDependencies(
            self.store, self.partner, RecordingEvents(), self.cdrs, PollPolicy(), clock=clock.now
        )
        self.commands = ApiDependencies(
            self.store, self.partner, RecordingExecutions(), DriveStarts(), Chargers(), clock=clock.now
        )

    def now(self) -> datetime:
        return self.clock.now()

    def submit(self, request_id: str = "r-1") -> None:
        request = StartRequest(request_id=request_id, connector_id=CONNECTOR, user_id=USER)
        submit_start(request, self.commands)

    def wait(self, answer: dict[str, object]) -> None:
        self.clock.advance(float(answer["waitSeconds"]))  # type: ignore[arg-type]

    def status(self, request_id: str = "r-1") -> Status:
        record = self.store.get(request_id)
        assert record is not None
        return record.status

    def sim_sessions(self) -> list[dict[str, object]]:
        return [s for s in self.sim.snapshot()["sessions"] if s["connectorId"] == CONNECTOR]


@pytest.fixture
def drive() -> DriveWorld:
    clock = ManualClock(T0)
    sim = PlugsurfingSimulator(clock=clock, seed=5)
    sim.app.testing = True
    sim.add_user(USER)
    return DriveWorld(sim, clock)


def poll_until_finished(drive: DriveWorld, request_id: str = "r-1") -> int:
    """Polls (each after its wait) until the poller says the session is finished."""
    for polls in range(1, 20):
        try:
            drive.wait(poll_session(request_id, drive.tasks))
        except SessionFinished:
            return polls
    raise AssertionError("never finished")


def test_given_a_drive_start_whose_answer_is_lost_then_the_session_is_found_adopted_followed_and_stopped(
    drive: DriveWorld,
) -> None:
    drive.sim.lose_start_answers(CONNECTOR, status=502)
    drive.submit()

    looking = start_session("r-1", drive.tasks)
    drive.wait(looking)
    adopted = poll_session("r-1", drive.tasks)
    [started] = drive.sim_sessions()
    stopped = request_stop("r-1", drive.commands)
    drive.clock.advance(5)
    poll_until_finished(drive)

    record = drive.store.get("r-1")
    assert record is not None
    assert looking["status"] == Status.START_UNKNOWN
    assert len(drive.sim_sessions()) == 1, "never started twice"
    assert record.session_id == started["sessionId"]
    assert adopted["status"] == Status.STARTED
    assert any("adopted session" in (entry.note or "") for entry in record.history)
    assert stopped.stop_requested_at is not None
    assert drive.sim_sessions()[0]["stopRequests"] == 1
    assert record.status == Status.COMPLETE
    assert len(drive.cdrs.sent) == 1


def test_given_a_drive_start_that_never_reached_the_partner_then_it_is_recorded_that_none_exists(
    drive: DriveWorld,
) -> None:
    drive.sim.add_fault(kind="status", status=502, path="/drive/v1/users/*/sessions/start", retry_after=None)
    drive.submit()

    start_session("r-1", drive.tasks)
    drive.clock.advance(PollPolicy().poll_start_timeout)
    poll_session("r-1", drive.tasks)
    drive.clock.advance(PollPolicy().poll_late_start_window)

    record = drive.store.get("r-1")
    assert record is not None
    assert drive.sim_sessions() == []
    assert record.status == Status.FAILED_TO_START
    assert "none was started" in (record.history[-1].note or "")
    with pytest.raises(SessionFinished):
        poll_session("r-1", drive.tasks)


def test_given_older_sessions_and_another_requests_session_on_the_connector_then_neither_is_adopted(
    drive: DriveWorld,
) -> None:
    drive.sim.state.start_session("drive", CONNECTOR, user_id=USER)  # before our request
    drive.clock.advance(600)
    drive.sim.lose_start_answers(CONNECTOR, status=502)
    drive.submit("r-1")
    start_session("r-1", drive.tasks)
    drive.sim.add_fault(kind="status", status=502, path="/drive/v1/users/*/sessions/start", retry_after=None)
    drive.submit("r-2")
    start_session("r-2", drive.tasks)
    drive.clock.advance(10)

    poll_session("r-1", drive.tasks)
    poll_session("r-2", drive.tasks)

    first, second = drive.store.get("r-1"), drive.store.get("r-2")
    assert first is not None
    assert second is not None
    newest = max(drive.sim_sessions(), key=lambda s: str(s["startTime"]))
    assert first.session_id == newest["sessionId"]
    assert second.session_id is None, "r-1's session is not r-2's"
    assert second.status == Status.START_UNKNOWN


def test_given_an_emp_start_whose_failed_answer_names_a_session_then_that_session_is_followed() -> None:
    partner = ScriptedPartner(partner_session("STARTED", sessionId="named-1"), session_id="named-1")
    partner.start_error = StartOutcomeUnknown("POST .../sessions/start answered 502", session_id="named-1")
    world = World(partner)
    world.request()

    answer = start_session("req-1", clocked(world.tasks, T0))

    assert answer["status"] == Status.STARTING
    assert world.record().session_id == "named-1"
    assert world.record().start_outcome_unknown
    assert partner.starts == 1


def test_given_an_emp_start_with_an_unknown_outcome_and_no_id_then_a_person_is_asked_to_check() -> None:
    partner = ScriptedPartner(partner_session("STARTING"))
    partner.start_error = StartOutcomeUnknown("POST .../sessions/start answered 502")
    world = World(partner)
    world.request()

    with pytest.raises(StartOutcomeUnknown, match="cannot list sessions by key or connector"):
        start_session("req-1", clocked(world.tasks, T0))

    assert partner.starts == 1, "never sent twice"


def test_given_a_5xx_start_answer_carrying_a_session_id_then_the_gateway_passes_it_on() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, json={"message": "Bad gateway", "sessionId": "kept-1"})

    client = PlugsurfingClient("http://p/drive", "k", retry_policy=RetryPolicy.no_retry())
    client.emp_http = PartnerHttpClient(
        "http://p/drive/emp/v1", transport=httpx.MockTransport(answer), api="emp"
    )
    world = World()
    record = world.request()

    with pytest.raises(StartOutcomeUnknown) as unknown:
        plugsurfing_sessions(client).start(record)

    assert unknown.value.session_id == "kept-1"
