"""The intake contract over real HTTP: hostile and sloppy session-posts (hypothesis) sent to the
local stack's OIOI endpoint as a partner would; never a 5xx, and every post answered 0 ends up
in CdrTable (through the queue and the ingest function), none in the dead-letter queue."""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "receiver"))
from oioijson import PARTNER_IDENTIFIER, session_posts

pytestmark = pytest.mark.e2e
EXAMPLES = 80


@pytest.fixture(scope="module")
def api_key(stack: Any) -> str:
    printed = stack.bbctl(
        "partners", "create", "--name", "Intake Fuzz CPO", "--partner-identifier", PARTNER_IDENTIFIER,
        "--messages", "session-post", "--force-shared-identifier", "--json",
    ).stdout  # fmt: skip
    return str(json.loads(printed)["apiKey"])


def stored_sessions(stack: Any, partner_id: str, session_ids: set[str]) -> set[str]:
    dynamodb = stack.boto3_client("dynamodb")
    found = set()
    for session_id in session_ids:
        item = dynamodb.get_item(
            TableName=stack.ref("CdrTable"),
            Key={"pk": {"S": f"{partner_id}#{session_id}"}, "sk": {"S": "CDR"}},
        ).get("Item")
        if item is not None:
            found.add(session_id)
    return found


def test_given_hostile_session_posts_over_http_then_no_5xx_and_every_accepted_cdr_is_stored(
    stack: Any, api_key: str
) -> None:
    run = uuid.uuid4().hex[:8]
    accepted: set[str] = set()
    statuses: dict[int, int] = {}

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=session_posts(prefix=f"fuzz-{run}"))
    def post(body: str) -> None:
        response = httpx.post(
            f"{stack.api_url}/api/v4/request",
            content=body.encode("utf-8", "surrogatepass"),
            headers={"Authorization": f"key={api_key}", "Content-Type": "application/json"},
            timeout=60,
        )
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (response.status_code, response.text, body[:300])
        if response.status_code == 200:
            assert response.json()["result"]["code"] == 0
            accepted.add(str(json.loads(body)["session-post"]["session-id"]).strip())
        else:
            assert response.json()["result"]["code"] in (230, 211)

    post()

    partner_id = "intake-fuzz-cpo"
    deadline = time.monotonic() + 300  # covers one redelivery (visibility 180 s) under load
    missing = accepted
    while missing and time.monotonic() < deadline:
        missing = accepted - stored_sessions(stack, partner_id, missing)
        time.sleep(1)
    assert not missing, f"answered 0 but not stored: {sorted(missing)[:5]} (statuses {statuses})"
    assert 200 in statuses  # the campaign exercised both sides
    assert 400 in statuses
    dlq = stack.boto3_client("sqs").receive_message(
        QueueUrl=stack.ref("CdrDeadLetterQueue"), MaxNumberOfMessages=10
    )
    assert not [m for m in dlq.get("Messages", []) if f"fuzz-{run}" in m["Body"]]
