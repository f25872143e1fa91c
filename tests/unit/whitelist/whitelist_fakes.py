"""In-memory stand-ins for the key table, the audit table and the OIOI client (unit tests). The
client stand-in is wrapped in the real `OioiRfidSender`, so partner errors reach the push as they
do in production."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from backbone.partners.oioi_client import RfidPostOutcome
from backbone.whitelist.guards import GuardPolicy
from backbone.whitelist.models import LastSuccess, LockHolder, PushAttempt
from backbone.whitelist.partner import OioiRfidSender
from backbone.whitelist.ports import WhitelistDependencies

PARTNER = "partner-identifier-0001"
NOW = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


@dataclass
class MemoryKeys:
    """Pages of stored UIDs; `fail` makes the read raise (a DynamoDB outage)."""

    uids: list[str] = field(default_factory=list)
    fail: Exception | None = None

    def iter_whitelist_pages(self, now: datetime, page_size: int = 1000) -> Iterator[list[str]]:
        if self.fail is not None:
            raise self.fail
        for start in range(0, len(self.uids), page_size):
            yield self.uids[start : start + page_size]


@dataclass
class MemoryAudit:
    """The audit table with an atomic lock (what the conditional put guarantees)."""

    attempts: list[PushAttempt] = field(default_factory=list)
    last: LastSuccess | None = None
    lists: dict[str, list[str]] = field(default_factory=dict)
    lock: LockHolder | None = None
    _mutex: threading.Lock = field(default_factory=threading.Lock)

    def acquire_lock(self, owner: str, trigger: str, now: datetime, ttl: timedelta) -> LockHolder | None:
        with self._mutex:
            if self.lock is not None and self.lock.expires_at >= now:
                return self.lock
            self.lock = LockHolder(owner, trigger, now, now + ttl)
            return None

    def release_lock(self, owner: str) -> None:
        with self._mutex:
            if self.lock is not None and self.lock.owner == owner:
                self.lock = None

    def last_success(self) -> LastSuccess | None:
        return self.last

    def record(self, attempt: PushAttempt) -> None:
        with self._mutex:
            self.attempts.append(attempt)

    def history(self, limit: int = 20) -> list[PushAttempt]:
        return sorted(self.attempts, key=lambda attempt: attempt.key, reverse=True)[:limit]

    def record_sent(self, attempt: PushAttempt, uids: Iterable[str]) -> PushAttempt:
        stored = attempt.model_copy(update={"list_chunks": 1})
        with self._mutex:
            self.lists[attempt.key] = list(uids)
            self.attempts.append(stored)
            self.last = LastSuccess(
                at=stored.at, count=stored.count or 0, sha256=stored.sha256 or "", audit_key=stored.key
            )
        return stored


@dataclass
class RecordingSender:
    """OioiClient.post_rfids: records each call; `error` raises instead; `before` runs first."""

    calls: list[tuple[list[str], str]] = field(default_factory=list)
    error: Exception | None = None
    before: Callable[[], None] | None = None

    def post_rfids(self, rfids: Iterable[str], partner_identifier: str) -> RfidPostOutcome:
        if self.before is not None:
            self.before()
        if self.error is not None:
            raise self.error
        sent = list(rfids)
        self.calls.append((sent, partner_identifier))
        return RfidPostOutcome(processed=len(sent), attempts=1, duration=0.012, code=0)


def deps(
    keys: MemoryKeys, audit: MemoryAudit, sender: RecordingSender, now: datetime = NOW
) -> WhitelistDependencies:
    """A push at `now`: shrink guard 20 %, heartbeat 24 h, pages of two UIDs."""
    return WhitelistDependencies(
        keys=keys,
        audit=audit,
        sender=OioiRfidSender(sender),  # type: ignore[arg-type]
        partner_identifier=lambda: PARTNER,
        policy=GuardPolicy(max_shrink=0.2, max_age=timedelta(hours=24)),
        lock_ttl=timedelta(seconds=360),
        page_size=2,
        clock=lambda: now,
    )
