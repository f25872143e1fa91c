"""The key-order functions with moto (tables, keys stream, queues, secret) and the Plugsurfing
simulator over real HTTP: EMP orders crawled, fulfilled from imported stock through key sync and
assigned once; Drive orders delayed by the 429 throttle and delivered later."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import handler_drive_order
import handler_order_crawl
import handler_order_fulfil
import pytest

from backbone.aws.attributes import plain
from backbone.keys.aws import KeyStore
from backbone.keys.models import KeyState, SyncState
from backbone.orders.aws import DynamoDriveOrderStore, DynamoOrderStore, SqsQueue
from backbone.orders.errors import RetryLater
from backbone.orders.fulfil import fulfil_order
from backbone.orders.models import (
    CRAWL_CONTROL_KEY,
    CrawlCheckpoint,
    DriveOrderRecord,
    DriveOrderRequest,
    DriveRequestState,
    KeyOrderState,
    OrgMapping,
)
from backbone.orders.partner import EmpOrders
from backbone.orders.ports import FulfilDependencies
from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.settings import load_settings
from bbctl import key_import as logic
from bbctl import ops_orders
from simulator import DEFAULT_API_KEY, PlugsurfingSimulator

NOW = datetime.now(UTC)
ORG, FLEET = "org-acme", "fleet-acme"


def import_keys(keys: KeyStore, count: int, first: int = 0) -> None:
    rows = "".join(f"04A1B2C3{index:06X},VN-{index:05d}\n" for index in range(first, first + count))
    result = logic.import_keys("uid,visual_number\n" + rows, keys, datetime.now(UTC))
    assert result.ok, result.errors


def map_org(orders: DynamoOrderStore, org: str = ORG, fleet: str = FLEET) -> None:
    orders.table.put_item(Item=OrgMapping(organization_id=org, fleet_id=fleet, updated_at=NOW).to_item())


def emp_keys_at(sim: PlugsurfingSimulator) -> dict[str, dict[str, Any]]:
    return {key["visualNumber"]: key for key in sim.snapshot()["empKeys"]}


def test_given_orders_and_stock_when_the_functions_run_then_keys_reach_the_fleet_and_orders_assigned_once(
    simulator, function_env, orders, keys, deliver, key_stream, resources, lambda_context, load_event
):
    function_env(simulator.drive_base_url)
    import_keys(keys, 5)
    map_org(orders)
    simulator.add_order(id="emp-1", organizationId=ORG, quantity=1)
    simulator.add_order(id="emp-2", organizationId=ORG, quantity=2)

    crawled = handler_order_crawl.handler(load_event("orders/event-schedule-crawl.json"), lambda_context)
    first = deliver(resources["OrderQueue"], handler_order_fulfil.handler, lambda_context)
    key_stream()  # KeySyncFunction creates the keys at Plugsurfing
    second = deliver(resources["OrderQueue"], handler_order_fulfil.handler, lambda_context)

    assert crawled["outcome"] == "complete"
    assert sorted(crawled["newOrders"]) == ["emp-1", "emp-2"]
    assert len(first.failed) == 2, "both wait for key sync (hidden, not dropped)"
    assert second.failed == []
    at_plugsurfing = emp_keys_at(simulator)
    for order_id, quantity in (("emp-1", 1), ("emp-2", 2)):
        order = orders.get(order_id)
        assert order is not None
        assert order.state is KeyOrderState.ASSIGNED
        assert len(order.keys) == quantity
        assert simulator.assign_count(order_id) == 1
        for shipped in order.keys:
            assert at_plugsurfing[shipped.visual_number]["fleetId"] == FLEET
            key = keys.get(shipped.uid)
            assert key is not None
            assert key.state is KeyState.ACTIVE
            assert key.sync_state is SyncState.SYNCED
    assert len(list(keys.iter_keys(KeyState.IN_STOCK))) == 2


def test_given_a_key_already_at_plugsurfing_when_created_then_the_409_is_resolved_and_the_order_assigned(
    simulator, function_env, orders, keys, deliver, key_stream, resources, lambda_context, load_event
):
    function_env(simulator.drive_base_url)
    import_keys(keys, 1)
    (key,) = keys.iter_keys(KeyState.IN_STOCK)
    simulator.add_emp_key(keyIdentifier=key.key_identifier, visualNumber=key.visual_number, fleetId=FLEET)
    map_org(orders)
    simulator.add_order(id="emp-409", organizationId=ORG)

    handler_order_crawl.handler(load_event("orders/event-schedule-crawl.json"), lambda_context)
    deliver(resources["OrderQueue"], handler_order_fulfil.handler, lambda_context)
    key_stream()
    deliver(resources["OrderQueue"], handler_order_fulfil.handler, lambda_context)

    creates = simulator.requests(method="POST", path_prefix="/drive/emp/v1/charging-keys")
    assert [entry["status"] for entry in creates] == [409]
    order = orders.get("emp-409")
    assert order is not None
    assert order.state is KeyOrderState.ASSIGNED
    assert simulator.assign_count("emp-409") == 1


def test_given_too_little_stock_when_keys_are_imported_then_the_next_crawl_fulfils_the_backorder(
    simulator, function_env, orders, keys, deliver, key_stream, resources, lambda_context, load_event
):
    function_env(simulator.drive_base_url)
    import_keys(keys, 1)
    map_org(orders)
    simulator.add_order(id="emp-big", organizationId=ORG, quantity=3)
    crawl_event = load_event("orders/event-schedule-crawl.json")

    handler_order_crawl.handler(crawl_event, lambda_context)
    deliver(resources["OrderQueue"], handler_order_fulfil.handler, lambda_context)
    backordered = orders.get("emp-big")
    import_keys(keys, 4, first=100)
    crawl = handler_order_crawl.handler(crawl_event, lambda_context)
    deliver(resources["OrderQueue"], handler_order_fulfil.handler, lambda_context)
    key_stream()
    deliver(resources["OrderQueue"], handler_order_fulfil.handler, lambda_context)

    assert backordered is not None
    assert backordered.state is KeyOrderState.BACKORDERED
    assert backordered.claimed == 1
    assert crawl["requeued"] == ["emp-big"]
    done = orders.get("emp-big")
    assert done is not None
    assert done.state is KeyOrderState.ASSIGNED
    assert len(keys.keys_of_order("emp-big")) == 3
    assert simulator.assign_count("emp-big") == 1


@pytest.mark.usefixtures("atomic_dynamodb")
def test_given_concurrent_processors_on_dynamodb_when_they_race_then_claimed_and_assigned_once(
    simulator, function_env, orders, keys, key_stream, lambda_context, load_event, aws, resources
):
    function_env(simulator.drive_base_url)
    import_keys(keys, 10)
    map_org(orders)
    simulator.add_order(id="emp-race", organizationId=ORG, quantity=2)
    handler_order_crawl.handler(load_event("orders/event-schedule-crawl.json"), lambda_context)
    outcomes: list[str] = []
    lock = threading.Lock()

    def processor(name: str, barrier: threading.Barrier) -> None:
        with PlugsurfingClient(simulator.drive_base_url, DEFAULT_API_KEY) as client:
            deps = FulfilDependencies(
                orders=orders,
                keys=keys,
                feed=EmpOrders(client),
                redelivery=SqsQueue(aws.client("sqs"), resources["OrderQueue"]),
            )
            barrier.wait()
            for _ in range(4):
                try:
                    state = fulfil_order("emp-race", deps, owner=name).state.value
                except RetryLater as later:
                    state = type(later).__name__
                except Exception as error:  # reported by the assertion below
                    state = f"crashed: {error!r}"
                with lock:
                    outcomes.append(state)
                    try:
                        key_stream()
                    except Exception as error:  # reported by the assertion below
                        outcomes.append(f"crashed: key sync {error!r}")

    barrier = threading.Barrier(6)
    threads = [threading.Thread(target=processor, args=(f"p{n}", barrier)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    order = orders.get("emp-race")
    assert order is not None
    assert order.state is KeyOrderState.ASSIGNED
    assert len(keys.keys_of_order("emp-race")) == 2
    assert len(list(keys.iter_keys(KeyState.IN_STOCK))) == 8
    assert simulator.assign_count("emp-race") == 1
    assert "RecordBusy" in outcomes, "the race happened"
    assert not [outcome for outcome in outcomes if outcome.startswith("crashed")]


def test_given_a_crawl_stopped_by_the_clock_when_the_next_run_comes_then_it_resumes_from_the_checkpoint(
    simulator, function_env, orders, resources, aws, lambda_context, load_event
):
    function_env(simulator.drive_base_url)
    created = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    for index in range(25):
        simulator.add_order(
            id=f"emp-{index:02d}", organizationId=ORG, created=created + timedelta(seconds=index)
        )

    class ShortContext(type(lambda_context)):  # type: ignore[misc]
        """Time for one page: the check before the second says the margin is reached."""

        calls = 0

        def get_remaining_time_in_millis(self) -> int:
            ShortContext.calls += 1
            return 30_000 if ShortContext.calls == 1 else 500

    event = load_event("orders/event-schedule-crawl.json")
    first = handler_order_crawl.handler(event, ShortContext())
    item = orders.table.get_item(Key={"pk": CRAWL_CONTROL_KEY}, ConsistentRead=True).get("Item")
    checkpoint = None if item is None else CrawlCheckpoint.from_item(plain(item))
    second = handler_order_crawl.handler(event, lambda_context)

    assert first["outcome"] == "interrupted"
    assert first["pages"] == 1
    assert checkpoint is not None
    assert checkpoint.cursor == first["cursor"]
    assert checkpoint.lease_owner is None, "released for the next run"
    assert second["resumed"]
    assert second["outcome"] == "complete"
    assert len(first["newOrders"]) + len(second["newOrders"]) == 25
    messages = 0
    sqs = aws.client("sqs")
    while batch := sqs.receive_message(QueueUrl=resources["OrderQueue"], MaxNumberOfMessages=10).get(
        "Messages"
    ):
        messages += len(batch)
        for message in batch:
            sqs.delete_message(QueueUrl=resources["OrderQueue"], ReceiptHandle=message["ReceiptHandle"])
    assert messages == 25


# --- Drive orders -------------------------------------------------------------------------------


def drive_request(request_id: str, user_id: str) -> dict[str, Any]:
    return {
        "requestId": request_id,
        "userId": user_id,
        "address": {
            "addressLine1": "Driver road 1",
            "postalCode": "11122",
            "city": "Berlin",
            "country": "Germany",
        },
        "taxationCountry": "DE",
    }


def test_given_two_orders_for_one_user_when_the_second_hits_429_then_it_comes_back_and_is_ordered(
    simulator, function_env, drive_orders, deliver, resources, aws, lambda_context
):
    function_env(simulator.drive_base_url)
    simulator.configure(order_throttle_seconds=2)
    simulator.add_user("driver-1")
    sqs = aws.client("sqs")
    queue = resources["DriveOrderQueue"]
    for request_id in ("req-1", "req-2"):
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(drive_request(request_id, "driver-1")))

    first = deliver(queue, handler_drive_order.handler, lambda_context)
    hidden = deliver(queue, handler_drive_order.handler, lambda_context)
    throttled = drive_orders.get(first.bodies[1]["requestId"] if first.failed else "")
    time.sleep(3.5)  # Retry-After (2 s) + 1 s
    later = deliver(queue, handler_drive_order.handler, lambda_context)

    assert len(first.records) == 2
    assert len(first.failed) == 1, "the throttled one is reported failed, not dropped"
    assert hidden.records == [], "hidden until Retry-After"
    assert throttled is not None
    assert throttled.state is DriveRequestState.PENDING
    assert later.failed == []
    assert len(later.records) == 1
    records = {r: drive_orders.get(r) for r in ("req-1", "req-2")}
    assert all(r is not None and r.state is DriveRequestState.ORDERED for r in records.values())
    assert len(simulator.state.user_orders("driver-1")) == 2


def test_given_the_sample_events_when_handled_then_invalid_requests_are_rejected_and_tracking_runs(
    simulator, function_env, drive_orders, lambda_context, load_event
):
    function_env(simulator.drive_base_url)

    unknown_order = handler_order_fulfil.handler(load_event("orders/event-sqs-order.json"), lambda_context)
    invalid = handler_drive_order.handler(
        load_event("orders/event-sqs-drive-order-invalid.json"), lambda_context
    )
    unknown_user = handler_drive_order.handler(
        load_event("orders/event-sqs-drive-order.json"), lambda_context
    )
    tracked = handler_drive_order.handler(load_event("orders/event-schedule-track.json"), lambda_context)
    receipt = handler_drive_order.handler(load_event("orders/event-invoke-receipt.json"), lambda_context)

    assert unknown_order == {"batchItemFailures": []}, "an order we never stored: dropped, not retried"
    assert invalid == {"batchItemFailures": []}, "invalid is final: recorded, not retried"
    rejected = drive_orders.get("sample-invalid-1")
    assert rejected is not None
    assert rejected.state is DriveRequestState.REJECTED
    assert unknown_user == {"batchItemFailures": []}
    not_found = drive_orders.get("sample-request-1")
    assert not_found is not None
    assert not_found.state is DriveRequestState.REJECTED
    assert (not_found.last_error or "").startswith("404")
    assert tracked == {
        "users": 0,
        "changed": [],
        "closed": [],
        "missing": [],
        "unsettled": [],
        "failedUsers": [],
    }
    assert receipt["status"] == 404


def test_given_an_ordered_request_when_tracking_runs_then_its_state_and_receipt_are_recorded(
    simulator, function_env, drive_orders, deliver, resources, aws, lambda_context, load_event
):
    function_env(simulator.drive_base_url)
    simulator.add_user("sample-user-1")
    aws.client("sqs").send_message(
        QueueUrl=resources["DriveOrderQueue"], MessageBody=json.dumps(drive_request("req-t", "sample-user-1"))
    )
    deliver(resources["DriveOrderQueue"], handler_drive_order.handler, lambda_context)
    placed = drive_orders.get("req-t")
    assert placed is not None
    assert placed.order_id is not None
    simulator.add_drive_order(
        "sample-user-1", id=placed.order_id, state="ORDER_SHIPPED_SOMEHOW", hasReceipt=True
    )

    tracked = handler_drive_order.handler(load_event("orders/event-schedule-track.json"), lambda_context)
    receipt = handler_drive_order.handler(
        {"action": "receipt", "userId": "sample-user-1", "orderId": placed.order_id}, lambda_context
    )

    assert tracked["changed"] == ["req-t"]
    record = drive_orders.get("req-t")
    assert record is not None
    assert record.order_state == "UNKNOWN"
    assert record.has_receipt is True
    assert receipt["url"].endswith(f"/_sim/receipts/{placed.order_id}")


def test_drive_store_lists_a_users_requests(drive_orders: DynamoDriveOrderStore) -> None:
    for request_id in ("a", "b"):
        request = DriveOrderRequest.model_validate(drive_request(request_id, "u-list"))
        assert drive_orders.put_new(DriveOrderRecord.from_request(request, NOW))
    assert not drive_orders.put_new(DriveOrderRecord.from_request(request, NOW)), "request ids are unique"

    assert sorted(r.request_id for r in drive_orders.by_user("u-list")) == ["a", "b"]


# --- operator actions ------------------------------------------------------------------------------


def test_given_unmapped_orders_when_the_operator_maps_the_organisation_then_they_are_enqueued_again(
    simulator, function_env, orders, deliver, resources, aws, lambda_context, load_event
):
    function_env(simulator.drive_base_url)
    simulator.add_order(id="emp-new-org", organizationId="org-new")
    simulator.add_order(id="emp-other-org", organizationId="org-other")
    handler_order_crawl.handler(load_event("orders/event-schedule-crawl.json"), lambda_context)
    deliver(resources["OrderQueue"], handler_order_fulfil.handler, lambda_context)
    queue = SqsQueue(aws.client("sqs"), resources["OrderQueue"])

    requeued = ops_orders.map_org(orders, queue, "org-new", "fleet-new", NOW)
    retried = ops_orders.retry_order(orders, queue, "emp-other-org")

    assert [o.state for o in ops_orders.list_orders(orders, KeyOrderState.UNMAPPED)] == [
        KeyOrderState.UNMAPPED
    ] * 2
    assert requeued == ["emp-new-org"]
    assert retried.state is KeyOrderState.UNMAPPED
    assert [(m.organization_id, m.fleet_id) for m in ops_orders.org_mappings(orders)] == [
        ("org-new", "fleet-new")
    ]
    assert orders.fleet_for("org-new") == "fleet-new"
    assert orders.fleet_for("org-other") is None
    ops_orders.map_org(orders, queue, "*", "fleet-default", NOW)
    assert orders.fleet_for("org-other") == "fleet-default", "the default mapping"
    assert ops_orders.unmap_org(orders, "org-new")
    assert orders.fleet_for("org-new") == "fleet-default"


def test_given_drive_mode_when_the_crawl_runs_then_it_does_nothing(
    simulator, function_env, monkeypatch, lambda_context, load_event
):
    function_env(simulator.drive_base_url)
    monkeypatch.setenv("PARTNER_MODE", "drive")
    load_settings.cache_clear()
    simulator.add_order(id="emp-ignored", organizationId=ORG)

    answer = handler_order_crawl.handler(load_event("orders/event-schedule-crawl.json"), lambda_context)

    assert answer["outcome"] == "disabled"
    assert simulator.requests(path_prefix="/drive/emp/v1/orders") == []


def test_given_no_crawl_start_date_when_the_first_crawl_runs_then_the_history_is_left_and_new_orders_come(
    simulator, function_env, orders, resources, lambda_context, load_event, monkeypatch
):
    function_env(simulator.drive_base_url)
    monkeypatch.setenv("ORDER_CRAWL_START", "")  # OrderCrawlStartDate's default
    load_settings.cache_clear()
    now = datetime.now(UTC)
    simulator.add_order(id="emp-2019", organizationId=ORG, created=now - timedelta(days=2000))
    simulator.add_order(id="emp-last-week", organizationId=ORG, created=now - timedelta(days=7))
    event = load_event("orders/event-schedule-crawl.json")

    first = handler_order_crawl.handler(event, lambda_context)
    simulator.add_order(id="emp-new", organizationId=ORG, created=datetime.now(UTC) + timedelta(seconds=1))
    second = handler_order_crawl.handler(event, lambda_context)

    assert first["outcome"] == "complete"
    assert first["newOrders"] == []
    assert second["newOrders"] == ["emp-new"]
    assert orders.get("emp-2019") is None
    assert orders.get("emp-last-week") is None
