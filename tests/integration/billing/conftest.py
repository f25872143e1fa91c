"""Billing export integration fixtures: CdrTable and BillingExportBucket from template.yaml in
moto, and BillingExportFunction's environment as the template sets it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from backbone.aws import clients
from backbone.billing.wiring import billing_export_dependencies
from backbone.observability import metrics
from backbone.settings import load_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "cdr"))  # cdrfactory


def _clear_caches() -> None:
    load_settings.cache_clear()
    billing_export_dependencies.cache_clear()
    clients.reset()


@pytest.fixture
def export_env(
    monkeypatch: pytest.MonkeyPatch, aws: boto3.Session, resources: dict[str, str]
) -> Iterator[None]:
    for name, value in {
        "CDR_TABLE": resources["CdrTable"],
        "BILLING_EXPORT_BUCKET": resources["BillingExportBucket"],
        "POWERTOOLS_SERVICE_NAME": "billing-export-tests",
    }.items():
        monkeypatch.setenv(name, value)
    _clear_caches()
    monkeypatch.setattr(metrics, "namespace", "PlugsurfingBackboneTest")
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()
    _clear_caches()
