"""Partner health on the receiver's side (moto): accepted messages note the partner's last-seen
time per family in the template's PartnerActivityTable; refused ones do not; and a broken
activity table never changes a partner's answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import handler_oioi_receiver
import pytest
from oioiworld import World

from backbone.partner_health.aws import DynamoPartnerActivity, activity_from_item
from backbone.partner_health.rule import Family
from backbone.partner_health.wiring import activity_recorder
from backbone.settings import load_settings
from backbone.timeutil import utc_now


@pytest.fixture
def noted(world: World, resources: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("PARTNER_ACTIVITY_TABLE", resources["PartnerActivityTable"])
    load_settings.cache_clear()
    activity_recorder.cache_clear()
    yield world
    activity_recorder.cache_clear()


def invoke(event: dict[str, Any], context: Any) -> tuple[int, int]:
    response = handler_oioi_receiver.handler(event, context)
    return response["statusCode"], json.loads(response["body"])["result"]["code"]


def last_seen(world: World) -> dict[str, dict[Family, datetime]]:
    items = world.session.client("dynamodb").scan(TableName=world.resources["PartnerActivityTable"])["Items"]
    return {activity.partner_id: dict(activity.last_seen) for activity in map(activity_from_item, items)}


def test_given_accepted_messages_of_each_family_then_the_partner_s_last_seen_times_are_noted(
    noted: World, load_event: Any, lambda_context: Any
) -> None:
    before = utc_now()
    for name in ("rfid-verify", "session-post", "station-post"):
        assert invoke(load_event(f"oioi/{name}.json"), lambda_context) == (200, 0)

    seen = last_seen(noted)

    assert set(seen) == {"acme-cpo"}
    assert set(seen["acme-cpo"]) == {Family.RFID_VERIFY, Family.SESSION_POST, Family.POI}
    assert all(before - timedelta(seconds=1) <= at <= utc_now() for at in seen["acme-cpo"].values())


def test_given_refused_messages_then_nothing_is_noted(
    noted: World, load_event: Any, lambda_context: Any
) -> None:
    for name in ("error-foreign-partner-identifier", "error-bad-json", "error-not-allowed", "error-bad-uid"):
        status, _ = invoke(load_event(f"oioi/{name}.json"), lambda_context)
        assert status >= 400

    assert last_seen(noted) == {}


def test_given_the_activity_table_gone_then_the_partner_still_gets_its_answer(
    noted: World, load_event: Any, lambda_context: Any
) -> None:
    noted.session.client("dynamodb").delete_table(TableName=noted.resources["PartnerActivityTable"])

    assert invoke(load_event("oioi/rfid-verify.json"), lambda_context) == (200, 0)
    assert invoke(load_event("oioi/session-post.json"), lambda_context) == (200, 0)
    assert noted.queued() == 1  # the CDR itself went through


def test_given_an_older_time_written_after_a_newer_one_then_the_newer_one_stays(noted: World) -> None:
    store = DynamoPartnerActivity(noted.session.client("dynamodb"), noted.resources["PartnerActivityTable"])
    newer = datetime(2026, 12, 1, 12, 0, 30, tzinfo=UTC)

    store.record("acme-cpo", Family.POI, newer)
    store.record("acme-cpo", Family.POI, newer - timedelta(seconds=20))  # a slower instance

    [activity] = store.list_all()
    assert activity.last_seen[Family.POI] == newer
