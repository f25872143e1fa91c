"""Environment of the CDR functions (template.yaml, "CDR ingestion" section)."""

from __future__ import annotations

from pydantic import Field

from backbone.settings import PlugsurfingApiSettings, RetentionSettings


class CdrIngestSettings(RetentionSettings):
    cdr_table: str = Field(min_length=1)
    cdr_dead_letter_queue_url: str = Field(min_length=1)
    privacy_pepper_secret: str = Field(min_length=1)
    """The NAME (ARN) of `PrivacyPepperSecret`; the pepper itself is read from Secrets Manager."""


class CdrReconcileSettings(PlugsurfingApiSettings):
    cdr_table: str = Field(min_length=1)
    cdr_queue_url: str = Field(min_length=1)
    sessions_table: str = Field(min_length=1)
    cdr_partner_id: str = Field(default="plugsurfing", min_length=1)
    """The partner id Drive/EMP CDRs are stored under; the session poller uses the same one."""
    cdr_reconcile_lookback_hours: int = Field(default=168, ge=1)
    """Sessions completed this far back are checked (a week: a CDR stuck that long is found)."""
    cdr_reconcile_settle_minutes: int = Field(default=15, ge=0)
    """A session completed more recently may still be on its way through the poller and queue."""
    cdr_reconcile_history_limit: int = Field(default=50, ge=1, le=500)
    """Sessions per user asked from the Drive session history."""
