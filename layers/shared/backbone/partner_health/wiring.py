"""Build partner health's dependencies from settings, once per process."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from functools import cache

from backbone.aws import clients
from backbone.observability import logger
from backbone.partner_health.aws import DynamoPartnerActivity, recording_client
from backbone.partner_health.ports import HealthDependencies
from backbone.partner_health.recorder import DISABLED, ActivityRecorder
from backbone.partner_health.settings import PartnerActivitySettings, PartnerHealthSettings
from backbone.receiver.aws import DynamoPartnerAccess
from backbone.settings import load_settings


@cache
def activity_recorder() -> ActivityRecorder:
    """The receiver's recorder. Never raises: without its table (or with a broken environment)
    the receiver answers as always and notes nothing."""
    try:
        table = load_settings(PartnerActivitySettings).partner_activity_table
        return ActivityRecorder(DynamoPartnerActivity(recording_client(), table)) if table else DISABLED
    except Exception:
        logger.warning("partner activity recording is off", exc_info=True)
        return DISABLED


class ActiveKeyOwners:
    """Partners with at least one active API key (PartnersTable, one item per key)."""

    def __init__(self, keys: DynamoPartnerAccess) -> None:
        self._keys = keys

    def active_partner_ids(self) -> Iterable[str]:
        return {access.partner_id for access in self._keys.list_all() if access.active}


@cache
def health_dependencies(settings: PartnerHealthSettings) -> HealthDependencies:
    client = clients.client("dynamodb")
    return HealthDependencies(
        activity=DynamoPartnerActivity(client, settings.partner_activity_table),
        partners=ActiveKeyOwners(DynamoPartnerAccess(client, settings.partners_table)),
        period=timedelta(hours=settings.partner_silence_hours),
    )
