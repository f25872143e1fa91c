"""In-memory stand-ins for CdrTable and the queues, with DynamoDB's per-item atomicity (a lock):
for unit and property tests of the CDR logic without AWS."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backbone.cdr.envelope import CdrEnvelope
from backbone.cdr.models import (
    CURRENT_SK,
    MAX_BATCH_WRITES,
    Cdr,
    CdrStatus,
    PutResult,
    RecordKind,
    RecordWrite,
    Refused,
    StoredCdr,
    StoredState,
)
from backbone.privacy.pseudonym import pseudonymiser

TEST_PEPPER = "test-pepper-of-at-least-32-characters-0001"
"""The pepper unit tests pseudonymise under (PrivacyPepperSecret's value in moto, too)."""
pseudonymise_for_tests = pseudonymiser(lambda: TEST_PEPPER)


@dataclass
class InMemoryCdrStore:
    """`items[(pk, sk)]` is the stored item; `writes` counts every successful write."""

    items: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    writes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def put_if_advances(self, cdr: Cdr) -> PutResult:
        item = cdr.to_item()
        with self._lock:
            current = self.items.get((cdr.pk, CURRENT_SK))
            state = StoredState.from_item(current) if current else None
            advances = state is None or (state.status is CdrStatus.ONGOING and state.progress < cdr.progress)
            if not advances:
                return PutResult(False, state)
            self.items[(cdr.pk, CURRENT_SK)] = item
            self.writes += 1
            return PutResult(True, state)

    def put_correction(self, cdr: Cdr) -> bool:
        item = cdr.to_item(RecordKind.CORRECTION)
        with self._lock:
            if (item["pk"], item["sk"]) in self.items:
                return False
            self.items[(item["pk"], item["sk"])] = item
            self.writes += 1
            return True

    def write_all(self, writes: Sequence[RecordWrite]) -> list[Refused]:
        """All or nothing, each write under its condition, as one TransactWriteItems."""
        if len(writes) > MAX_BATCH_WRITES or len({write.key for write in writes}) < len(writes):
            raise ValueError("ValidationException: at most 100 writes, one per item")
        with self._lock:
            refused = []
            for write in writes:
                stored = self.items.get(write.key)
                state = StoredState.from_item(stored) if stored else None
                if write.kind is RecordKind.CORRECTION or write.replaces is None:
                    holds = stored is None
                else:
                    holds = state is None or (
                        state.status is CdrStatus.ONGOING and state.progress < write.cdr.progress
                    )
                if not holds:
                    refused.append(Refused(write, state if write.kind is RecordKind.CDR else None))
            if refused:
                return refused
            for write in writes:
                self.items[write.key] = write.cdr.to_item(write.kind)
                self.writes += 1
            return []

    def history(self, partner_id: str, session_id: str) -> list[StoredCdr]:
        pk = f"{partner_id}#{session_id}"
        return [StoredCdr.from_item(item) for (key, _), item in sorted(self.items.items()) if key == pk]

    def has_final(self, session_id: str) -> bool:
        return any(
            item["sessionId"] == session_id
            and item["kind"] == RecordKind.CDR
            and item["status"] == CdrStatus.FINAL
            for item in self.items.values()
        )


@dataclass
class InMemoryDeadLetters:
    messages: list[tuple[str, str, str]] = field(default_factory=list)  # (body, reason, message id)

    def send(self, body: str, reason: str, message_id: str, at: datetime) -> None:
        self.messages.append((body, reason, message_id))


@dataclass
class InMemoryCdrSender:
    sent: list[CdrEnvelope] = field(default_factory=list)

    def send(self, envelope: CdrEnvelope) -> None:
        self.sent.append(envelope)
