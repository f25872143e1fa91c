"""Charging keys on the local stack: the operator CLI imports and changes keys, the table stream
runs KeySyncFunction, and the Plugsurfing simulator ends up with the key (docs/charging-keys.md)."""

from __future__ import annotations

import secrets
import subprocess
from datetime import UTC, datetime
from typing import Any

import boto3
import httpx
import pytest
from waiting import eventually

from backbone.keys.aws import KeyStore
from backbone.oioi.identifiers import uid_to_key_identifier

pytestmark = pytest.mark.e2e

SYNC_TIMEOUT_S = 45


def bbctl(stack: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bbctl ...` against the local stack; the test reads the exit code itself."""
    result: subprocess.CompletedProcess[str] = stack.bbctl(*args, check=False)
    return result


def sim_emp_key(stack: Any, sent_identifier: str) -> dict[str, Any] | None:
    state = httpx.get(f"{stack.sim_url}/_sim/state", timeout=10).json()
    return next((k for k in state["empKeys"] if k["sentKeyIdentifier"] == sent_identifier), None)


def whitelist_now(stack: Any) -> list[str]:
    """What the whitelist push reads: the sparse Whitelist index of the stack's table."""
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=stack.region
    )
    table = session.resource("dynamodb", endpoint_url=stack.aws_endpoint).Table(
        stack.ref("ChargingKeysTable")
    )
    return [uid for page in KeyStore(table).iter_whitelist_pages(datetime.now(UTC)) for uid in page]


def pushed_whitelist(stack: Any) -> list[str]:
    """Run the whitelist push now (an audited manual push that bypasses its shrink/empty guards:
    this test empties the list on purpose) and return what the simulator received."""
    stack.fire("WhitelistPushFunction", None, {"trigger": "manual", "override": True, "reason": "keys e2e"})
    latest = httpx.get(f"{stack.sim_url}/_sim/whitelists", timeout=10).json()["latest"]
    return [uid for uids in latest.values() for uid in uids]


def test_given_imported_keys_when_one_is_enabled_then_disabled_the_simulator_and_whitelist_follow(
    stack, tmp_path
):
    # Fresh 7-byte UIDs: the stack is shared by the whole e2e session.
    uid, other = secrets.token_hex(7).upper(), secrets.token_hex(7).upper()
    identifier = uid_to_key_identifier(uid)  # what Plugsurfing must receive (little-endian)
    visual = f"E2E-{uid}"
    keys_file = tmp_path / "keys.csv"
    keys_file.write_text(f"uid,visual_number,type\n{uid},{visual},card\n{other},E2E-{other},tag\n")
    endpoint = ["--endpoint-url", stack.aws_endpoint]

    imported = bbctl(stack, "keys", "import", str(keys_file), *endpoint)
    assert imported.returncode == 0, imported.stderr
    assert "imported 2 key(s)" in imported.stdout
    again = bbctl(stack, "keys", "import", str(keys_file), *endpoint)
    assert again.returncode == 1
    assert "already in the table" in again.stderr

    enabled = bbctl(stack, "keys", "enable", uid, *endpoint)
    assert enabled.returncode == 0, enabled.stderr
    created = eventually(lambda: sim_emp_key(stack, identifier), "the key at the simulator")
    assert (created["visualNumber"], created["enabled"]) == (visual, True)
    assert uid in whitelist_now(stack)
    assert uid in pushed_whitelist(stack)
    shown = bbctl(stack, "keys", "show", visual, *endpoint)
    assert '"state": "ACTIVE"' in shown.stdout

    disabled = bbctl(stack, "keys", "disable", visual, *endpoint)
    assert disabled.returncode == 0, disabled.stderr
    eventually(lambda: sim_emp_key(stack, identifier)["enabled"] is False, "the key disabled there")
    assert uid not in whitelist_now(stack)
    assert uid not in pushed_whitelist(stack)
    listed = bbctl(stack, "keys", "list", "--state", "DISABLED", *endpoint)
    assert uid in listed.stdout
    assert other not in listed.stdout
