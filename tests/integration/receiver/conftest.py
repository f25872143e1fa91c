"""OIOI receiver integration fixtures: the template's tables and queue in moto, and the handlers'
environment pointed at them (helpers in `oioiworld`)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from oioiworld import World, charging_keys

from backbone.aws import clients
from backbone.observability import metrics
from backbone.receiver.wiring import oioi_authorizer_dependencies, oioi_receiver_dependencies
from backbone.settings import load_settings


@pytest.fixture
def world(aws: boto3.Session, resources: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("CHARGING_KEYS_TABLE", resources["ChargingKeysTable"])
    monkeypatch.setenv("STATIONS_TABLE", resources["StationsTable"])
    monkeypatch.setenv("CDR_QUEUE_URL", resources["CdrQueue"])
    monkeypatch.setenv("PARTNERS_TABLE", resources["PartnersTable"])
    monkeypatch.setattr(metrics, "namespace", "PlugsurfingBackboneTest")
    caches = (load_settings, oioi_receiver_dependencies, oioi_authorizer_dependencies)
    for cached in caches:
        cached.cache_clear()
    clients.reset()
    created = World(aws, resources)
    for item in charging_keys():
        created.table("ChargingKeysTable").put_item(Item=item)
    yield created
    for cached in caches:
        cached.cache_clear()
    clients.reset()
