"""The poller's tasks on in-memory fakes: what is recorded, published, sent, and when to stop."""

from __future__ import annotations

import json

import pytest
from sessionfakes import ScriptedPartner, World, at, clocked, partner_session

from backbone.sessions.errors import (
    PartnerRetryable,
    SessionFinished,
    SessionNotFound,
    SessionRecordConflict,
    SessionTimedOut,
    StartRefused,
)
from backbone.sessions.models import Status
from backbone.sessions.poller import TaskInput, poll_session, record_failure, run_task, start_session


def started_world(*answers: dict | Exception, **policy: int) -> World:
    world = World(ScriptedPartner(*answers), **policy)
    world.request()
    start_session("req-1", clocked(world.tasks, at(0)))
    return world


def test_given_a_requested_session_when_started_then_the_partner_session_is_recorded_as_starting() -> None:
    world = World()
    world.request()

    output = start_session("req-1", clocked(world.tasks, at(1)))

    record = world.record()
    assert record.session_id == "LWO89J3mDJr"
    assert record.status == Status.STARTING
    assert record.start_requested_at == at(1)
    assert output == {"requestId": "req-1", "status": Status.STARTING, "waitSeconds": 10}
    assert world.statuses() == ["STARTING"]
    assert world.events.published[0].previous_status == Status.REQUESTED


def test_given_a_start_already_made_when_the_start_task_reruns_then_it_polls_not_starts() -> None:
    world = started_world(partner_session("STARTED"))

    output = start_session("req-1", clocked(world.tasks, at(5)))

    assert world.partner.starts == 1
    assert world.partner.gets == 1
    assert output["status"] == Status.STARTED


def test_given_the_partner_refuses_the_start_then_failed_to_start_is_recorded_and_polling_ends() -> None:
    world = World()
    world.partner.start_error = StartRefused("POST /emp/v1/sessions/start answered 400: bad connector")
    world.request()

    with pytest.raises(SessionFinished):
        start_session("req-1", clocked(world.tasks, at(1)))

    record = world.record()
    assert record.status == Status.FAILED_TO_START
    assert "bad connector" in str(record.error)
    assert world.statuses() == ["FAILED_TO_START"]


def test_given_a_charging_session_when_polled_twice_then_one_change_is_recorded_and_published() -> None:
    world = started_world(partner_session("STARTED"))

    first = poll_session("req-1", clocked(world.tasks, at(10)))
    second = poll_session("req-1", clocked(world.tasks, at(40)))

    assert world.statuses() == ["STARTING", "STARTED"]
    assert [entry.status for entry in world.record().history] == ["REQUESTED", "STARTING", "STARTED"]
    assert (first["waitSeconds"], second["waitSeconds"]) == (30, 60)
    writes_after_change = world.store.writes
    poll_session("req-1", clocked(world.tasks, at(100)))
    assert world.store.writes == writes_after_change, "an unchanged session is not written again"


def test_given_a_session_completes_then_its_cdr_is_queued_as_received_and_balance_followed() -> None:
    complete = partner_session("COMPLETE", "PROCESSING")
    world = started_world(partner_session("STARTED"), complete)
    poll_session("req-1", clocked(world.tasks, at(10)))

    output = poll_session("req-1", clocked(world.tasks, at(40)))

    record = world.record()
    assert record.status == Status.COMPLETE
    assert record.completed_at == at(40)
    assert output["waitSeconds"] == 600, "balance PROCESSING is followed with long waits"
    [cdr] = world.cdrs.sent
    assert (cdr.source, cdr.partner_id) == ("drive-api", "plugsurfing")
    assert json.loads(cdr.raw) == complete
    assert world.events.published[-1].balance_status == "PROCESSING"


def test_given_the_cdr_queue_is_down_then_the_poll_is_retried_and_sends_the_cdr_when_it_is_back() -> None:
    complete = partner_session("COMPLETE", "PROCESSING")
    world = started_world(partner_session("STARTED"), complete)
    poll_session("req-1", clocked(world.tasks, at(10)))
    world.cdrs.unavailable = 1

    with pytest.raises(PartnerRetryable):  # the ASL's Retry runs the poll again
        poll_session("req-1", clocked(world.tasks, at(40)))
    assert world.record().status == Status.STARTED, "nothing recorded as sent that was not"
    poll_session("req-1", clocked(world.tasks, at(45)))

    [cdr] = world.cdrs.sent
    assert json.loads(cdr.raw) == complete
    assert world.record().status == Status.COMPLETE
    assert world.record().cdr_sent_at == at(45)


def test_given_the_balance_settles_then_it_is_recorded_without_a_second_cdr_and_polling_ends() -> None:
    world = started_world(partner_session("COMPLETE", "PROCESSING"), partner_session("COMPLETE", "PAID"))
    poll_session("req-1", clocked(world.tasks, at(10)))

    with pytest.raises(SessionFinished):
        poll_session("req-1", clocked(world.tasks, at(610)))

    record = world.record()
    assert record.balance_status == "PAID"
    assert len(world.cdrs.sent) == 1
    assert [(c.status, c.balance_status) for c in world.events.published[-2:]] == [
        (Status.COMPLETE, "PROCESSING"),
        (Status.COMPLETE, "PAID"),
    ]


def test_given_the_charge_changes_after_completion_then_the_cdr_is_sent_again_as_correction() -> None:
    corrected = partner_session("COMPLETE", "PROCESSING", energy={"unit": "WH", "value": 1900})
    world = started_world(partner_session("COMPLETE", "PROCESSING"), corrected)
    poll_session("req-1", clocked(world.tasks, at(10)))

    poll_session("req-1", clocked(world.tasks, at(610)))

    assert [json.loads(cdr.raw)["energy"]["value"] for cdr in world.cdrs.sent] == [1840, 1900]
    assert world.record().history[-1].note == "CDR re-sent: the partner changed the charge"


def test_given_the_balance_never_settles_then_polling_ends_after_the_balance_window() -> None:
    world = started_world(partner_session("COMPLETE", "PROCESSING"), poll_balance_window=3600)
    poll_session("req-1", clocked(world.tasks, at(10)))

    with pytest.raises(SessionFinished):
        poll_session("req-1", clocked(world.tasks, at(10 + 3600)))

    assert world.record().balance_status == "PROCESSING"


def test_given_a_failed_start_reported_by_the_partner_then_it_is_recorded_and_polling_ends() -> None:
    world = started_world(partner_session("FAILED"))

    with pytest.raises(SessionFinished):
        poll_session("req-1", clocked(world.tasks, at(10)))

    assert world.record().status == Status.FAILED
    assert world.statuses() == ["STARTING", "FAILED"]
    assert world.cdrs.sent == []


def test_given_a_session_stuck_starting_past_the_timeout_then_failed_to_start_once_polls_on() -> None:
    world = started_world(partner_session("STARTING"))

    first = poll_session("req-1", clocked(world.tasks, at(180)))
    second = poll_session("req-1", clocked(world.tasks, at(240)))

    assert world.statuses() == ["STARTING", "FAILED_TO_START"]
    assert world.record().history[-1].note == "still STARTING 180 s after the remote start"
    assert (first["waitSeconds"], second["waitSeconds"]) == (60, 120)


def test_given_a_late_start_after_the_timeout_then_started_and_complete_are_still_accepted() -> None:
    world = started_world(
        partner_session("STARTING"), partner_session("STARTED"), partner_session("COMPLETE", "PAID")
    )
    poll_session("req-1", clocked(world.tasks, at(200)))
    poll_session("req-1", clocked(world.tasks, at(260)))

    with pytest.raises(SessionFinished):
        poll_session("req-1", clocked(world.tasks, at(400)))

    assert world.statuses() == ["STARTING", "FAILED_TO_START", "STARTED", "COMPLETE"]
    assert len(world.cdrs.sent) == 1


def test_given_a_session_that_never_starts_then_polling_ends_after_the_late_start_window() -> None:
    world = started_world(partner_session("STARTING"))
    poll_session("req-1", clocked(world.tasks, at(200)))

    with pytest.raises(SessionFinished):
        poll_session("req-1", clocked(world.tasks, at(1800)))

    assert world.record().status == Status.FAILED_TO_START


def test_given_a_session_running_past_the_maximum_duration_then_timed_out_is_recorded_and_raised() -> None:
    world = started_world(partner_session("STARTED"), poll_max_duration=3600)
    poll_session("req-1", clocked(world.tasks, at(10)))

    with pytest.raises(SessionTimedOut):
        poll_session("req-1", clocked(world.tasks, at(3600)))

    assert world.record().status == Status.TIMED_OUT
    assert world.statuses()[-1] == "TIMED_OUT"


def test_given_the_partner_answers_404_then_not_found_is_recorded_and_raised() -> None:
    world = started_world(SessionNotFound("GET .../sessions/x answered 404"))

    with pytest.raises(SessionNotFound):
        poll_session("req-1", clocked(world.tasks, at(10)))

    assert world.record().status == Status.NOT_FOUND


def test_given_the_partner_is_busy_then_the_retryable_error_surfaces_and_nothing_is_written() -> None:
    world = started_world(PartnerRetryable("503"))
    writes = world.store.writes

    with pytest.raises(PartnerRetryable):
        poll_session("req-1", clocked(world.tasks, at(10)))

    assert world.store.writes == writes
    assert world.record().status == Status.STARTING


def test_given_an_unknown_partner_status_then_it_is_recorded_as_unknown_with_the_value_and_polled_on() -> (
    None
):
    world = started_world(partner_session("SUSPENDED"))

    output = poll_session("req-1", clocked(world.tasks, at(10)))

    assert world.record().status == Status.UNKNOWN
    assert world.record().history[-1].note == "partner reported status 'SUSPENDED'"
    assert output["waitSeconds"] == 30


def test_given_the_record_changed_meanwhile_then_the_write_is_refused_for_a_retry() -> None:
    world = started_world(partner_session("STARTED"))
    stale = world.record()
    world.store.save(stale.with_change(at(5), note="someone else"))

    with pytest.raises(SessionRecordConflict):
        world.store.save(stale.with_change(at(6), status=Status.STARTED))


def test_given_an_unexpected_error_then_record_failure_marks_the_session_error_with_the_lambda_message() -> (
    None
):
    world = started_world(partner_session("STARTED"))
    cause = json.dumps({"errorType": "KeyError", "errorMessage": "'sessionStatus'", "stackTrace": []})

    output = record_failure("req-1", {"Error": "KeyError", "Cause": cause}, clocked(world.tasks, at(10)))

    record = world.record()
    assert output["recorded"] is True
    assert record.status == Status.ERROR
    assert record.error == "KeyError: 'sessionStatus'"
    assert world.statuses()[-1] == "ERROR"


def test_given_a_completed_session_when_the_balance_follow_up_fails_then_the_status_stays_complete() -> None:
    world = started_world(partner_session("COMPLETE", "PROCESSING"))
    poll_session("req-1", clocked(world.tasks, at(10)))

    record_failure("req-1", {"Error": "States.Timeout"}, clocked(world.tasks, at(700)))

    assert world.record().status == Status.COMPLETE
    assert world.record().error == "States.Timeout"


def test_given_a_task_input_from_the_asl_then_it_dispatches_on_the_action() -> None:
    world = World()
    world.request()
    task = TaskInput.model_validate({"action": "start", "requestId": "req-1", "executionArn": "arn:x"})

    output = run_task(task, clocked(world.tasks, at(1)))

    assert output["status"] == Status.STARTING


def test_given_a_drive_session_completes_then_its_cdr_names_the_user_and_a_receipt_alone_sends_nothing() -> (
    None
):
    settled = partner_session("COMPLETE", "PAID", receiptAvailable=True)
    world = World(
        ScriptedPartner(partner_session("COMPLETE", "PROCESSING", receiptAvailable=False), settled),
        mode="drive",
    )
    world.request()
    start_session("req-1", clocked(world.tasks, at(0)))
    poll_session("req-1", clocked(world.tasks, at(10)))

    with pytest.raises(SessionFinished):
        poll_session("req-1", clocked(world.tasks, at(610)))

    [cdr] = world.cdrs.sent
    assert cdr.user_id == "ourTestUser"
