"""Environment of the billing functions (template.yaml, "Billing feed" section)."""

from __future__ import annotations

from pydantic import Field

from backbone.settings import FunctionSettings


class BillingEventsSettings(FunctionSettings):
    """BillingEventsFunction: stream of CdrTable -> BillingEventBus."""

    billing_event_bus: str = Field(min_length=1)


class BillingExportSettings(FunctionSettings):
    """BillingExportFunction: CdrTable's ByBillingDay index -> BillingExportBucket."""

    cdr_table: str = Field(min_length=1)
    billing_export_bucket: str = Field(min_length=1)
