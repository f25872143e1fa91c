"""The whitelist push on the local stack: the schedule fires WhitelistPushFunction, the Plugsurfing
simulator ends up with exactly the enabled, valid, normalised UIDs; an empty list is refused
(docs/whitelist-push.md, walkthrough)."""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest

from backbone.keys.aws import KeyStore
from backbone.keys.models import ChargingKey, KeyState
from backbone.keys.rule import may_charge
from backbone.oioi.identifiers import uid_to_key_identifier

pytestmark = pytest.mark.e2e

PARTNER = "local-partner-identifier-0001"  # OioiPartnerIdentifierSecret, tools/devstack/local_values.yaml


def key_table(stack: Any) -> Any:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=stack.region
    )
    return session.resource("dynamodb", endpoint_url=stack.aws_endpoint).Table(stack.ref("ChargingKeysTable"))


def new_key(raw_uid: str, **fields: Any) -> ChargingKey:
    values: dict[str, Any] = {
        "uid": raw_uid,
        "keyIdentifier": uid_to_key_identifier(raw_uid),
        "visualNumber": f"E2E-{raw_uid}",
        "state": KeyState.ACTIVE,
        "enabled": True,
    }
    return ChargingKey.model_validate(values | fields)


def whitelistable_now(table: Any) -> list[str]:
    """The oracle, independent of the push's index query: scan every key, keep the enabled,
    ACTIVE ones whose validity window contains now."""
    now = datetime.now(UTC)
    uids: set[str] = set()
    arguments: dict[str, Any] = {}
    while True:
        page = table.scan(**arguments)
        for item in page.get("Items", []):
            key = ChargingKey.from_item(item)
            if may_charge(key, now):
                uids.add(key.uid)
        if "LastEvaluatedKey" not in page:
            return sorted(uids)
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def received(stack: Any) -> list[str] | None:
    latest = httpx.get(f"{stack.sim_url}/_sim/whitelists", timeout=10).json()["latest"]
    return latest.get(PARTNER)


def bbctl(stack: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bbctl whitelist ...` against the local stack; the test reads the exit code."""
    result: subprocess.CompletedProcess[str] = stack.bbctl("whitelist", *args, check=False)
    return result


def test_given_seeded_keys_when_the_schedule_fires_then_the_simulator_holds_exactly_the_valid_normalised_uids(
    stack: Any,
) -> None:
    table = key_table(stack)
    keys = KeyStore(table)
    now = datetime.now(UTC)
    tag = secrets.token_hex(3)  # fresh UIDs: the stack is shared with other e2e tests
    upper = tag.upper()
    # raw UID as an operator may type it -> what the receiver must get (upper case, 8/14/20)
    valid = {tag: f"00{upper}", f"{tag}ab12cd34": f"{upper}AB12CD34", f"{tag}0a0b": f"0000{upper}0A0B"}
    not_valid = [
        new_key(f"03{tag}01", validFrom=now + timedelta(days=1)),
        new_key(f"03{tag}02", validTo=now - timedelta(days=1)),
        new_key(f"03{tag}03", enabled=False, state=KeyState.DISABLED),
        new_key(f"03{tag}04", enabled=False, state=KeyState.LOST),
    ]
    for raw in valid:
        keys.put_new(new_key(raw, validTo=now + timedelta(days=30)))
    for key in not_valid:
        keys.put_new(key)

    fired = stack.fire("WhitelistPushFunction", "Scheduled")

    assert fired["status"] == "ok", fired
    assert fired["result"]["outcome"] == "SENT", fired["result"]["message"]
    pushed = received(stack)
    assert pushed == whitelistable_now(table)
    assert set(valid.values()) <= set(pushed or [])
    assert not {key.uid for key in not_valid} & set(pushed or [])
    assert fired["result"]["count"] == len(pushed or [])
    history = bbctl(stack, "history", "--limit", "1")
    assert history.returncode == 0, history.stderr
    assert "schedule SENT" in " ".join(history.stdout.split())


@pytest.fixture
def no_whitelisted_keys(stack: Any) -> Iterator[None]:
    """Take every key off the Whitelist index for one test (only the sparse attribute: no key
    changes state, so nothing is synced), and put them back afterwards."""
    table = key_table(stack)
    parked = [uid for page in KeyStore(table).iter_whitelist_pages(datetime.now(UTC)) for uid in page]
    for uid in parked:
        table.update_item(Key={"uid": uid}, UpdateExpression="REMOVE whitelist")
    try:
        yield
    finally:
        for uid in parked:
            table.update_item(
                Key={"uid": uid},
                UpdateExpression="SET whitelist = :on",
                ExpressionAttributeValues={":on": "ENABLED"},
            )


@pytest.mark.usefixtures("no_whitelisted_keys")
def test_given_no_whitelisted_keys_when_an_operator_pushes_then_the_guard_refuses_the_empty_list(
    stack: Any,
) -> None:
    before = received(stack)

    pushed = bbctl(stack, "push")

    assert pushed.returncode == 1, pushed.stderr
    assert "REFUSED_EMPTY" in pushed.stdout
    assert "the list is empty" in pushed.stdout
    assert received(stack) == before
    shown = bbctl(stack, "show", "last", "--json")
    assert '"outcome": "REFUSED_EMPTY"' in shown.stdout
    assert '"trigger": "manual"' in shown.stdout


def test_given_no_reserved_concurrency_when_two_pushes_run_at_once_then_only_one_sends(stack: Any) -> None:
    # WhitelistReservedConcurrency defaults to false: two sandboxes of the push run side by side
    # here (the local stack's pool), as in an account without reserved concurrency. The lock item
    # alone must keep them apart. Plugsurfing answers the first rfid-post slowly, and the second
    # push starts while the first one is waiting for that answer.
    table = key_table(stack)
    audit = table.meta.client
    tag = secrets.token_hex(3).upper()
    KeyStore(table).put_new(new_key(f"04{tag}0C0C0C", validTo=datetime.now(UTC) + timedelta(days=30)))
    httpx.delete(f"{stack.sim_url}/_sim/requests", timeout=10).raise_for_status()
    slow = {"kind": "slow", "delay": 8, "path": "/api/v4/request", "count": 1}
    httpx.post(f"{stack.sim_url}/_sim/faults", json=slow, timeout=10).raise_for_status()
    event = {"trigger": "manual", "override": True, "reason": "concurrency e2e"}

    def lock_held() -> bool:
        lock = audit.get_item(
            TableName=stack.ref("WhitelistAuditTable"), Key={"pk": "LOCK", "sk": "PUSH"}, ConsistentRead=True
        )
        return "Item" in lock

    try:
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(stack.admin, "POST", "invoke/WhitelistPushFunction", event)
            deadline = time.monotonic() + 30
            while not lock_held() and time.monotonic() < deadline:
                time.sleep(0.05)
            second = pool.submit(stack.admin, "POST", "invoke/WhitelistPushFunction", event)
            results = [first.result(), second.result()]
    finally:
        httpx.delete(f"{stack.sim_url}/_sim/faults", timeout=10)

    outcomes = [result["result"]["outcome"] for result in results]
    rfid_posts = [
        request
        for request in httpx.get(
            f"{stack.sim_url}/_sim/requests", params={"method": "POST"}, timeout=10
        ).json()["requests"]
        if request["path"].endswith("/api/v4/request")
    ]
    assert outcomes == ["SENT", "LOCKED"], results
    assert len(rfid_posts) == 1, rfid_posts
    assert f"04{tag}0C0C0C" in (received(stack) or [])
