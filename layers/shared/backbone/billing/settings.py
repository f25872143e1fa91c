"""Environment of the billing functions (template.yaml, "Billing feed" section)."""

from __future__ import annotations

from pydantic import Field

from backbone.settings import FunctionSettings


class BillingExportSettings(FunctionSettings):
    cdr_table: str = Field(min_length=1)
    billing_export_bucket: str = Field(min_length=1)
