"""Whitelist push integration fixtures: the template's tables in moto, the Plugsurfing simulator
over real HTTP, the shared OIOI client with a recorded (instant) back-off."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from whitelistkit import PARTNER, Pusher

from backbone.keys.aws import KeyStore
from backbone.keys.wiring import key_store
from backbone.observability import metrics
from backbone.partners.factory import oioi_client
from backbone.settings import load_settings
from backbone.whitelist.aws import AuditStore
from backbone.whitelist.wiring import whitelist_push_dependencies
from simulator import DEFAULT_OIOI_KEY, PlugsurfingSimulator


@pytest.fixture(scope="module")
def simulator() -> Iterator[PlugsurfingSimulator]:
    with PlugsurfingSimulator(port=0, seed=5) as sim:
        yield sim


@pytest.fixture
def sim(simulator: PlugsurfingSimulator) -> PlugsurfingSimulator:
    simulator.reset()
    return simulator


@pytest.fixture
def keys(resources: dict[str, str]) -> KeyStore:
    return KeyStore.for_table(resources["ChargingKeysTable"])


@pytest.fixture
def audit(resources: dict[str, str]) -> AuditStore:
    return AuditStore.for_table(resources["WhitelistAuditTable"])


@pytest.fixture
def pusher(keys: KeyStore, audit: AuditStore, sim: PlugsurfingSimulator) -> Pusher:
    return Pusher(keys, audit, sim)


def _clear_caches() -> None:
    parameters.clear_caches()
    for cached in (load_settings, key_store, whitelist_push_dependencies, oioi_client):
        cached.cache_clear()
    metrics.clear_metrics()


@pytest.fixture
def function_env(
    monkeypatch: pytest.MonkeyPatch, aws: boto3.Session, resources: dict[str, str], sim: PlugsurfingSimulator
) -> Iterator[Callable[..., None]]:
    """The environment template.yaml gives WhitelistPushFunction, pointed at the simulator."""

    def configure(**overrides: str) -> None:
        secret, identifier = resources["OioiApiKeySecret"], resources["OioiPartnerIdentifierSecret"]
        secrets = aws.client("secretsmanager")
        secrets.put_secret_value(SecretId=secret, SecretString=DEFAULT_OIOI_KEY)
        secrets.put_secret_value(SecretId=identifier, SecretString=PARTNER)
        environment = {
            "STAGE": "dev",
            "CHARGING_KEYS_TABLE": resources["ChargingKeysTable"],
            "WHITELIST_AUDIT_TABLE": resources["WhitelistAuditTable"],
            "OIOI_ENDPOINT_URL": sim.oioi_url,
            "OIOI_API_KEY_SECRET": secret,
            "OIOI_PARTNER_IDENTIFIER_SECRET": identifier,
            "WHITELIST_MAX_SHRINK": "0.2",
            "WHITELIST_MAX_AGE_HOURS": "24",
            "POWERTOOLS_SERVICE_NAME": "whitelist-push",
            "POWERTOOLS_METRICS_NAMESPACE": "PlugsurfingBackbone",
        }
        for name, value in (environment | overrides).items():
            monkeypatch.setenv(name, value)
        _clear_caches()
        monkeypatch.setattr(metrics.provider, "namespace", "PlugsurfingBackbone")

    yield configure
    _clear_caches()
