"""The billing functions' dependencies, built once per process (warm invocations reuse the client)."""

from __future__ import annotations

from functools import cache

from backbone.aws.clients import client
from backbone.billing.aws import EventBridgeBillingBus
from backbone.billing.ports import BillingEventsDependencies
from backbone.billing.settings import BillingEventsSettings


@cache
def billing_events_dependencies(settings: BillingEventsSettings) -> BillingEventsDependencies:
    return BillingEventsDependencies(
        bus=EventBridgeBillingBus(client("events", "batch"), settings.billing_event_bus)
    )
