"""Build the retention purge's dependencies from settings, once per process."""

from __future__ import annotations

from datetime import timedelta
from functools import cache, partial

from backbone.aws import clients
from backbone.aws.secrets import get_pepper
from backbone.privacy.aws import DynamoCdrIdentities, DynamoCheckpoints, DynamoOrderAddresses
from backbone.privacy.ports import PurgeDependencies
from backbone.privacy.pseudonym import pseudonymiser
from backbone.privacy.settings import PrivacyPurgeSettings


@cache
def purge_dependencies(settings: PrivacyPurgeSettings) -> PurgeDependencies:
    dynamodb = clients.client("dynamodb", "batch")
    # The pepper is read per call from Powertools' cache, never kept for the process's life.
    pseudonym_of = pseudonymiser(partial(get_pepper, settings.privacy_pepper_secret))
    return PurgeDependencies(
        cdrs=DynamoCdrIdentities(dynamodb, settings.cdr_table, pseudonym_of),
        orders=DynamoOrderAddresses(dynamodb, settings.orders_table, settings.drive_orders_table),
        checkpoints=DynamoCheckpoints(dynamodb, settings.privacy_purge_table),
        pseudonym_of=pseudonym_of,
        policy=settings.retention_policy(),
        budget=timedelta(seconds=settings.privacy_purge_budget_seconds),
        catch_up_days=settings.privacy_purge_catch_up_days,
    )
