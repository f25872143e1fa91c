"""Build WhitelistPushFunction's dependencies from settings, once per process (warm invocations
reuse clients and connections)."""

from __future__ import annotations

from datetime import timedelta
from functools import cache, partial

from backbone.aws.secrets import get_partner_identifier
from backbone.keys.wiring import key_store
from backbone.partners.factory import oioi_client
from backbone.partners.oioi_client import OioiClient
from backbone.whitelist.aws import AuditStore
from backbone.whitelist.partner import OioiRfidSender, rfid_post_policy
from backbone.whitelist.ports import WhitelistDependencies
from backbone.whitelist.settings import WhitelistPushSettings


def rfid_client(settings: WhitelistPushSettings) -> OioiClient:
    """The OIOI client with a longer read timeout and retry budget: the receiver replaces a whole
    list per call."""
    return oioi_client(
        settings,
        rfid_post_policy(settings.whitelist_retry_budget_seconds),
        settings.whitelist_read_timeout_seconds,
    )


@cache
def whitelist_push_dependencies(settings: WhitelistPushSettings) -> WhitelistDependencies:
    return WhitelistDependencies(
        keys=key_store(settings.charging_keys_table),
        audit=AuditStore.for_table(
            settings.whitelist_audit_table, retention_days=settings.activity_retention_days
        ),
        sender=OioiRfidSender(rfid_client(settings)),
        partner_identifier=partial(get_partner_identifier, settings.oioi_partner_identifier_secret),
        policy=settings.guard_policy(),
        lock_ttl=timedelta(seconds=settings.whitelist_lock_seconds),
        page_size=settings.whitelist_page_size,
    )
