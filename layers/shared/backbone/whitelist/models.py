"""What a push attempt is asked to do and what it did: the trigger, the outcome and the audit record.

The audit record (`PushAttempt`) is also the function's response, so an operator sees in the
CLI exactly what was stored in WhitelistAuditTable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SKIPPED_SAMPLE_LIMIT = 100
"""Skipped UIDs stored per attempt (with reasons); counts are always complete."""


class Outcome(StrEnum):
    SENT = "SENT"
    SKIPPED_UNCHANGED = "SKIPPED_UNCHANGED"
    REFUSED_EMPTY = "REFUSED_EMPTY"
    REFUSED_SHRINK = "REFUSED_SHRINK"
    FAILED = "FAILED"
    LOCKED = "LOCKED"

    @property
    def refused(self) -> bool:
        return self in (Outcome.REFUSED_EMPTY, Outcome.REFUSED_SHRINK)


TriggerKind = Literal["schedule", "manual", "retry"]
"""`retry`: the probe found the latest attempt FAILED and pushes again (see logic.retry_due)."""


class PushRequest(BaseModel):
    """What started the attempt. An override bypasses the guards (empty, shrink, unchanged) and
    must say why: the reason is audited with the push."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    trigger: TriggerKind = "manual"
    override: bool = False
    reason: str | None = Field(default=None, max_length=500)
    requested_by: str | None = Field(default=None, alias="requestedBy", max_length=200)

    @model_validator(mode="after")
    def _override_needs_reason(self) -> PushRequest:
        if self.override and not (self.reason and self.reason.strip()):
            raise ValueError("an override needs a reason (it is audited with the push)")
        return self


class SkippedUid(BaseModel):
    """A key the push left out: `invalid` (not a UID) or `duplicate` (same UID as another key
    once normalised)."""

    model_config = ConfigDict(frozen=True)

    uid: str
    kind: Literal["invalid", "duplicate"]
    reason: str


class LastSuccess(BaseModel):
    """The last list the receiver accepted: the baseline of the shrink guard and the unchanged
    check, and where its UIDs are stored (`list_key`, see store.py)."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    at: datetime
    count: int
    sha256: str
    audit_key: str = Field(alias="auditKey")
    """The `sk` of the SENT audit item."""
    list_chunks: int = Field(default=0, alias="listChunks")


class PushAttempt(BaseModel):
    """One audited attempt (WhitelistAuditTable, pk "PUSH", sk `key`) and the function's answer."""

    model_config = ConfigDict(populate_by_name=True)

    key: str
    """Sort key: `<at, storage format>#<attempt id>` (sorts by time, unique per attempt)."""
    at: datetime
    attempt_id: str = Field(alias="attemptId")
    trigger: TriggerKind
    override: bool = False
    reason: str | None = None
    requested_by: str | None = Field(default=None, alias="requestedBy")
    outcome: Outcome
    message: str
    count: int | None = None
    sha256: str | None = None
    keys_read: int | None = Field(default=None, alias="keysRead")
    invalid_count: int = Field(default=0, alias="invalidCount")
    duplicate_count: int = Field(default=0, alias="duplicateCount")
    skipped: list[SkippedUid] = Field(default_factory=list)
    payload_bytes: int | None = Field(default=None, alias="payloadBytes")
    overridden: list[str] = Field(default_factory=list)
    """Guards the override bypassed (e.g. ["shrink"]); empty when none would have refused."""
    previous_count: int | None = Field(default=None, alias="previousCount")
    previous_sha256: str | None = Field(default=None, alias="previousSha256")
    previous_at: datetime | None = Field(default=None, alias="previousAt")
    result_code: int | None = Field(default=None, alias="resultCode")
    processed: int | None = None
    attempts: int | None = None
    duration_ms: float | None = Field(default=None, alias="durationMs")
    error: str | None = None
    list_chunks: int = Field(default=0, alias="listChunks")
    """Stored chunks of the sent UID list (SENT only; `bbctl whitelist show <time> --uids`)."""
    last_success_age_seconds: float | None = Field(default=None, alias="lastSuccessAgeSeconds")
    """Age of the last successful push once this attempt ended (0 after a SENT)."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds the push lock (WhitelistAuditTable `LOCK`/`PUSH`) and until when."""

    owner: str
    trigger: str
    acquired_at: datetime
    expires_at: datetime


class RfidPostFailed(Exception):
    """rfid-post failed for good (after the client's retries): the receiver keeps its previous
    whitelist. Carries what the audit records: attempts, time taken, OIOI result code, status."""

    def __init__(
        self,
        message: str,
        *,
        attempts: int,
        duration: float,
        result_code: int | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.duration = duration
        self.result_code = result_code
        self.status = status
