"""Every key-order function that calls Plugsurfing reports its calls: a `PartnerCalls` EMF metric
per API family and outcome, printed with the function's metrics (docs/deployment.md)."""

from __future__ import annotations

import json

import handler_drive_order
import handler_order_crawl
import handler_order_fulfil
import pytest
from unit.emfcapture import Emitted, emitted  # tests/ is on sys.path (its conftest)

ORG = "org-metrics"


def partner_calls(out: str) -> list[Emitted]:
    return [metric for metric in emitted(out) if metric.name == "PartnerCalls"]


def test_given_the_crawl_when_it_lists_emp_orders_then_partner_calls_are_emitted(
    simulator, function_env, lambda_context, load_event, capsys: pytest.CaptureFixture[str]
):
    function_env(simulator.drive_base_url)
    simulator.add_order(id="emp-m1", organizationId=ORG)

    handler_order_crawl.handler(load_event("orders/event-schedule-crawl.json"), lambda_context)

    calls = partner_calls(capsys.readouterr().out)
    assert calls, "no PartnerCalls metric printed"
    assert {"api": "emp", "outcome": "ok"}.items() <= calls[0].dimensions.items()


def test_given_an_order_to_fulfil_when_it_is_read_at_plugsurfing_then_partner_calls_are_emitted(
    simulator,
    function_env,
    deliver,
    resources,
    lambda_context,
    load_event,
    capsys: pytest.CaptureFixture[str],
):
    function_env(simulator.drive_base_url)
    simulator.add_order(id="emp-m2", organizationId=ORG)
    handler_order_crawl.handler(load_event("orders/event-schedule-crawl.json"), lambda_context)
    capsys.readouterr()

    deliver(resources["OrderQueue"], handler_order_fulfil.handler, lambda_context)

    calls = partner_calls(capsys.readouterr().out)
    assert calls, "no PartnerCalls metric printed"
    assert {"api": "emp"}.items() <= calls[0].dimensions.items()


def test_given_a_drive_order_request_when_it_is_placed_then_partner_calls_are_emitted(
    simulator, function_env, deliver, resources, aws, lambda_context, capsys: pytest.CaptureFixture[str]
):
    function_env(simulator.drive_base_url)
    simulator.add_user("driver-m")
    body = {
        "requestId": "req-m",
        "userId": "driver-m",
        "address": {"addressLine1": "Road 1", "postalCode": "11122", "city": "Berlin", "country": "Germany"},
        "taxationCountry": "DE",
    }
    aws.client("sqs").send_message(QueueUrl=resources["DriveOrderQueue"], MessageBody=json.dumps(body))

    deliver(resources["DriveOrderQueue"], handler_drive_order.handler, lambda_context)

    calls = partner_calls(capsys.readouterr().out)
    assert calls, "no PartnerCalls metric printed"
    assert {"api": "drive", "outcome": "ok"}.items() <= calls[0].dimensions.items()
