"""Billing events end to end on the local stack: session-posts over real HTTP, CdrQueue,
CdrIngestFunction, CdrTable, its stream, BillingEventsFunction, BillingEventBus, and a tap on
the bus (the one `bbctl billing tap` uses). The walkthrough of docs/billing-feed.md, "Events"."""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx
import pytest
from oioimessages import session_post
from waiting import eventually

from bbctl.ops_billing import BillingEventTap

pytestmark = pytest.mark.e2e

PARTNER_IDENTIFIER = "654321-654321-fedcba-cba321-654fed"
our_post = partial(session_post, partner_identifier=PARTNER_IDENTIFIER)
Events = Callable[[str], list[dict[str, Any]]]


@pytest.fixture(scope="module")
def api_key(stack: Any) -> str:
    printed = stack.bbctl(
        "partners", "create", "--name", "Billing e2e CPO", "--partner-identifier", PARTNER_IDENTIFIER,
        "--messages", "session-post", "--force-shared-identifier", "--json",
    ).stdout  # fmt: skip
    return str(json.loads(printed)["apiKey"])


@pytest.fixture(scope="module")
def events(stack: Any) -> Events:
    """`events(session_id)`: every billing event of that session seen on the bus so far."""
    tap = BillingEventTap(
        stack.boto3_client("events"),
        stack.boto3_client("sqs"),
        stack.ref("BillingEventBus"),
        "e2e-billing-tap",
    )
    queue_url = tap.attach()
    seen: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def of(session_id: str) -> list[dict[str, Any]]:
        while batch := tap.read(queue_url):
            for event in batch:
                seen[event["detail"]["sessionId"]].append(event)
        return list(seen[session_id])

    return of


def post(stack: Any, api_key: str, body: bytes) -> None:
    response = httpx.post(
        f"{stack.api_url}/api/v4/request",
        content=body,
        headers={"Authorization": f"key={api_key}", "Content-Type": "application/json"},
        timeout=60,
    )
    assert (response.status_code, response.json()["result"]["code"]) == (200, 0)


def types(found: list[dict[str, Any]]) -> list[str]:
    return sorted(event["detail-type"] for event in found)


def settled(events: Events, session_id: str, count: int) -> list[dict[str, Any]]:
    """The session's events once `count` arrived, and after a pause in which no more did."""
    eventually(lambda: len(events(session_id)) >= count, f"{count} billing event(s) of {session_id}")
    time.sleep(4)
    return events(session_id)


def test_given_session_posts_over_http_then_one_finalized_then_one_corrected_and_no_duplicate(
    stack: Any, api_key: str, events: Events
) -> None:
    session_id = f"e2e-bill-{uuid.uuid4().hex[:10]}"
    post(stack, api_key, our_post(session_id, final=False, energy="7.25"))
    post(stack, api_key, our_post(session_id, final=True, energy="16.5"))

    (finalized,) = settled(events, session_id, 1)
    assert finalized["detail-type"] == "CdrFinalized"
    assert finalized["source"] == "plugsurfing-backbone.cdr"
    detail = finalized["detail"]
    assert (detail["partnerId"], detail["kind"], detail["status"]) == ("billing-e2e-cpo", "CDR", "FINAL")
    assert (detail["energyKwh"], detail["costAmount"], detail["costCurrency"]) == ("16.5", "14.32", "EUR")
    assert (detail["startedAt"], detail["stoppedAt"]) == (
        "2026-03-01T10:00:00.000Z",
        "2026-03-01T16:00:00.000Z",
    )
    assert (detail["evseId"], detail["schemaVersion"]) == ("DE*8PS*ETABCD*1", "1")

    post(stack, api_key, our_post(session_id, final=True, energy="16.5"))  # redelivery
    time.sleep(4)
    assert types(events(session_id)) == ["CdrFinalized"]

    post(stack, api_key, our_post(session_id, final=True, energy="16.5", cost="15.10"))
    found = settled(events, session_id, 2)
    assert types(found) == ["CdrCorrected", "CdrFinalized"]
    corrected = next(event for event in found if event["detail-type"] == "CdrCorrected")
    assert (corrected["detail"]["kind"], corrected["detail"]["costAmount"]) == ("CORRECTION", "15.10")


def test_given_a_flagged_cdr_over_http_then_it_is_finalized_and_flagged(
    stack: Any, api_key: str, events: Events
) -> None:
    session_id = f"e2e-bill-flag-{uuid.uuid4().hex[:8]}"
    body = our_post(session_id, final=True, energy="16.5")
    post(stack, api_key, body.replace(b'"stop": "2026-03-01T17:00:00+01:00"', b'"stop": "soon"'))

    found = settled(events, session_id, 2)
    assert types(found) == ["CdrFinalized", "CdrFlagged"]
    flagged = next(event for event in found if event["detail-type"] == "CdrFlagged")
    assert flagged["detail"]["needsReview"] is True
    assert flagged["detail"]["anomalies"] == ["session-interval.stop: 'soon' is not an RFC 3339 date-time"]
    assert len({event["detail"]["eventId"] for event in found}) == 2


def test_given_the_operator_tap_then_it_prints_the_published_events(stack: Any, api_key: str) -> None:
    stack.bbctl("billing", "tap")  # attach the operator's tap
    session_id = f"e2e-bill-tap-{uuid.uuid4().hex[:8]}"
    post(stack, api_key, our_post(session_id, final=True, energy="3.5"))

    def printed() -> str | None:
        out = str(stack.bbctl("billing", "tap", "--json").stdout)
        return next((line for line in out.splitlines() if session_id in line), None)

    line = json.loads(eventually(printed, "the event in bbctl billing tap"))
    assert (line["detail-type"], line["detail"]["energyKwh"]) == ("CdrFinalized", "3.5")
    stack.bbctl("billing", "tap", "--remove")
