"""The daily billing export end to end on the local stack: a session-post over real HTTP, through
CdrQueue and CdrIngestFunction into CdrTable; BillingExportFunction run for that day (as the
nightly schedule or a backfill runs it) puts it in the bucket with its exact amount; `bbctl cdr
export` writes the same CSV bytes (docs/billing-feed.md, "Export")."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from oioimessages import session_post
from waiting import eventually

pytestmark = pytest.mark.e2e

PARTNER_IDENTIFIER = "777777-654321-fedcba-cba321-e2e0exp"  # its own: partners never share one


def final_item(stack: Any, session_id: str) -> dict[str, Any] | None:
    items = stack.boto3_client("dynamodb").query(
        TableName=stack.ref("CdrTable"),
        IndexName="BySession",
        KeyConditionExpression="sessionId = :s",
        ExpressionAttributeValues={":s": {"S": session_id}},
    )["Items"]
    finals = [item for item in items if item["sk"]["S"] == "CDR" and item["status"]["S"] == "FINAL"]
    if not finals:
        return None
    # BySession projects kind and status only: the record itself is read from the table.
    key = {"pk": finals[0]["pk"], "sk": finals[0]["sk"]}
    dynamodb = stack.boto3_client("dynamodb")
    found: dict[str, Any] = dynamodb.get_item(TableName=stack.ref("CdrTable"), Key=key)["Item"]
    return found


def test_given_a_session_post_over_http_then_that_days_export_has_it_exactly_and_bbctl_writes_the_same_bytes(
    stack: Any,
) -> None:
    created = stack.bbctl(
        "partners", "create", "--name", "Export e2e CPO", "--partner-identifier", PARTNER_IDENTIFIER,
        "--messages", "session-post", "--json",
    ).stdout  # fmt: skip
    api_key = json.loads(created)["apiKey"]
    session_id = f"e2e-export-{uuid.uuid4().hex[:10]}"
    answer = httpx.post(
        f"{stack.api_url}/api/v4/request",
        content=session_post(session_id, PARTNER_IDENTIFIER, cost="0.30000000000000004"),
        headers={"Authorization": f"key={api_key}", "Content-Type": "application/json"},
        timeout=60,
    )
    assert (answer.status_code, answer.json()["result"]["code"]) == (200, 0)
    item = eventually(lambda: final_item(stack, session_id))
    day, partner = item["billingDay"]["S"], item["partnerId"]["S"]
    assert item["receivedAt"]["S"].startswith(day)

    run = stack.admin("POST", "invoke/BillingExportFunction", {"day": day})
    assert run["result"]["days"][0]["rows"] >= 1, run

    s3, bucket = stack.boto3_client("s3"), stack.ref("BillingExportBucket")
    key = f"cdr-export/day={day}/partner={partner}/cdrs.csv"
    in_bucket = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    [row] = [
        row
        for row in csv.DictReader(io.StringIO(in_bucket.decode(), newline=""))
        if row["sessionId"] == session_id
    ]
    assert (row["kind"], row["costAmount"], row["costCurrency"], row["energyKwh"]) == (
        "CDR",
        "0.30000000000000004",
        "EUR",
        "16.5",
    )
    assert "driverId" not in row
    assert b"04523022AA4881" not in in_bucket
    manifest = json.loads(
        s3.get_object(Bucket=bucket, Key=f"cdr-export/day={day}/manifest.json")["Body"].read()
    )
    [entry] = [entry for entry in manifest["partners"] if entry["partnerId"] == partner]
    assert entry["sha256"] == hashlib.sha256(in_bucket).hexdigest()

    with tempfile.TemporaryDirectory() as out:
        printed = stack.bbctl("cdr", "export", "--from", day, "--to", day, "--out", out)
        local = (Path(out) / f"day={day}" / f"partner={partner}" / "cdrs.csv").read_bytes()
        assert "CDRs exported" in printed.stderr
    assert local == in_bucket
