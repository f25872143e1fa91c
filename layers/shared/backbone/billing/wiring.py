"""The billing functions' dependencies, built once per process (warm invocations reuse them)."""

from __future__ import annotations

from functools import cache

from backbone.aws.clients import client
from backbone.billing.aws import DynamoBillingDays, EventBridgeBillingBus, S3ExportSink
from backbone.billing.ports import BillingEventsDependencies, ExportDependencies
from backbone.billing.settings import BillingEventsSettings, BillingExportSettings


@cache
def billing_events_dependencies(settings: BillingEventsSettings) -> BillingEventsDependencies:
    return BillingEventsDependencies(
        bus=EventBridgeBillingBus(client("events", "batch"), settings.billing_event_bus)
    )


@cache
def billing_export_dependencies(settings: BillingExportSettings) -> ExportDependencies:
    return ExportDependencies(
        records=DynamoBillingDays(client("dynamodb", "batch"), settings.cdr_table),
        sink=S3ExportSink(client("s3", "batch"), settings.billing_export_bucket),
    )
