"""Whitelist push integration helpers (a uniquely named module: test files import it, never
`conftest`, which several test folders have)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from backbone.keys.aws import KeyStore
from backbone.keys.models import ChargingKey, KeyState
from backbone.oioi.identifiers import uid_to_key_identifier
from backbone.partners.oioi_client import OioiClient
from backbone.partners.retry import RetryPolicy
from backbone.whitelist.aws import AuditStore
from backbone.whitelist.guards import GuardPolicy
from backbone.whitelist.models import PushAttempt, PushRequest
from backbone.whitelist.partner import OioiRfidSender
from backbone.whitelist.ports import RfidSender, WhitelistDependencies
from backbone.whitelist.push import push_whitelist
from simulator import DEFAULT_OIOI_KEY, PlugsurfingSimulator

PARTNER = "partner-identifier-0001"
NOW = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


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

    def dependencies(self, now: datetime, sender: RfidSender | None = None) -> WhitelistDependencies:
        return WhitelistDependencies(
            keys=self.keys,
            audit=self.audit,
            sender=sender or OioiRfidSender(self.client()),
            partner_identifier=lambda: PARTNER,
            policy=GuardPolicy(max_shrink=self.max_shrink, max_age=timedelta(hours=24)),
            lock_ttl=timedelta(seconds=360),
            page_size=3,  # several pages even for a handful of keys
            clock=lambda: now,
        )

    def push(
        self, request: PushRequest | None = None, *, now: datetime = NOW, sender: Any = None
    ) -> PushAttempt:
        return push_whitelist(
            request or PushRequest(trigger="schedule"),
            self.dependencies(now, sender),
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
