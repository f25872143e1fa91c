"""The narrow interfaces the whitelist push works through, and the bundle the function hands it.
The key table is `keys.aws.KeyStore`, the audit table `aws.AuditStore`, the receiver
`partner.OioiRfidSender`, all built in `wiring.py`; tests pass fakes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from backbone.timeutil import utc_now
from backbone.whitelist.guards import GuardPolicy
from backbone.whitelist.models import LastSuccess, LockHolder, PushAttempt


class WhitelistSource(Protocol):
    """The keys to whitelist at `now`, one page of stored UIDs at a time (keys.aws.KeyStore)."""

    def iter_whitelist_pages(self, now: datetime, page_size: int = 1000) -> Iterator[list[str]]: ...


class AuditLog(Protocol):
    """The audit table: attempts, the last success, and the push lock (aws.AuditStore)."""

    def acquire_lock(self, owner: str, trigger: str, now: datetime, ttl: timedelta) -> LockHolder | None:
        """Take the lock; None when taken, else who holds it."""
        ...

    def release_lock(self, owner: str) -> None: ...
    def last_success(self) -> LastSuccess | None: ...
    def record(self, attempt: PushAttempt) -> None: ...
    def record_sent(self, attempt: PushAttempt, uids: Iterable[str]) -> PushAttempt:
        """Store a SENT attempt with its UID list and make it the last success."""
        ...

    def history(self, limit: int = 20) -> list[PushAttempt]:
        """The newest `limit` attempts, newest first."""
        ...


class Sent(Protocol):
    """The receiver's answer to rfid-post (`partners.oioi_client.RfidPostOutcome`)."""

    @property
    def processed(self) -> int | None: ...
    @property
    def attempts(self) -> int: ...
    @property
    def duration(self) -> float: ...
    @property
    def code(self) -> int | None: ...


class RfidSender(Protocol):
    """OIOI rfid-post: replace the receiver's whole whitelist. Raises `RfidPostFailed`."""

    def post_rfids(self, rfids: Iterable[str], partner_identifier: str) -> Sent: ...


@dataclass(frozen=True)
class WhitelistDependencies:
    """Everything a push needs. `partner_identifier` is read when a push runs (a cached secret,
    so a rotation takes effect without a cold start); `lock_ttl` is longer than the function
    timeout, so a running push never loses its lock."""

    keys: WhitelistSource
    audit: AuditLog
    sender: RfidSender
    partner_identifier: Callable[[], str]
    policy: GuardPolicy
    lock_ttl: timedelta
    page_size: int = 1000
    clock: Callable[[], datetime] = utc_now
