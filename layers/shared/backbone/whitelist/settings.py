"""Environment of WhitelistPushFunction (template section "RFID whitelist push")."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from backbone.settings import OioiClientSettings, RetentionSettings
from backbone.whitelist.guards import GuardPolicy


class WhitelistPushSettings(OioiClientSettings, RetentionSettings):
    charging_keys_table: str = Field(min_length=1)
    whitelist_audit_table: str = Field(min_length=1)
    oioi_partner_identifier_secret: str = Field(min_length=1)
    """Secret holding our OIOI partner identifier (sent as rfid-post `partner-identifier`)."""
    whitelist_max_shrink: float = Field(default=0.2, ge=0, le=1)
    """Largest allowed drop against the last successful push (fraction of its count)."""
    whitelist_max_age_hours: float = Field(default=24, gt=0)
    """Heartbeat: an unchanged list is re-sent once the last success is this old (less 10%)."""
    whitelist_lock_seconds: int = Field(default=360, ge=60)
    """Push lock lifetime: must exceed the function's Timeout."""
    whitelist_page_size: int = Field(default=1000, ge=10, le=10_000)
    whitelist_read_timeout_seconds: float = Field(default=60, gt=0)
    """rfid-post read timeout: the receiver replaces a whole list, which can take a while."""
    whitelist_retry_budget_seconds: float = Field(default=120, gt=0)

    def guard_policy(self) -> GuardPolicy:
        return GuardPolicy(
            max_shrink=self.whitelist_max_shrink, max_age=timedelta(hours=self.whitelist_max_age_hours)
        )
