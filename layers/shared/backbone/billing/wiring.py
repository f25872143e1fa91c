"""The billing functions' dependencies, built once per process (warm invocations reuse them)."""

from __future__ import annotations

from functools import cache

from backbone.aws.clients import client
from backbone.billing.aws import DynamoBillingDays, S3ExportSink
from backbone.billing.ports import ExportDependencies
from backbone.billing.settings import BillingExportSettings


@cache
def billing_export_dependencies(settings: BillingExportSettings) -> ExportDependencies:
    return ExportDependencies(
        records=DynamoBillingDays(client("dynamodb", "batch"), settings.cdr_table),
        sink=S3ExportSink(client("s3", "batch"), settings.billing_export_bucket),
    )
