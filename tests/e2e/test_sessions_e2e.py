"""Remote sessions on the local stack: start one over the SigV4-signed internal API against the
simulator, watch its status change in SessionsTable and on SessionEventBus, stop it, find its
CDR (docs/session-poller.md, "Walkthrough"). EMP mode, the template's default."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from waiting import eventually

pytestmark = pytest.mark.e2e

TIMEOUT_S = 120  # real time: a start is seen within 10 s, a stop within 15 s (less with --wait-speedup)


def signed(stack: Any, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    """A request to the internal API signed like `curl --aws-sigv4 aws:amz:<region>:execute-api`."""
    url = f"{stack.api_url}{path}"
    data = None if body is None else json.dumps(body)
    request = AWSRequest(method=method, url=url, data=data, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("testing", "testing"), "execute-api", stack.region).add_auth(request)
    return httpx.request(method, url, content=data, headers=dict(request.headers.items()), timeout=30)


@pytest.fixture
def event_tap(stack: Any) -> Iterator[str]:
    """What an operator does to watch the bus: a rule sending SessionStatusChanged to a queue."""
    sqs, events = stack.boto3_client("sqs"), stack.boto3_client("events")
    name = f"session-events-tap-{uuid.uuid4().hex[:8]}"
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    bus = stack.ref("SessionEventBus")
    pattern = {"source": ["backbone.sessions"], "detail-type": ["SessionStatusChanged"]}
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "tap", "Arn": queue_arn}])
    yield queue_url
    events.remove_targets(Rule=name, EventBusName=bus, Ids=["tap"])
    events.delete_rule(Name=name, EventBusName=bus)
    sqs.delete_queue(QueueUrl=queue_url)


def drain(stack: Any, queue_url: str) -> list[dict[str, Any]]:
    sqs = stack.boto3_client("sqs")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(message["Body"]) for message in messages]


def table_status(stack: Any, request_id: str) -> dict[str, Any]:
    item = stack.boto3_client("dynamodb").get_item(
        TableName=stack.ref("SessionsTable"), Key={"requestId": {"S": request_id}}, ConsistentRead=True
    )
    return item.get("Item", {})


def find_cdr(stack: Any, session_id: str) -> dict[str, Any] | None:
    """In CdrTable once ingestion ran (CdrIngestFunction drains CdrQueue), else still queued."""
    if "CdrTable" in stack.resources:
        item = stack.boto3_client("dynamodb").get_item(
            TableName=stack.ref("CdrTable"),
            Key={"pk": {"S": f"plugsurfing#{session_id}"}, "sk": {"S": "CDR"}},
        )
        return item.get("Item")
    for envelope in drain(stack, stack.ref("CdrQueue")):
        if json.loads(envelope["raw"]).get("sessionId") == session_id:
            return envelope
    return None


def our_key_at_plugsurfing(stack: Any, tmp_path: Path) -> str:
    """A charging key of ours, imported and enabled with the CLI; key sync creates it at the
    simulator, which refuses a session start with a key it does not know. Its UID."""
    uid = "04" + uuid.uuid4().hex[:12].upper()
    keys_file = tmp_path / "session-key.csv"
    keys_file.write_text(f"uid,visual_number\n{uid},VN-{uid}\n", encoding="utf-8")
    stack.bbctl("keys", "import", str(keys_file))
    stack.bbctl("keys", "enable", uid)
    identifier = bytes.fromhex(uid)[::-1].hex()

    def created() -> bool:
        state = httpx.get(f"{stack.sim_url}/_sim/state", timeout=10).json()
        return any(key["sentKeyIdentifier"] == identifier for key in state["empKeys"])

    eventually(created, f"key {uid} created at the simulator", TIMEOUT_S)
    return uid


def test_start_watch_stop_and_find_the_cdr_of_a_remote_session(
    stack: Any, event_tap: str, tmp_path: Path
) -> None:
    request_id = f"e2e-{uuid.uuid4().hex[:12]}"
    uid = our_key_at_plugsurfing(stack, tmp_path)
    body = {"requestId": request_id, "connectorId": "e2e-connector-1", "keyIdentifier": uid}

    unsigned = httpx.post(f"{stack.api_url}/internal/sessions", json=body, timeout=30)
    started = signed(stack, "POST", "/internal/sessions", body)
    repeated = signed(stack, "POST", "/internal/sessions", body)

    assert unsigned.status_code == 403, "the internal API is IAM-authorised"
    assert started.status_code == 202, started.text
    assert repeated.status_code == 200
    assert repeated.json()["executionArn"] == started.json()["executionArn"]

    charging = eventually(
        lambda: table_status(stack, request_id).get("status", {}).get("S") == "STARTED", "STARTED"
    )
    assert charging
    session_id = table_status(stack, request_id)["sessionId"]["S"]

    stopped = signed(stack, "POST", f"/internal/sessions/{request_id}/stop")
    assert stopped.status_code == 202, stopped.text
    assert stopped.json()["executionArn"].endswith(f":{request_id}.stop")

    eventually(lambda: table_status(stack, request_id)["status"]["S"] == "COMPLETE", "COMPLETE")
    view = signed(stack, "GET", f"/internal/sessions/{session_id}").json()
    statuses = [entry["status"] for entry in view["history"]]
    assert statuses[:3] == ["REQUESTED", "STARTING", "STARTED"]
    assert "COMPLETE" in statuses
    assert view["stopRequestedAt"]

    seen: list[dict[str, Any]] = []

    def bus_reached_complete() -> bool:
        seen.extend(event for event in drain(stack, event_tap) if event["detail"]["requestId"] == request_id)
        return any(event["detail"]["status"] == "COMPLETE" for event in seen)

    eventually(bus_reached_complete, "SessionStatusChanged COMPLETE on the bus")
    assert [e["detail"]["status"] for e in seen][:2] == ["STARTING", "STARTED"]

    cdr = eventually(lambda: find_cdr(stack, session_id), "the session's CDR")
    assert cdr
    sim = httpx.get(f"{stack.sim_url}/_sim/requests", params={"method": "POST"}, timeout=10).json()[
        "requests"
    ]
    assert any(entry["path"].endswith(f"/sessions/{session_id}/stop") for entry in sim)
