"""Drive mode from the charger to the CDR on the local stack (issue 19): an app backend that knows
only the EVSE id printed on the charger and where its driver stands starts a session through the
SigV4-signed internal API, follows it to STARTED, stops it and finds its CDR; its users are new
to Plugsurfing and created by the product (the simulator, like Plugsurfing, refuses a start or a
key activation for a user it does not know). The simulator seeds `DE*ION*E1234*1` (one
connector) and `DE*ION*E1234*2` (two) near seed 000's example point."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from test_sessions_e2e import find_cdr, signed, table_status
from waiting import eventually

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

NEAR = {"latitude": 52.331142, "longitude": 13.145221}
DRIVE_STACK = ("--stack-name", "backbone-drive", "--partner-mode", "drive")  # conftest.drive_stack


def sim_state(stack: RunningStack) -> dict[str, Any]:
    return dict(httpx.get(f"{stack.sim_url}/_sim/state", timeout=30).json())


def new_drive_user(stack: RunningStack) -> str:
    """A user of the app that Plugsurfing has never heard of: nobody creates it by hand."""
    user = f"driver-{uuid.uuid4().hex[:8]}"
    assert user not in sim_state(stack)["users"]
    return user


def test_given_an_evse_id_near_the_driver_then_a_session_starts_on_its_connector_and_ends_with_a_cdr(
    drive_stack: RunningStack,
) -> None:
    request_id, user = f"e2e-evse-{uuid.uuid4().hex[:8]}", new_drive_user(drive_stack)
    body = {"requestId": request_id, "evseId": "de*ion*e1234*1", "userId": user, **NEAR}

    started = signed(drive_stack, "POST", "/internal/sessions", body)

    assert started.status_code == 202, started.text
    assert started.json()["connectorId"] == "abcJd/vR5fvzBa0X/gxaXA=="
    assert started.json()["evseId"] == "DE*ION*E1234*1"
    eventually(
        lambda: table_status(drive_stack, request_id).get("status", {}).get("S") == "STARTED", "STARTED"
    )
    session_id = table_status(drive_stack, request_id)["sessionId"]["S"]
    assert user in sim_state(drive_stack)["users"], "created before its first start"

    stopped = signed(drive_stack, "POST", f"/internal/sessions/{request_id}/stop")

    assert stopped.status_code == 202, stopped.text
    eventually(lambda: table_status(drive_stack, request_id)["status"]["S"] == "COMPLETE", "COMPLETE")
    assert eventually(lambda: find_cdr(drive_stack, session_id), "the session's CDR")


def test_given_an_evse_with_two_connectors_or_none_near_then_nothing_starts_and_the_answer_says_why(
    drive_stack: RunningStack,
) -> None:
    user = new_drive_user(drive_stack)
    two = {"requestId": f"e2e-two-{uuid.uuid4().hex[:8]}", "evseId": "DE*ION*E1234*2", "userId": user, **NEAR}
    far = {**two, "requestId": f"e2e-far-{uuid.uuid4().hex[:8]}", "evseId": "NL*ALL*EGO0000013*2"}
    nowhere = {"requestId": f"e2e-nowhere-{uuid.uuid4().hex[:8]}", "evseId": "DE*ION*E1234*1", "userId": user}

    several = signed(drive_stack, "POST", "/internal/sessions", two)
    missing = signed(drive_stack, "POST", "/internal/sessions", far)
    unlocated = signed(drive_stack, "POST", "/internal/sessions", nowhere)

    assert several.status_code == 409, several.text
    assert len(several.json()["connectors"]) == 2
    assert missing.status_code == 404, missing.text
    assert unlocated.status_code == 400, unlocated.text
    assert all(table_status(drive_stack, body["requestId"]) == {} for body in (two, far, nowhere))


def test_given_a_key_assigned_to_a_user_new_to_plugsurfing_then_enabling_it_activates_it_for_them(
    drive_stack: RunningStack, tmp_path: Path
) -> None:
    user, uid = new_drive_user(drive_stack), "04" + uuid.uuid4().hex[:12].upper()
    keys_file = tmp_path / "drive-key.csv"
    keys_file.write_text(f"uid,visual_number\n{uid},VN-{uid}\n", encoding="utf-8")

    drive_stack.bbctl("keys", "import", str(keys_file), *DRIVE_STACK)
    drive_stack.bbctl("keys", "assign", uid, "--user", user, *DRIVE_STACK)
    drive_stack.bbctl("keys", "enable", uid, *DRIVE_STACK)

    def activated_for_user() -> list[dict[str, Any]]:
        keys = sim_state(drive_stack)["driveKeys"].get(user, [])
        return [key for key in keys if key.get("referenceId") == f"VN-{uid}"]

    activated = eventually(activated_for_user, f"key {uid} activated for the new user {user}")
    assert activated[0]["enabled"] is True
    assert user in sim_state(drive_stack)["users"]
