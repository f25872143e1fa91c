"""Every function that calls Plugsurfing counts its calls (docs/deployment.md, "Metrics"): on the
local stack, the EMF lines the functions print carry `PartnerCalls` with the partner API and the
outcome, under each function's own service name. The session poller and the whitelist push used
to build their clients themselves and printed none; now every client comes from one factory.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_sessions_e2e import our_key_at_plugsurfing, signed, table_status
from waiting import eventually

pytestmark = pytest.mark.e2e


def partner_calls(logs: str) -> Iterator[dict[str, Any]]:
    """Each EMF record of the logs that counts partner calls."""
    for line in logs.splitlines():
        start = line.find("{")
        if start < 0 or '"PartnerCalls"' not in line:
            continue
        try:
            record = json.loads(line[start:])
        except json.JSONDecodeError:
            continue
        directives = record.get("_aws", {}).get("CloudWatchMetrics", [])
        if any(metric["Name"] == "PartnerCalls" for d in directives for metric in d.get("Metrics", [])):
            yield record


def counted(stack: Any, service: str, api: str) -> bool:
    return any(
        record.get("service") == service and record.get("api") == api and record.get("outcome") == "ok"
        for record in partner_calls(stack.logs())
    )


def test_given_the_functions_that_call_plugsurfing_when_they_run_then_each_counts_its_calls(
    stack: Any, tmp_path: Path
) -> None:
    # Key sync creates the key at Plugsurfing (EMP, the local stack's mode).
    uid = our_key_at_plugsurfing(stack, tmp_path)
    eventually(lambda: counted(stack, "key-sync", "emp"), "key-sync PartnerCalls (emp)")

    # The session poller starts and follows a session.
    request_id = f"e2e-metrics-{uuid.uuid4().hex[:8]}"
    body = {"requestId": request_id, "connectorId": "e2e-connector-metrics", "keyIdentifier": uid}
    assert signed(stack, "POST", "/internal/sessions", body).status_code == 202
    eventually(lambda: table_status(stack, request_id).get("status", {}).get("S") == "STARTED", "STARTED")
    eventually(lambda: counted(stack, "session-tasks", "emp"), "session-tasks PartnerCalls (emp)")
    assert signed(stack, "POST", f"/internal/sessions/{request_id}/stop").status_code == 202

    # The whitelist push sends rfid-post over OIOI (the key above is enabled: the list is not empty).
    stack.bbctl("whitelist", "push")
    eventually(lambda: counted(stack, "whitelist-push", "oioi"), "whitelist-push PartnerCalls (oioi)")

    # Key reconciliation lists the keys Plugsurfing holds.
    stack.fire("KeyReconcileFunction")
    eventually(lambda: counted(stack, "key-reconcile", "emp"), "key-reconcile PartnerCalls (emp)")

    # The count can fail: a function that calls no partner prints no PartnerCalls.
    assert not any(record.get("service") == "oioi-authorizer" for record in partner_calls(stack.logs()))
