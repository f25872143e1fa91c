"""Key orders on the local stack over real HTTP: orders appearing at the simulator over time are
fulfilled with keys from imported stock and assigned exactly once (crawl schedule, OrderQueue,
the keys stream and KeySyncFunction all running for real), and a Drive order that hits the 429
throttle is delivered later, not lost. Operator steps go through `python -m bbctl`."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from waiting import eventually

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e


def bbctl(stack: RunningStack, *args: str, check: bool = True) -> str:
    """The operator CLI against the local stack; with `check`, a non-zero exit fails the test."""
    return stack.bbctl(*args, check=check).stdout


def sim(stack: RunningStack, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(method, f"{stack.sim_url}/_sim/{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json() if response.content else None


def order_item(stack: RunningStack, order_id: str) -> dict[str, Any]:
    answer = stack.boto3_client("dynamodb").get_item(
        TableName=stack.ref("OrdersTable"), Key={"pk": {"S": f"ORDER#{order_id}"}}, ConsistentRead=True
    )
    return dict(answer.get("Item") or {})


def state_of(stack: RunningStack, order_id: str) -> str | None:
    item = order_item(stack, order_id)
    return item["state"]["S"] if item else None


def test_given_orders_appearing_at_the_simulator_when_the_stack_runs_then_fulfilled_from_stock_once(
    stack: RunningStack, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8].upper()
    org, fleet = f"org-{run}", f"fleet-{run}"
    rows = "".join(f"04{run}{index:04X},VN-{run}-{index}\n" for index in range(3))
    keys_file = tmp_path / "keys.csv"
    keys_file.write_text("uid,visual_number\n" + rows, encoding="utf-8")
    bbctl(stack, "keys", "import", str(keys_file))
    bbctl(stack, "orders", "map-org", org, fleet)
    first, second = f"{run}-A", f"{run}-B"
    sim(stack, "POST", "orders", {"id": first, "organizationId": org, "quantity": 1})

    stack.fire("OrderCrawlFunction", "Crawl")
    eventually(lambda: state_of(stack, first) == "ASSIGNED", what=f"{first} ASSIGNED")
    sim(stack, "POST", "orders", {"id": second, "organizationId": org, "quantity": 2})  # appears later
    stack.fire("OrderCrawlFunction", "Crawl")
    eventually(lambda: state_of(stack, second) == "ASSIGNED", what=f"{second} ASSIGNED")
    stack.fire("OrderCrawlFunction", "Crawl")  # a later run must not assign again

    snapshot = sim(stack, "GET", "state")
    assign_counts = {o["id"]: o["assignCount"] for o in snapshot["empOrders"] if o["id"] in (first, second)}
    assert assign_counts == {first: 1, second: 1}
    shipped = [
        key["visualNumber"]["S"]
        for order_id in (first, second)
        for key in (k["M"] for k in order_item(stack, order_id)["keys"]["L"])
    ]
    assert len(shipped) == len(set(shipped)) == 3, "three different keys"
    fleet_keys = {k["visualNumber"] for k in snapshot["empKeys"] if k.get("fleetId") == fleet}
    assert set(shipped) <= fleet_keys, "every shipped key exists at Plugsurfing in the order's fleet"
    shown = json.loads(bbctl(stack, "orders", "show", second))
    assert shown["state"] == "ASSIGNED"
    export = stack.bbctl("orders", "export-fulfilment")
    assert any(line.startswith(f"{second},") for line in export.stdout.splitlines())
    # Progress goes to stderr, so the CSV on stdout stays clean for the warehouse.
    assert re.fullmatch(r"assigned orders read: \d+ done", export.stderr.splitlines()[-1])
    assert "assigned orders read" not in export.stdout


def test_given_a_drive_order_hitting_the_429_throttle_when_the_stack_runs_then_it_is_delivered_later_not_lost(
    stack: RunningStack,
) -> None:
    user = f"driver-{uuid.uuid4().hex[:8]}"
    sim(stack, "POST", "users", {"id": user})
    sim(stack, "POST", "config", {"order_throttle_seconds": 5})
    requests = [f"{user}-r1", f"{user}-r2"]
    address = {"addressLine1": "Driver road 1", "postalCode": "11122", "city": "Berlin", "country": "Germany"}
    try:
        # Together, as a busy backend would send them: the second one meets the 5-second window.
        stack.boto3_client("sqs").send_message_batch(
            QueueUrl=stack.ref("DriveOrderQueue"),
            Entries=[
                {
                    "Id": str(index),
                    "MessageBody": json.dumps(
                        {"requestId": r, "userId": user, "address": address, "taxationCountry": "DE"}
                    ),
                }
                for index, r in enumerate(requests)
            ],
        )

        def ordered() -> list[dict[str, Any]] | None:
            shown = [
                json.loads(bbctl(stack, "orders", "drive-show", r, check=False) or "{}") for r in requests
            ]
            return shown if all(s.get("state") == "ORDERED" for s in shown) else None

        records = eventually(ordered, timeout_s=60, what="both Drive orders ORDERED")
    finally:
        sim(stack, "POST", "config", {"order_throttle_seconds": 300})

    placed = [o for o in sim(stack, "GET", "state")["driveOrders"] if o["userId"] == user]
    assert len(placed) == 2, "one order per request: none lost, none doubled"
    assert sorted(r["orderId"] for r in records) == sorted(o["id"] for o in placed)
    assert max(r.get("throttled", 0) for r in records) >= 1, "one of them was throttled and came back"


def test_given_the_order_configuration_then_bbctl_orders_pricing_shows_each_countrys_key_price(
    stack: RunningStack,
) -> None:
    countries = [
        {"country": "DE", "currency": "EUR", "priceMinorInclVat": 1000, "vat": 19},
        {"country": "FI", "currency": "EUR", "priceMinorInclVat": 1250, "vat": 24},
    ]
    sim(stack, "POST", "config", {"orders_configuration": countries})

    table = stack.bbctl("orders", "pricing").stdout
    answer = json.loads(stack.bbctl("orders", "pricing", "--json").stdout)

    assert answer == {"countries": countries}
    assert re.search(r"DE\s+10\.00 EUR\s+19%", table), table
    assert re.search(r"FI\s+12\.50 EUR\s+24%", table), table
