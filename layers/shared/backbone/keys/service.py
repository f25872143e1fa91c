"""Entry points for the key functions: build the data access once per process from settings and
call the logic. Handlers make exactly one call into this module."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backbone.keys.reconcile import ReconcileReport, reconcile
from backbone.keys.settings import KeyReconcileSettings, KeySyncSettings
from backbone.keys.store import key_store
from backbone.keys.sync import SyncResult, sync_stream_record
from backbone.observability import bind_correlation
from backbone.partners.factory import plugsurfing_client
from backbone.timeutil import utc_now


def sync_changed_key(
    old_image: Mapping[str, Any] | None, new_image: Mapping[str, Any] | None, settings: KeySyncSettings
) -> SyncResult:
    """One stream record of ChargingKeysTable: tell Plugsurfing if a business field changed."""
    image = new_image or old_image or {}
    bind_correlation(key_uid=image.get("uid"))
    return sync_stream_record(
        old_image,
        new_image,
        store=key_store(settings.charging_keys_table),
        client=plugsurfing_client(settings),
        mode=settings.partner_mode,
        now=utc_now(),
        max_attempts=settings.key_sync_max_attempts,
        page_size=settings.key_list_page_size,
    )


def reconcile_keys(settings: KeyReconcileSettings, *, repair: bool | None = None) -> ReconcileReport:
    """Drift report for the whole table; `repair` overrides the configured default."""
    return reconcile(
        key_store(settings.charging_keys_table),
        plugsurfing_client(settings),
        settings.partner_mode,
        utc_now(),
        repair=settings.key_reconcile_repair if repair is None else repair,
        page_size=settings.key_list_page_size,
    )
