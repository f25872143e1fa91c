"""The product against the real-world variants the simulator plays (issue 14, part A), on the
local stack over real HTTP: order statuses beyond ORDER_PAID and orders cancelled after they were
listed, a 429 without Retry-After, 403 on disable, an EMP start with a key Plugsurfing does not
know, a Drive start on an unknown connector, and a start whose answer is lost. Set up through the
simulator's admin API (`/_sim/...`, tools/simulator/README.md) and the operator CLI."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from test_sessions_e2e import signed
from waiting import eventually

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e


def sim(stack: RunningStack, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(method, f"{stack.sim_url}/_sim/{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json() if response.content else None


def item(stack: RunningStack, table: str, key: dict[str, Any]) -> dict[str, Any]:
    answer = stack.boto3_client("dynamodb").get_item(TableName=stack.ref(table), Key=key, ConsistentRead=True)
    return dict(answer.get("Item") or {})


def order_state(stack: RunningStack, order_id: str) -> str | None:
    found = item(stack, "OrdersTable", {"pk": {"S": f"ORDER#{order_id}"}})
    return found["state"]["S"] if found else None


def session(stack: RunningStack, request_id: str) -> dict[str, Any]:
    return item(stack, "SessionsTable", {"requestId": {"S": request_id}})


def key_item(stack: RunningStack, uid: str) -> dict[str, Any]:
    return item(stack, "ChargingKeysTable", {"uid": {"S": uid}})


def new_uid() -> str:
    return "04" + uuid.uuid4().hex[:12].upper()


def le(uid: str) -> str:
    return bytes.fromhex(uid)[::-1].hex()


def import_keys(stack: RunningStack, tmp_path: Path, *uids: str) -> None:
    rows = "".join(f"{uid},VN-{uid}\n" for uid in uids)
    keys_file = tmp_path / f"keys-{uids[0]}.csv"
    keys_file.write_text("uid,visual_number\n" + rows, encoding="utf-8")
    stack.bbctl("keys", "import", str(keys_file))


def active_key(stack: RunningStack, tmp_path: Path) -> str:
    """A key of ours, enabled and created at Plugsurfing by key sync; its UID."""
    uid = new_uid()
    import_keys(stack, tmp_path, uid)
    stack.bbctl("keys", "enable", uid)
    eventually(
        lambda: any(k["sentKeyIdentifier"] == le(uid) for k in sim(stack, "GET", "state")["empKeys"]),
        f"key {uid} created at the simulator",
    )
    eventually(lambda: key_item(stack, uid).get("syncState", {}).get("S") == "SYNCED", f"{uid} SYNCED")
    return uid


# --- EMP orders: statuses beyond ORDER_PAID, cancelled after being listed ---------------------------


def test_given_orders_in_every_status_when_crawled_then_only_fulfillable_ones_are_fulfilled(
    stack: RunningStack, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8].upper()
    org = f"org-{run}"
    import_keys(stack, tmp_path, *(f"04{run}{index:04X}" for index in range(2)))
    stack.bbctl("orders", "map-org", org, f"fleet-{run}")
    expected = {
        "ORDER_PAID": "ASSIGNED",
        "ORDER_FREE_OF_CHARGE": "ASSIGNED",
        "ORDER_PLACED": "ON_HOLD",
        "ORDER_PAYMENT_FAILED": "ON_HOLD",
        "ORDER_SHIPPED_BY_DRONE": "ON_HOLD",
        "ORDER_CANCELLED": "SKIPPED",
        "ORDER_REFUNDED": "SKIPPED",
    }
    for status in expected:
        sim(stack, "POST", "orders", {"id": f"{run}-{status}", "organizationId": org, "status": status})

    stack.fire("OrderCrawlFunction", "Crawl")

    for status, state in expected.items():
        eventually(lambda s=status, w=state: order_state(stack, f"{run}-{s}") == w, f"{status} -> {state}")
    counts = {
        o["id"]: o["assignCount"] for o in sim(stack, "GET", "state")["empOrders"] if o["id"].startswith(run)
    }
    assert {order_id for order_id, count in counts.items() if count} == {
        f"{run}-ORDER_PAID",
        f"{run}-ORDER_FREE_OF_CHARGE",
    }
    listed = stack.bbctl("orders", "list", "--state", "ON_HOLD").stdout
    assert "not in the status table" in listed, "the operator sees why an unknown status waits"


def test_given_an_order_cancelled_after_it_was_listed_then_it_is_skipped_not_assigned(
    stack: RunningStack,
) -> None:
    run = uuid.uuid4().hex[:8].upper()
    org, order_id = f"org-{run}", f"{run}-late-cancel"
    sim(stack, "POST", "orders", {"id": order_id, "organizationId": org, "status": "ORDER_PAID"})
    stack.fire("OrderCrawlFunction", "Crawl")
    eventually(lambda: order_state(stack, order_id) == "UNMAPPED", "UNMAPPED (no fleet yet)")

    sim(stack, "POST", f"orders/{order_id}/status", {"status": "ORDER_CANCELLED"})
    stack.bbctl("orders", "map-org", org, f"fleet-{run}")  # sends it to fulfilment again

    eventually(lambda: order_state(stack, order_id) == "SKIPPED", "SKIPPED")
    shown = json.loads(stack.bbctl("orders", "show", order_id).stdout)
    assert shown["partnerStatus"] == "ORDER_CANCELLED"
    assert shown.get("keys", []) == []
    [order] = [o for o in sim(stack, "GET", "state")["empOrders"] if o["id"] == order_id]
    assert order["assignCount"] == 0


# --- 429 without Retry-After ------------------------------------------------------------------------


def test_given_429s_without_retry_after_then_the_crawl_still_completes_and_a_drive_order_waits(
    stack: RunningStack,
) -> None:
    sim(stack, "POST", "faults", {"kind": "throttle", "path": "/drive/emp/v1/orders", "retry_after": None})
    crawled = stack.fire("OrderCrawlFunction", "Crawl")
    assert "complete" in json.dumps(crawled)

    user = f"driver-{uuid.uuid4().hex[:8]}"
    sim(stack, "POST", "users", {"id": user})
    sim(stack, "POST", "variants", {"order_throttle_retry_after": False})
    address = {"addressLine1": "Driver road 1", "postalCode": "11122", "city": "Berlin", "country": "Germany"}
    try:
        for request_id in (f"{user}-1", f"{user}-2"):
            body = {"requestId": request_id, "userId": user, "address": address, "taxationCountry": "DE"}
            stack.boto3_client("sqs").send_message(
                QueueUrl=stack.ref("DriveOrderQueue"), MessageBody=json.dumps(body)
            )
            time.sleep(1)

        def shown(request_id: str) -> dict[str, Any]:
            return json.loads(stack.bbctl("orders", "drive-show", request_id, check=False).stdout or "{}")

        throttled = eventually(
            lambda: shown(f"{user}-2").get("throttled") == 1 and shown(f"{user}-2"), "a 429"
        )
    finally:
        sim(stack, "POST", "variants", {"order_throttle_retry_after": True})
    time.sleep(3)
    calls = [
        r
        for r in sim(stack, "GET", "requests?method=POST")["requests"]
        if r["path"].endswith(f"/users/{user}/charging-keys/order")
    ]
    assert throttled["state"] == "PENDING"
    assert "retry in 301 s" in throttled["lastError"], "no Retry-After: the partner's 5-minute window"
    assert len(calls) == 2, "the bare 429 is not hammered"


# --- charging keys: 403 on disable --------------------------------------------------------------------


def test_given_plugsurfing_forbids_a_key_when_it_is_disabled_then_the_key_shows_the_refusal(
    stack: RunningStack, tmp_path: Path
) -> None:
    uid = active_key(stack, tmp_path)
    sim(stack, "POST", "keys/forbidden", {"keyIdentifier": le(uid)})

    stack.bbctl("keys", "disable", uid)

    refused = eventually(
        lambda: key_item(stack, uid).get("syncState", {}).get("S") == "ERROR" and key_item(stack, uid),
        "sync ERROR",
    )
    assert "403" in refused["syncError"]["S"]
    assert refused["state"]["S"] == "DISABLED", "refused locally at once whatever Plugsurfing says"
    [at_partner] = [k for k in sim(stack, "GET", "state")["empKeys"] if k["sentKeyIdentifier"] == le(uid)]
    assert at_partner["enabled"] is True, "the simulator kept it enabled, and the product says so"


# --- EMP session start: a key Plugsurfing does not know ------------------------------------------------


def test_given_our_key_by_uid_then_plugsurfing_gets_its_key_identifier_and_a_key_it_lacks_is_refused(
    stack: RunningStack, tmp_path: Path
) -> None:
    uid = active_key(stack, tmp_path)
    never_created = new_uid()
    import_keys(stack, tmp_path, never_created)  # ours, IN_STOCK: Plugsurfing has never heard of it
    good, unknown = f"e2e-key-{uuid.uuid4().hex[:8]}", f"e2e-unknown-{uuid.uuid4().hex[:8]}"

    accepted = signed(
        stack,
        "POST",
        "/internal/sessions",
        {"requestId": good, "connectorId": "e2e-conn-k", "keyIdentifier": uid},
    )
    refused_here = signed(
        stack,
        "POST",
        "/internal/sessions",
        {"requestId": f"{good}-x", "connectorId": "e2e-conn-k", "keyIdentifier": "0477BD22AA4AAA"},
    )
    signed(
        stack,
        "POST",
        "/internal/sessions",
        {"requestId": unknown, "connectorId": "e2e-conn-k", "keyIdentifier": never_created},
    )

    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["keyIdentifier"] == le(uid)
    assert refused_here.status_code == 400
    assert "not one of our charging keys" in refused_here.text
    eventually(lambda: session(stack, good).get("status", {}).get("S") == "STARTED", "STARTED with our key")
    failed = eventually(
        lambda: (
            session(stack, unknown).get("status", {}).get("S") == "FAILED_TO_START"
            and session(stack, unknown)
        ),
        "refused start",
    )
    assert "keyIdentifier" in failed["error"]["S"], "the partner's words are kept"
    signed(stack, "POST", f"/internal/sessions/{good}/stop")


# --- Drive mode: an unknown connector, a start whose answer is lost ------------------------------------


def drive_user(stack: RunningStack) -> str:
    user = f"driver-{uuid.uuid4().hex[:8]}"
    sim(stack, "POST", "users", {"id": user})
    return user


def test_given_a_drive_start_on_a_connector_plugsurfing_does_not_know_then_it_fails_to_start_once(
    drive_stack: RunningStack,
) -> None:
    user, connector, request_id = (
        drive_user(drive_stack),
        f"DE*SIM*E{uuid.uuid4().hex[:6]}*1",
        f"e2e-{uuid.uuid4().hex[:8]}",
    )
    sim(drive_stack, "POST", "connectors/unknown", {"connectorId": connector})

    started = signed(
        drive_stack,
        "POST",
        "/internal/sessions",
        {"requestId": request_id, "connectorId": connector, "userId": user},
    )

    assert started.status_code == 202, started.text
    failed = eventually(
        lambda: (
            session(drive_stack, request_id).get("status", {}).get("S") == "FAILED_TO_START"
            and session(drive_stack, request_id)
        ),
        "FAILED_TO_START",
    )
    assert "connectorId" in failed["error"]["S"]
    starts = [
        r
        for r in sim(drive_stack, "GET", "requests?method=POST")["requests"]
        if r["path"] == f"/drive/v1/users/{user}/sessions/start"
    ]
    assert len(starts) == 1, "a refusal is not retried"


def test_given_a_drive_start_whose_answer_is_lost_then_the_session_is_adopted_followed_and_stopped(
    drive_stack: RunningStack,
) -> None:
    user, connector, request_id = (
        drive_user(drive_stack),
        f"DE*SIM*E{uuid.uuid4().hex[:6]}*1",
        f"e2e-{uuid.uuid4().hex[:8]}",
    )
    sim(drive_stack, "POST", "sessions/lost-answers", {"connectorId": connector, "status": 502})

    started = signed(
        drive_stack,
        "POST",
        "/internal/sessions",
        {"requestId": request_id, "connectorId": connector, "userId": user},
    )
    assert started.status_code == 202, started.text

    adopted = eventually(
        lambda: (
            session(drive_stack, request_id).get("status", {}).get("S") == "STARTED"
            and session(drive_stack, request_id)
        ),
        "adopted and STARTED",
    )
    at_partner = [s for s in sim(drive_stack, "GET", "state")["sessions"] if s["connectorId"] == connector]
    assert len(at_partner) == 1, "never started twice"
    assert adopted["sessionId"]["S"] == at_partner[0]["sessionId"]
    notes = [entry["M"].get("note", {}).get("S", "") for entry in adopted["history"]["L"]]
    assert any("outcome unknown" in note for note in notes)
    assert any("adopted session" in note for note in notes)

    stopped = signed(drive_stack, "POST", f"/internal/sessions/{request_id}/stop")
    assert stopped.status_code == 202, stopped.text
    eventually(lambda: session(drive_stack, request_id)["status"]["S"] == "COMPLETE", "COMPLETE")


# --- Drive orders: a state the spec does not list -------------------------------------------------------


def test_given_a_drive_order_moved_to_a_state_the_spec_does_not_list_then_its_own_value_is_shown(
    stack: RunningStack,
) -> None:
    user = drive_user(stack)
    request_id = f"{user}-free"
    address = {"addressLine1": "Driver road 1", "postalCode": "11122", "city": "Berlin", "country": "Germany"}
    body = {"requestId": request_id, "userId": user, "address": address, "taxationCountry": "DE"}
    stack.boto3_client("sqs").send_message(
        QueueUrl=stack.ref("DriveOrderQueue"), MessageBody=json.dumps(body)
    )

    def record() -> dict[str, Any]:
        return json.loads(stack.bbctl("orders", "drive-show", request_id, check=False).stdout or "{}")

    ordered = eventually(lambda: record().get("state") == "ORDERED" and record(), "ORDERED")
    sim(stack, "POST", f"users/{user}/orders/{ordered['orderId']}/state", {"state": "ORDER_FREE_OF_CHARGE"})
    stack.fire("DriveOrderFunction", "TrackOrders")

    tracked = eventually(
        lambda: record().get("orderStateRaw") == "ORDER_FREE_OF_CHARGE" and record(), "raw state"
    )
    assert tracked["orderState"] == "UNKNOWN"
    listed = stack.bbctl("orders", "drive-list", "--user", user).stdout
    assert "UNKNOWN (ORDER_FREE_OF_CHARGE)" in listed
