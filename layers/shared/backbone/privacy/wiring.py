"""Build the retention purge's dependencies from settings, once per process."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from backbone.aws import clients
from backbone.aws.secrets import get_pepper
from backbone.privacy.aws import DynamoCdrIdentities, DynamoCheckpoints, DynamoOrderAddresses
from backbone.privacy.ports import PurgeDependencies
from backbone.privacy.pseudonym import pseudonym
from backbone.privacy.settings import PrivacyPurgeSettings


@cache
def purge_dependencies(settings: PrivacyPurgeSettings) -> PurgeDependencies:
    dynamodb = clients.client("dynamodb", "batch")

    def pseudonym_of(identifier: str) -> str:
        # Read per call from Powertools' cache, never kept in a closure for the process's life.
        return pseudonym(get_pepper(settings.privacy_pepper_secret), identifier)

    return PurgeDependencies(
        cdrs=DynamoCdrIdentities(dynamodb, settings.cdr_table),
        orders=DynamoOrderAddresses(dynamodb, settings.orders_table, settings.drive_orders_table),
        checkpoints=DynamoCheckpoints(dynamodb, settings.privacy_purge_table),
        pseudonym_of=pseudonym_of,
        policy=settings.retention_policy(),
        budget=timedelta(seconds=settings.privacy_purge_budget_seconds),
        catch_up_days=settings.privacy_purge_catch_up_days,
    )
