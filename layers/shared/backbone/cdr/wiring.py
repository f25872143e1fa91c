"""The CDR functions' data-access objects, built once per process (warm invocations reuse their
connections)."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

import boto3

from backbone.cdr.logic import IngestDependencies
from backbone.cdr.settings import CdrIngestSettings, CdrReconcileSettings
from backbone.cdr.store import AWS_CONFIG, DynamoCdrStore, SessionsTableReader, SqsCdrSender, SqsDeadLetters

if TYPE_CHECKING:
    from backbone.cdr.reconcile import ReconcileDependencies, ReconcileOptions


@cache
def ingest_dependencies(settings: CdrIngestSettings) -> IngestDependencies:
    return IngestDependencies(
        store=DynamoCdrStore(boto3.client("dynamodb", config=AWS_CONFIG), settings.cdr_table),
        dead_letters=SqsDeadLetters(
            boto3.client("sqs", config=AWS_CONFIG), settings.cdr_dead_letter_queue_url
        ),
    )


@cache
def reconcile_dependencies(settings: CdrReconcileSettings) -> ReconcileDependencies:
    # Imported here: the partner client (httpx) is CdrReconcileFunction's, not ingestion's.
    from backbone.cdr.partner import PlugsurfingSessionSource  # noqa: PLC0415
    from backbone.cdr.reconcile import ReconcileDependencies  # noqa: PLC0415
    from backbone.partners.factory import plugsurfing_client  # noqa: PLC0415

    dynamodb = boto3.client("dynamodb", config=AWS_CONFIG)
    return ReconcileDependencies(
        poller=SessionsTableReader(dynamodb, settings.sessions_table),
        partner=PlugsurfingSessionSource(plugsurfing_client(settings)),
        cdrs=DynamoCdrStore(dynamodb, settings.cdr_table),
        queue=SqsCdrSender(boto3.client("sqs", config=AWS_CONFIG), settings.cdr_queue_url),
    )


def reconcile_options(settings: CdrReconcileSettings) -> ReconcileOptions:
    from backbone.cdr.reconcile import ReconcileOptions  # noqa: PLC0415

    return ReconcileOptions(
        partner_id=settings.cdr_partner_id,
        partner_mode=settings.partner_mode,
        lookback=timedelta(hours=settings.cdr_reconcile_lookback_hours),
        settle=timedelta(minutes=settings.cdr_reconcile_settle_minutes),
        history_limit=settings.cdr_reconcile_history_limit,
    )
