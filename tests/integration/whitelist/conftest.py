"""Whitelist push integration fixtures: the template's tables in moto, the Plugsurfing simulator
over real HTTP, the shared OIOI client with a recorded (instant) back-off."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto.dynamodb.models import DynamoDBBackend

from backbone.keys.model import ChargingKey, KeyState
from backbone.keys.store import KeyStore, key_store
from backbone.observability import metrics
from backbone.oioi.identifiers import uid_to_key_identifier
from backbone.partners.oioi_client import OioiClient
from backbone.partners.retry import RetryPolicy
from backbone.settings import load_settings
from backbone.whitelist.guards import GuardPolicy
from backbone.whitelist.logic import Dependencies, PushConfig, push_whitelist
from backbone.whitelist.models import PushAttempt, PushRequest
from backbone.whitelist.service import rfid_client
from backbone.whitelist.store import AuditStore, audit_store
from simulator import DEFAULT_OIOI_KEY, PlugsurfingSimulator

PARTNER = "partner-identifier-0001"
NOW = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


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
def atomic_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies a conditional write atomically; moto checks and writes without a lock.
    Give moto DynamoDB's guarantee so the race test measures our lock, not moto's."""
    lock = threading.RLock()
    for name in ("put_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)

        def locked(self: DynamoDBBackend, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)


def active_key(uid: str, **fields: Any) -> ChargingKey:
    """An enabled ACTIVE key (whitelisted unless its validity window says otherwise)."""
    values: dict[str, Any] = {
        "uid": uid,
        "keyIdentifier": uid_to_key_identifier(uid),
        "visualNumber": f"VN-{uid}",
        "state": KeyState.ACTIVE,
        "enabled": True,
    }
    return ChargingKey.model_validate(values | fields)


@dataclass
class Pusher:
    """Runs attempts like the function does, against moto and the simulator."""

    keys: KeyStore
    audit: AuditStore
    sim: PlugsurfingSimulator
    sleeps: list[float] = field(default_factory=list)
    max_attempts: int = 4
    read_timeout: float = 2.0
    max_shrink: float = 0.2

    def client(self) -> OioiClient:
        policy = RetryPolicy(
            max_attempts=self.max_attempts, budget=60, sleep=self.sleeps.append, jitter=lambda low, high: low
        )
        return OioiClient(
            self.sim.oioi_url, DEFAULT_OIOI_KEY, retry_policy=policy, read_timeout=self.read_timeout
        )

    def config(self) -> PushConfig:
        return PushConfig(
            partner_identifier=PARTNER,
            policy=GuardPolicy(max_shrink=self.max_shrink, max_age=timedelta(hours=24)),
            lock_ttl=timedelta(seconds=360),
            page_size=3,  # several pages even for a handful of keys
        )

    def push(
        self, request: PushRequest | None = None, *, now: datetime = NOW, sender: Any = None
    ) -> PushAttempt:
        deps = Dependencies(keys=self.keys, audit=self.audit, sender=sender or self.client())
        return push_whitelist(
            request or PushRequest(trigger="schedule"),
            deps,
            self.config(),
            now=now,
            attempt_id=str(uuid.uuid4()),
        )

    def received(self) -> list[str] | None:
        """The whitelist the simulator holds for our partner identifier."""
        return self.sim.whitelist(PARTNER)

    def rfid_posts(self) -> int:
        return sum(
            1
            for entry in self.sim.requests("POST", "/api/v4/request")
            if isinstance(entry["body"], dict) and "rfid-post" in entry["body"]
        )


@pytest.fixture
def pusher(keys: KeyStore, audit: AuditStore, sim: PlugsurfingSimulator) -> Pusher:
    return Pusher(keys, audit, sim)


def _clear_caches() -> None:
    parameters.clear_caches()
    for cached in (load_settings, key_store, audit_store, rfid_client):
        cached.cache_clear()
    metrics.clear_metrics()


@pytest.fixture
def function_env(
    monkeypatch: pytest.MonkeyPatch, aws: boto3.Session, resources: dict[str, str], sim: PlugsurfingSimulator
) -> Iterator[Callable[..., None]]:
    """The environment template.yaml gives WhitelistPushFunction, pointed at the simulator."""

    def configure(**overrides: str) -> None:
        secret = resources["OioiApiKeySecret"]
        aws.client("secretsmanager").put_secret_value(SecretId=secret, SecretString=DEFAULT_OIOI_KEY)
        environment = {
            "STAGE": "dev",
            "CHARGING_KEYS_TABLE": resources["ChargingKeysTable"],
            "WHITELIST_AUDIT_TABLE": resources["WhitelistAuditTable"],
            "OIOI_ENDPOINT_URL": sim.oioi_url,
            "OIOI_API_KEY_SECRET": secret,
            "OIOI_PARTNER_IDENTIFIER": PARTNER,
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
