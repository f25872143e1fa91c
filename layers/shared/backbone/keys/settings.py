"""Environment of the key functions (template section "Charging keys")."""

from __future__ import annotations

from pydantic import Field

from backbone.settings import PlugsurfingApiSettings


class KeySyncSettings(PlugsurfingApiSettings):
    """KeySyncFunction: stream of ChargingKeysTable -> Plugsurfing."""

    charging_keys_table: str = Field(min_length=1)
    key_sync_max_attempts: int = Field(default=4, ge=1)
    """Transient failures of one key before its syncState shows ERROR (the stream's
    MaximumRetryAttempts + 1, so the key shows the error when the record goes to the DLQ)."""
    key_list_page_size: int = Field(default=100, ge=10, le=500)


class KeyReconcileSettings(PlugsurfingApiSettings):
    """KeyReconcileFunction: scheduled drift report (and repair when told)."""

    charging_keys_table: str = Field(min_length=1)
    key_reconcile_repair: bool = False
    key_list_page_size: int = Field(default=100, ge=10, le=500)
