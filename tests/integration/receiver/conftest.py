"""OIOI receiver integration fixtures: the template's tables and queue in moto, and the handlers'
environment pointed at them (helpers in `oioiworld`)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import handler_oioi_authorizer
import handler_oioi_receiver
import pytest
from oioiworld import World, charging_keys

from backbone.observability import metrics
from backbone.settings import load_settings


@pytest.fixture
def world(aws: boto3.Session, resources: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("CHARGING_KEYS_TABLE", resources["ChargingKeysTable"])
    monkeypatch.setenv("STATIONS_TABLE", resources["StationsTable"])
    monkeypatch.setenv("CDR_QUEUE_URL", resources["CdrQueue"])
    monkeypatch.setenv("PARTNERS_TABLE", resources["PartnersTable"])
    monkeypatch.setattr(metrics, "namespace", "PlugsurfingBackboneTest")
    caches = (load_settings, handler_oioi_receiver.backends, handler_oioi_authorizer.partner_access)
    for cached in caches:
        cached.cache_clear()
    created = World(aws, resources)
    for item in charging_keys():
        created.table("ChargingKeysTable").put_item(Item=item)
    yield created
    for cached in caches:
        cached.cache_clear()
