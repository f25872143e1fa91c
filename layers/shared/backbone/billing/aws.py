"""The billing bus on EventBridge."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from backbone.aws.errors import AWS_ERRORS
from backbone.billing.errors import PublishFailed
from backbone.billing.events import MAX_ENTRIES_PER_CALL, BillingEvent
from backbone.billing.models import EVENT_SOURCE

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient


class EventBridgeBillingBus:
    """`BillingBus` on one EventBridge bus: source `EVENT_SOURCE`, detail-type the event type."""

    def __init__(self, client: EventBridgeClient, bus_name: str) -> None:
        self.client = client
        self.bus_name = bus_name

    def entry(self, event: BillingEvent) -> dict[str, Any]:
        return {
            "Source": EVENT_SOURCE,
            "DetailType": event.type.value,
            "Detail": event.detail_json(),
            "EventBusName": self.bus_name,
        }

    def put(self, events: Sequence[BillingEvent]) -> list[str | None]:
        if len(events) > MAX_ENTRIES_PER_CALL:
            raise ValueError(f"{len(events)} entries: PutEvents takes at most {MAX_ENTRIES_PER_CALL}")
        try:
            answer = self.client.put_events(Entries=[self.entry(event) for event in events])  # type: ignore[misc]
        except AWS_ERRORS as error:
            raise PublishFailed(f"PutEvents failed: {error}") from error
        results: list[str | None] = []
        for entry in answer["Entries"]:
            code = entry.get("ErrorCode")
            results.append(f"{code}: {entry.get('ErrorMessage', '')}" if code else None)
        if len(results) != len(events):
            raise PublishFailed(f"PutEvents answered {len(results)} entries for {len(events)}")
        return results
