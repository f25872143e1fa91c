"""Build the key functions' dependencies from settings, once per process (warm invocations reuse
clients and connections). The one place that picks the EMP or the Drive adapter."""

from __future__ import annotations

from functools import cache

from backbone.keys.aws import KeyStore
from backbone.keys.partner import DriveKeyPartner, EmpKeyPartner
from backbone.keys.ports import KeyDependencies, KeyPartner
from backbone.keys.settings import KeyReconcileSettings, KeySyncSettings
from backbone.partners.factory import plugsurfing_client


@cache
def key_store(table_name: str) -> KeyStore:
    """The charging-keys table (batch latency); other capabilities' wiring builds it here too."""
    return KeyStore.for_table(table_name)


def key_partner(settings: KeySyncSettings | KeyReconcileSettings) -> KeyPartner:
    """Plugsurfing in the API the stack runs against (`PARTNER_MODE`)."""
    client = plugsurfing_client(settings)
    if settings.partner_mode == "drive":
        return DriveKeyPartner(client)
    return EmpKeyPartner(client, page_size=settings.key_list_page_size)


@cache
def key_sync_dependencies(settings: KeySyncSettings) -> KeyDependencies:
    return KeyDependencies(
        store=key_store(settings.charging_keys_table),
        partner=key_partner(settings),
        sync_max_attempts=settings.key_sync_max_attempts,
    )


@cache
def key_reconcile_dependencies(settings: KeyReconcileSettings) -> KeyDependencies:
    return KeyDependencies(
        store=key_store(settings.charging_keys_table),
        partner=key_partner(settings),
        repair=settings.key_reconcile_repair,
    )
