"""No function of the local stack logs a driver identifier (docs/privacy.md, "Logs and traces").

A key is imported and enabled (key sync creates it at the simulator), verified over OIOI
(rfid-verify), charged with (session-post, then CDR ingestion), and a Drive user orders a key
with a name and an address. Then no line any function printed (its JSON log lines and metrics,
the errors Lambda prints for it) holds the key's UID or key identifier, the user id, the name or
the address, in any spelling.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from driverids import leaks
from test_oioi_receivers import Partner, create_key, seed
from test_sessions_e2e import our_key_at_plugsurfing
from waiting import eventually

pytestmark = pytest.mark.e2e


def function_lines(logs: str) -> list[str]:
    """What the functions printed, among the stack's own lines: Powertools JSON (log lines and
    EMF metrics both carry `service`) and the `[ERROR]` line of an exception that escaped."""
    lines = []
    for line in logs.splitlines():
        if line.startswith("[ERROR]"):
            lines.append(line)
            continue
        start = line.find("{")
        if start < 0:
            continue
        try:
            record = json.loads(line[start:])
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "service" in record:
            lines.append(line)
    return lines


def services(lines: list[str], marker: str) -> set[str]:
    """The services whose lines mention `marker` (a correlation id: not personal)."""
    return {str(json.loads(line[line.find("{") :]).get("service")) for line in lines if marker in line}


def test_given_key_sync_rfid_verify_session_post_and_a_key_order_then_no_function_log_line_names_the_driver(
    stack: Any, tmp_path: Path
) -> None:
    # Key sync: the key created at the simulator (EMP, the local stack's mode).
    uid = our_key_at_plugsurfing(stack, tmp_path)

    # rfid-verify and session-post over OIOI with that key; the CDR goes through ingestion.
    partner = Partner(f"{stack.api_url}/api/v4/request", create_key(stack, "E2E privacy CPO")["apiKey"])
    verified = partner.send({"rfid-verify": {"rfid": uid}})
    assert (verified.status_code, verified.json()["result"]["code"]) == (200, 0)
    session_id = f"e2e-privacy-{uuid.uuid4().hex[:12]}"
    post = seed("session-post")
    post["session-post"]["user"] = {"identifier-type": "rfid", "identifier": uid}
    post["session-post"]["session-id"] = session_id
    assert partner.send(post).status_code == 200

    # A Drive user orders a key to their name and address.
    user = f"driver-{uuid.uuid4().hex[:8]}"
    name, street = "Erika Mustermann", f"Heidestraße {uuid.uuid4().int % 900 + 100}"
    request_id = f"e2e-privacy-{uuid.uuid4().hex[:12]}"  # not derived from the user: it is logged
    address = {"firstName": "Erika", "lastName": "Mustermann", "addressLine1": street, "postalCode": "51147",
               "city": "Köln", "country": "Germany"}  # fmt: skip
    stack.boto3_client("sqs").send_message(
        QueueUrl=stack.ref("DriveOrderQueue"),
        MessageBody=json.dumps(
            {"requestId": request_id, "userId": user, "address": address, "taxationCountry": "DE"}
        ),
    )

    def every_flow_logged() -> bool:
        lines = function_lines(stack.logs())
        return (
            "cdr-ingest" in services(lines, session_id)
            and "drive-order" in services(lines, request_id)
            and any('"key synced"' in line for line in lines)
        )

    eventually(every_flow_logged, "key sync, receiver, CDR ingestion and the Drive order logged", 90)
    lines = function_lines(stack.logs())

    # The capture sees each flow's lines (correlated by ids that are not personal) ...
    assert "cdr-ingest" in services(lines, session_id)
    assert "drive-order" in services(lines, request_id)
    # ... and none of them names the driver, however spelled.
    known = (uid, f"VN-{uid}", user, name, street, "Mustermann")
    assert leaks("\n".join(lines), known) == []
    # The check can fail: a planted `logger.info(uid)` line is caught.
    assert leaks(json.dumps({"service": "key-sync", "message": uid.lower()}), known) != []
