"""Operator-side billing-feed tooling for `bbctl billing` (never shipped in the Lambda layer).

- `BillingEventTap`: a queue subscribed to every billing event on BillingEventBus.
- `republish`: publish again the events of the CDRs stored in a time window, from CdrTable, by
  the publisher's own rules and ids (`backbone.billing.publish`): each stored record counts as
  newly written, so a final CDR gives CdrFinalized, a correction CdrCorrected and a record still
  awaiting review CdrFlagged, each with the event id it was first published with. Consumers
  dedupe them; what they missed (a batch parked in the dead-letter queue) arrives.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr

from backbone.billing.aws import EventBridgeBillingBus
from backbone.billing.events import billing_events
from backbone.billing.models import EVENT_SOURCE
from backbone.billing.ports import BillingEventsDependencies
from backbone.billing.publish import StreamChange, publish_changes
from bbctl.event_tap import EventTap

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

REPUBLISH_CHUNK = 100  # stored records per publish round (as a stream batch)


class BillingEventTap(EventTap):
    """The tap on every billing event (`bbctl billing tap`)."""

    def __init__(self, events: EventBridgeClient, sqs: SQSClient, bus_name: str, name: str) -> None:
        super().__init__(events, sqs, bus_name, name, {"source": [EVENT_SOURCE]})


@dataclass
class RepublishReport:
    records: int = 0
    events: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)  # "<pk> <sk>" of records whose events failed


def stored_between(table: Table, since: str, until: str, partner: str | None) -> Iterator[dict[str, Any]]:
    """CdrTable items received in [since, until) (storage times), optionally of one partner."""
    condition = Attr("receivedAt").gte(since) & Attr("receivedAt").lt(until)
    if partner:
        condition &= Attr("partnerId").eq(partner)
    arguments: dict[str, Any] = {"FilterExpression": condition, "ConsistentRead": True}
    while True:
        page = table.scan(**arguments)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def republish(
    items: Iterator[dict[str, Any]], bus: EventBridgeBillingBus | None, report: RepublishReport | None = None
) -> RepublishReport:
    """Publish the events of `items` (`bus` None: only count them)."""
    report = report or RepublishReport()
    chunk: list[StreamChange] = []

    def flush() -> None:
        for change in chunk:
            for event in billing_events(None, change.new):
                report.events[event.type.value] = report.events.get(event.type.value, 0) + 1
        if bus is not None and chunk:
            result = publish_changes(chunk, BillingEventsDependencies(bus))
            report.failed.extend(result.failed)
        chunk.clear()

    for item in items:
        report.records += 1
        chunk.append(StreamChange(f"{item['pk']} {item['sk']}", None, item))
        if len(chunk) == REPUBLISH_CHUNK:
            flush()
    flush()
    return report
