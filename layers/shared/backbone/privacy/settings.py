"""Environment of PrivacyPurgeFunction (template.yaml, "Privacy: retention"). The retention
periods come from `backbone.settings.RetentionSettings` (template Globals, per stage)."""

from __future__ import annotations

from pydantic import Field

from backbone.settings import RetentionSettings


class PrivacyPurgeSettings(RetentionSettings):
    cdr_table: str = Field(min_length=1)
    orders_table: str = Field(min_length=1)
    drive_orders_table: str = Field(min_length=1)
    privacy_purge_table: str = Field(min_length=1)
    privacy_pepper_secret: str = Field(min_length=1)
    privacy_purge_budget_seconds: int = Field(default=780, ge=10)
    """Stop starting new work after this long: below the function's Timeout (900 s)."""
    privacy_purge_catch_up_days: int = Field(default=30, ge=0)
    """The first run also looks at billing days this far before the cut-off."""
