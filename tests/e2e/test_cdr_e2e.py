"""CDRs end to end on the local stack: a partner key made with `bbctl partners`, session-post over
real HTTP (an ongoing update, then the final CDR, then a re-post), CdrQueue, CdrIngestFunction,
CdrTable (the driver pseudonymised); `bbctl cdr show` and `bbctl cdr driver`; an invalid envelope
parked with its reason, shown by `bbctl cdr dlq` and sent back by `bbctl cdr redrive`. The
walkthrough of docs/cdr-ingestion.md, as a test."""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal
from functools import partial
from typing import Any

import httpx
import pytest
from oioimessages import session_post
from waiting import eventually

pytestmark = pytest.mark.e2e

PARTNER_IDENTIFIER = "123456-123456-abcdef-abc123-456def"
our_post = partial(session_post, partner_identifier=PARTNER_IDENTIFIER)


def bbctl(stack: Any, *argv: str, check: bool = True) -> str:
    """`python -m bbctl ...` against the local stack; what it printed."""
    return str(stack.bbctl(*argv, check=check).stdout)


@pytest.fixture(scope="module")
def api_key(stack: Any) -> str:
    printed = bbctl(
        stack,
        "partners", "create", "--name", "CDR e2e CPO", "--partner-identifier", PARTNER_IDENTIFIER,
        "--messages", "session-post", "--force-shared-identifier", "--json",
    )  # fmt: skip
    return str(json.loads(printed)["apiKey"])


def post(stack: Any, api_key: str, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{stack.api_url}/api/v4/request",
        content=body,
        headers={"Authorization": f"key={api_key}", "Content-Type": "application/json"},
        timeout=60,
    )


def current_item(stack: Any, session_id: str) -> dict[str, Any] | None:
    """The session's current record: its key from BySession (which projects keys, kind and
    status only), the item from the table."""
    dynamodb = stack.boto3_client("dynamodb")
    keys = dynamodb.query(
        TableName=stack.ref("CdrTable"),
        IndexName="BySession",
        KeyConditionExpression="sessionId = :s",
        ExpressionAttributeValues={":s": {"S": session_id}},
    )["Items"]
    current = [{"pk": key["pk"], "sk": key["sk"]} for key in keys if key["sk"]["S"] == "CDR"]
    if not current:
        return None
    item: dict[str, Any] | None = dynamodb.get_item(
        TableName=stack.ref("CdrTable"), Key=current[0], ConsistentRead=True
    ).get("Item")
    return item


def test_given_a_session_post_over_http_then_the_cdr_is_in_the_table_and_completed_once(
    stack: Any, api_key: str
) -> None:
    session_id = f"e2e-{uuid.uuid4().hex[:12]}"

    ongoing = post(stack, api_key, our_post(session_id, final=False, energy="7.25", cost=None))
    assert (ongoing.status_code, ongoing.json()["result"]["code"]) == (200, 0)
    first = eventually(lambda: current_item(stack, session_id))
    assert first["status"] == {"S": "ONGOING"}

    final = post(stack, api_key, our_post(session_id, final=True, energy="16.5", cost="14.32"))
    assert final.status_code == 200

    def completed() -> dict[str, Any] | None:
        item = current_item(stack, session_id)
        return item if item and item["status"]["S"] == "FINAL" else None

    done = eventually(completed)
    assert Decimal(done["energyKwh"]["N"]) == Decimal("16.5")
    assert (done["costAmount"], done["costCurrency"]) == ({"N": "14.32"}, {"S": "EUR"})
    assert done["stoppedAt"] == {"S": "2026-03-01T16:00:00.000Z"}
    assert "+01:00" in done["raw"]["S"]
    # The driver: raw id in driverId only (for billing, until the retention purge); the index key
    # and the stored payload carry the pseudonym (docs/privacy.md, "Pseudonymisation").
    assert done["driverId"] == {"S": "04523022AA4881"}
    assert done["driverKey"]["S"] == f"rfid#{done['driverHash']['S']}"
    assert done["driverHash"]["S"].startswith("h1:")
    assert "04523022AA4881" not in done["raw"]["S"]

    again = post(stack, api_key, our_post(session_id, final=True, energy="16.50", cost="14.32"))
    assert again.status_code == 200
    time.sleep(5)  # the re-post went through the queue by now; it must change nothing
    assert current_item(stack, session_id) == done

    shown = json.loads(bbctl(stack, "cdr", "show", session_id, "--json"))
    assert [(v["kind"], v["status"], v["energyKwh"]) for v in shown] == [("CDR", "FINAL", "16.5")]
    by_driver = json.loads(bbctl(stack, "cdr", "driver", "rfid", "4523022aa4881", "--json"))  # as typed
    assert session_id in [view["sessionId"] for view in by_driver]


def test_given_an_invalid_cdr_on_the_queue_then_dlq_shows_the_reason_and_redrive_sends_it_back(
    stack: Any,
) -> None:
    session_id = f"e2e-bad-{uuid.uuid4().hex[:8]}"
    envelope = {
        "source": "oioi",
        "partnerId": "cdr#e2e",  # no partner id holds a '#' (it is part of the table key)
        "receivedAt": "2026-03-01T17:05:00.000Z",
        "raw": our_post(session_id, final=True, energy="16.5", cost=None).decode(),
    }
    sqs = stack.boto3_client("sqs")
    sqs.send_message(QueueUrl=stack.ref("CdrQueue"), MessageBody=json.dumps(envelope))

    def parked() -> str | None:
        listing = bbctl(stack, "cdr", "dlq", "--json", "--limit", "50")
        return next((line for line in listing.splitlines() if session_id in line), None)

    letter = json.loads(eventually(parked))
    assert "partnerId" in letter["reason"]
    assert current_item(stack, session_id) is None  # never half-written

    assert "sent back to the CDR queue" in bbctl(stack, "cdr", "redrive")
    eventually(parked)  # ingestion refuses it again, with the same reason: it needs a fix, not a retry


def test_given_a_sloppy_billable_cdr_over_http_then_it_is_stored_flagged_and_an_operator_resolves_it(
    stack: Any, api_key: str
) -> None:
    session_id = f"e2e-sloppy-{uuid.uuid4().hex[:8]}"
    body = our_post(session_id, final=True, energy='"16.5"', cost="14.32")
    body = body.replace(b'"EUR"', b'"eur"').replace(b'"stop": "2026-03-01T17:00:00+01:00"', b'"stop": "soon"')

    response = post(stack, api_key, body)

    assert (response.status_code, response.json()["result"]["code"]) == (200, 0)
    stored = eventually(lambda: current_item(stack, session_id))
    assert (stored["status"]["S"], stored["energyKwh"]["N"], stored["costCurrency"]["S"]) == (
        "FINAL",
        "16.5",
        "EUR",
    )
    assert stored["needsReview"]["S"] == "OPEN"
    assert [a["S"] for a in stored["anomalies"]["L"]] == [
        "session-interval.stop: 'soon' is not an RFC 3339 date-time"
    ]

    listed = [json.loads(line) for line in bbctl(stack, "cdr", "review", "list", "--json").splitlines()]
    assert session_id in [view["sessionId"] for view in listed]
    assert "resolved" in bbctl(
        stack, "cdr", "review", "resolve", "cdr-e2e-cpo", session_id, "--note", "stop 17:00"
    )
    listed = [json.loads(line) for line in bbctl(stack, "cdr", "review", "list", "--json").splitlines()]
    assert session_id not in [view["sessionId"] for view in listed]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (
            b'{"session-post": {"session-id": "   ", "partner-identifier": "'
            + PARTNER_IDENTIFIER.encode()
            + b'"}}',
            "session-post.session-id",
        ),
        (b'{"session-post": {"x": ' + b"[" * 1000 + b"]" * 1000 + b"}}", "nested"),
    ],
)
def test_given_a_post_that_names_no_session_over_http_then_400_code_230_and_nothing_stored(
    stack: Any, api_key: str, body: bytes, named: str
) -> None:
    response = post(stack, api_key, body)

    assert (response.status_code, response.json()["result"]["code"]) == (400, 230)
    assert named in response.json()["error"]
