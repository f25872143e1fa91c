"""IAM enforced on the local stack (`devstack run --enforce-iam`): every function runs under a role
made of exactly its `Policies` from template.yaml, and moto refuses any call those policies do not
allow. A missing action fails here as AccessDenied instead of in AWS, and a grant wider than the
code needs shows up as a call that should fail but succeeds.

Covered: the OIOI endpoint (authorizer, rfid-verify, session-post, station-post), CDR ingestion,
the billing events publisher, the billing export, charging-key sync, the whitelist push, the order
crawl and fulfilment, the scheduled reconciliations, the retention purge and the internal session
API (start, status). Not covered: the session poller's tasks (moto's Step Functions interpreter
calls Lambda with credentials of its own).
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from waiting import eventually

from tests.e2e.conftest import REPO_ROOT, start_devstack, stop_devstack

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

UIDS = {"04523022AA4881": 0, "0477BD22AA4880": 192, "0477BD22AA4AAA": 191}  # bbctl demo load's keys


@pytest.fixture(scope="module")
def iam_stack() -> Iterator[tuple[RunningStack, dict[str, str]]]:
    """The product with IAM enforced; the role ARN of each function."""
    with tempfile.TemporaryDirectory(prefix="devstack-iam-") as workdir:
        process, running = start_devstack(
            REPO_ROOT / "template.yaml",
            Path(workdir),
            "--enforce-iam",
            "--parameter",
            "OrderCrawlStartDate=2020-01-01",
        )
        try:
            info = json.loads((Path(workdir) / "ready.json").read_text(encoding="utf-8"))
            assert info["iam_enforced"] is True
            yield running, info["function_roles"]
        finally:
            stop_devstack(process)


def as_function(stack: RunningStack, role_arn: str, service: str) -> Any:
    """A client holding a function's own credentials (its role, assumed)."""
    sts = stack.boto3_client("sts")
    issued = sts.assume_role(RoleArn=role_arn, RoleSessionName="iam-e2e")["Credentials"]
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=stack.aws_endpoint,
        region_name=stack.region,
        aws_access_key_id=issued["AccessKeyId"],
        aws_secret_access_key=issued["SecretAccessKey"],
        aws_session_token=issued["SessionToken"],
    )


def signed(stack: RunningStack, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    """A SigV4-signed request to the internal API (the local stack checks the header only)."""
    url = f"{stack.api_url}{path}"
    data = None if body is None else json.dumps(body)
    request = AWSRequest(method=method, url=url, data=data, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("testing", "testing"), "execute-api", stack.region).add_auth(request)
    return httpx.request(method, url, content=data, headers=dict(request.headers.items()), timeout=30)


def denied(call: Callable[[], Any]) -> bool:
    """The call was refused by IAM (moto answers 403 AccessDenied; for JSON protocols botocore
    reports the status as the code and keeps the body as the message)."""
    try:
        call()
    except ClientError as error:
        detail = error.response["Error"]
        return "AccessDenied" in f"{detail.get('Code')} {detail.get('Message')}"
    return False


def test_given_iam_enforced_when_partners_and_operators_use_the_stack_then_each_function_works_with_its_own(
    iam_stack: tuple[RunningStack, dict[str, str]], tmp_path: Path
) -> None:
    stack, _ = iam_stack
    # Warm the authorizer first: on a busy machine its cold start can exceed its 10 s timeout
    # (the local stack counts the init in the timeout; Lambda gives init its own 10 s).
    unknown = {"Authorization": "key=Qm9ndXNrZXlub3Rpc3N1ZWRieWFueW9uZWF0YWxsMDA"}
    eventually(
        lambda: (
            httpx.post(
                f"{stack.api_url}/api/v4/request", content=b"{}", headers=unknown, timeout=60
            ).status_code
            == 403
        ),
        "authorizer warm",
    )
    demo = stack.bbctl("demo", "load", "--api-url", stack.api_url).stdout  # station-post included
    api_key = next(line.split("=", 1)[1] for line in demo.splitlines() if line.startswith("export OIOI_KEY="))
    identifier = next(
        line.split("=", 1)[1] for line in demo.splitlines() if line.startswith("export PARTNER_IDENTIFIER=")
    )
    headers = {"Authorization": f"key={api_key}"}
    endpoint = f"{stack.api_url}/api/v4/request"

    codes = {
        uid: httpx.post(endpoint, json={"rfid-verify": {"rfid": uid}}, headers=headers, timeout=30).json()[
            "result"
        ]["code"]
        for uid in UIDS
    }
    session_id = f"iam-{uuid.uuid4().hex[:8]}"
    posted = httpx.post(
        endpoint,
        headers=headers,
        timeout=30,
        json={
            "session-post": {
                "user": {"identifier": "04523022AA4881", "identifier-type": "rfid"},
                "session-id": session_id,
                "connector-id": "DE*DMO*E000001*1",
                "session-interval": {
                    "start": "2026-11-21T10:00:00+01:00",
                    "stop": "2026-11-21T11:30:00+01:00",
                },
                "energy-consumed": 16.5,
                "calculated-cost": {"amount": 14.32, "currency": "EUR"},
                "partner-identifier": identifier,
            }
        },
    )
    eventually(
        lambda: stack.boto3_client("dynamodb").query(
            TableName=stack.ref("CdrTable"),
            IndexName="BySession",
            KeyConditionExpression="sessionId = :s",
            ExpressionAttributeValues={":s": {"S": session_id}},
        )["Count"],
        "CDR stored",
    )
    pushed = stack.fire(
        "WhitelistPushFunction", None, {"trigger": "manual", "override": True, "reason": "iam"}
    )

    run = uuid.uuid4().hex[:8].upper()
    keys_file = tmp_path / "keys.csv"
    keys_file.write_text(f"uid,visual_number\n04{run}0001,VN-{run}\n", encoding="utf-8")
    stack.bbctl("keys", "import", str(keys_file))
    stack.bbctl("orders", "map-org", f"org-{run}", f"fleet-{run}")
    order = {"id": f"{run}-A", "organizationId": f"org-{run}", "quantity": 1}
    httpx.post(f"{stack.sim_url}/_sim/orders", json=order, timeout=30).raise_for_status()
    stack.fire("OrderCrawlFunction", "Crawl")
    assigned = eventually(
        lambda: "ASSIGNED" in stack.bbctl("orders", "show", f"{run}-A", check=False).stdout, "order ASSIGNED"
    )
    request_id = f"iam-{uuid.uuid4().hex[:12]}"
    start = {"requestId": request_id, "connectorId": "iam-connector-1", "keyIdentifier": "04523022AA4881"}
    started = signed(stack, "POST", "/internal/sessions", start)
    looked_up = signed(stack, "GET", f"/internal/sessions/{request_id}")
    reconciled = [
        stack.fire(function, event)
        for function, event in (
            ("KeyReconcileFunction", "Scheduled"),
            ("CdrReconcileFunction", "Hourly"),
            ("DriveOrderFunction", "TrackOrders"),
            ("PrivacyPurgeFunction", "Daily"),  # reads the pepper: the CDR above has no driverHash yet
            ("PartnerHealthFunction", "Every15Minutes"),
        )
    ]
    # The CDR posted above was received today (UTC): today's export has it.
    exported = stack.admin(
        "POST", "invoke/BillingExportFunction", {"day": datetime.now(UTC).date().isoformat()}
    )

    assert codes == UIDS
    assert posted.json()["result"]["code"] == 0
    assert pushed["status"] == "ok", pushed
    assert pushed["result"]["outcome"] == "SENT", pushed
    assert assigned
    assert started.status_code == 202, started.text
    assert looked_up.status_code == 200, looked_up.text
    assert [fired["status"] for fired in reconciled] == ["ok"] * 5, reconciled
    assert exported["status"] == "ok", exported
    assert exported["result"]["days"][0]["rows"] >= 1, exported
    # The receiver noted the demo partner's accepted messages (its UpdateItem was allowed).
    assert reconciled[-1]["result"]["silent"] == [], reconciled[-1]
    activity = stack.boto3_client("dynamodb").scan(TableName=stack.ref("PartnerActivityTable"))["Items"]
    assert {"lastRfidVerifyAt", "lastSessionPostAt", "lastPoiAt"} <= set(activity[0]), activity
    invocations = stack.admin("GET", "invocations")
    refused = [
        entry
        for entry in invocations
        if "AccessDenied" in str(entry.get("errorMessage"))
        or "not authorized" in str(entry.get("errorMessage"))
    ]
    assert refused == []
    assert "AccessDenied" not in stack.logs(), "a function met AccessDenied and carried on"
    ran = {entry["function"] for entry in invocations if entry["status"] == "ok"}
    assert {
        "OioiAuthorizerFunction",
        "OioiReceiverFunction",
        "CdrIngestFunction",
        "KeySyncFunction",
        "WhitelistPushFunction",
        "OrderCrawlFunction",
        "OrderFulfilFunction",
        "KeyReconcileFunction",
        "CdrReconcileFunction",
        "DriveOrderFunction",
        "SessionApiFunction",
        "PartnerHealthFunction",
        "BillingEventsFunction",
        "BillingExportFunction",
        "PrivacyPurgeFunction",
    } <= ran


def test_given_each_function_role_then_calls_beyond_what_its_code_does_are_denied(
    iam_stack: tuple[RunningStack, dict[str, str]],
) -> None:
    stack, roles = iam_stack
    keys, cdrs = stack.ref("ChargingKeysTable"), stack.ref("CdrTable")
    partners = stack.ref("PartnersTable")
    receiver = as_function(stack, roles["OioiReceiverFunction"], "dynamodb")
    ingest = as_function(stack, roles["CdrIngestFunction"], "dynamodb")
    sync = as_function(stack, roles["KeySyncFunction"], "dynamodb")
    push = as_function(stack, roles["WhitelistPushFunction"], "dynamodb")
    authorizer = as_function(stack, roles["OioiAuthorizerFunction"], "dynamodb")
    billing = as_function(stack, roles["BillingEventsFunction"], "events")
    billing_reads = as_function(stack, roles["BillingEventsFunction"], "dynamodb")
    a_key = {"uid": {"S": "04523022AA4881"}}
    a_cdr = {"pk": {"S": "demo-cpo#none"}, "sk": {"S": "CDR"}}

    # The internet-facing receiver reads one key by UID; it can never list them.
    assert not denied(lambda: receiver.get_item(TableName=keys, Key=a_key))
    assert denied(lambda: receiver.scan(TableName=keys))
    # Final CDRs are immutable: ingestion only puts conditionally, never deletes or batch-overwrites.
    assert not denied(lambda: ingest.get_item(TableName=cdrs, Key=a_cdr))
    assert denied(lambda: ingest.delete_item(TableName=cdrs, Key=a_cdr))
    assert denied(lambda: ingest.update_item(TableName=cdrs, Key=a_cdr, UpdateExpression="SET x = :x",
                                             ExpressionAttributeValues={":x": {"S": "x"}}))  # fmt: skip
    assert denied(lambda: ingest.batch_write_item(RequestItems={cdrs: [{"DeleteRequest": {"Key": a_cdr}}]}))
    # Key sync records outcomes; it never deletes or replaces a key.
    assert denied(lambda: sync.delete_item(TableName=keys, Key=a_key))
    assert denied(lambda: sync.put_item(TableName=keys, Item=a_key))
    # The push reads the sparse Whitelist index, never the whole table.
    assert not denied(
        lambda: push.query(
            TableName=keys,
            IndexName="Whitelist",
            KeyConditionExpression="whitelist = :on",
            ExpressionAttributeValues={":on": {"S": "ENABLED"}},
        )
    )
    assert denied(lambda: push.scan(TableName=keys))
    # The receiver only stamps a partner's last-seen times; it cannot read other partners' activity.
    activity = stack.ref("PartnerActivityTable")
    assert denied(lambda: receiver.scan(TableName=activity))
    assert denied(lambda: receiver.delete_item(TableName=activity, Key={"partnerId": {"S": "demo-cpo"}}))
    # The billing export reads the sparse ByBillingDay index (no raw payload, no driver id), never
    # the table or another index.
    export = as_function(stack, roles["BillingExportFunction"], "dynamodb")
    assert not denied(
        lambda: export.query(
            TableName=cdrs,
            IndexName="ByBillingDay",
            KeyConditionExpression="billingDay = :d",
            ExpressionAttributeValues={":d": {"S": "2026-03-01"}},
        )
    )
    assert denied(lambda: export.get_item(TableName=cdrs, Key=a_cdr))
    # It writes export files; it cannot read them back or write elsewhere in the bucket.
    bucket = stack.ref("BillingExportBucket")
    export_s3 = as_function(stack, roles["BillingExportFunction"], "s3")
    assert not denied(lambda: export_s3.put_object(Bucket=bucket, Key="cdr-export/iam-probe", Body=b""))
    assert denied(lambda: export_s3.put_object(Bucket=bucket, Key="elsewhere/iam-probe", Body=b""))
    assert denied(lambda: export_s3.get_object(Bucket=bucket, Key="cdr-export/iam-probe"))
    assert denied(
        lambda: export.query(
            TableName=cdrs,
            IndexName="BySession",
            KeyConditionExpression="sessionId = :s",
            ExpressionAttributeValues={":s": {"S": "none"}},
        )
    )
    # The authorizer looks up one key hash; it cannot enumerate the partners' keys.
    assert denied(lambda: authorizer.scan(TableName=partners))
    # The billing publisher puts events on its own bus only; the CDRs come with the stream records.
    event = {"Source": "iam-e2e", "DetailType": "probe", "Detail": "{}"}
    assert not denied(
        lambda: billing.put_events(Entries=[event | {"EventBusName": stack.ref("BillingEventBus")}])
    )
    assert denied(
        lambda: billing.put_events(Entries=[event | {"EventBusName": stack.ref("SessionEventBus")}])
    )
    assert denied(lambda: billing_reads.scan(TableName=cdrs))
    assert denied(
        lambda: authorizer.query(
            TableName=partners,
            IndexName="ByKeyId",
            KeyConditionExpression="keyId = :k",
            ExpressionAttributeValues={":k": {"S": "x"}},
        )
    )
