"""The CDR functions' dependencies, built once per process (warm invocations reuse their
connections): the one place that builds clients and tables and picks EMP or Drive adapters."""

from __future__ import annotations

from datetime import timedelta
from functools import cache, partial

from backbone.aws.cdr_queue import SqsCdrQueue
from backbone.aws.clients import client
from backbone.aws.secrets import get_pepper
from backbone.cdr.aws import DynamoCdrStore, SessionsTableReader, SqsDeadLetters
from backbone.cdr.ports import IngestDependencies, ReconcileDependencies
from backbone.cdr.settings import CdrIngestSettings, CdrReconcileSettings
from backbone.privacy.pseudonym import pseudonymiser


@cache
def cdr_ingest_dependencies(settings: CdrIngestSettings) -> IngestDependencies:
    return IngestDependencies(
        store=DynamoCdrStore(
            client("dynamodb", "batch"), settings.cdr_table, settings.accounting_retention_years
        ),
        dead_letters=SqsDeadLetters(client("sqs", "batch"), settings.cdr_dead_letter_queue_url),
        # The pepper is read through Powertools' secret cache (rotation-safe, never in the env).
        pseudonymise=pseudonymiser(partial(get_pepper, settings.privacy_pepper_secret)),
    )


@cache
def cdr_reconcile_dependencies(settings: CdrReconcileSettings) -> ReconcileDependencies:
    # Imported here: the partner client (httpx) is CdrReconcileFunction's, not ingestion's.
    from backbone.cdr.partner import DriveSessions, EmpSessions  # noqa: PLC0415
    from backbone.partners.factory import BATCH_RETRY, plugsurfing_client  # noqa: PLC0415

    dynamodb = client("dynamodb", "batch")
    sessions = DriveSessions if settings.partner_mode == "drive" else EmpSessions
    return ReconcileDependencies(
        poller=SessionsTableReader(dynamodb, settings.sessions_table),
        partner=sessions(plugsurfing_client(settings, BATCH_RETRY)),
        cdrs=DynamoCdrStore(dynamodb, settings.cdr_table),
        queue=SqsCdrQueue(client("sqs", "batch"), settings.cdr_queue_url),
        partner_id=settings.cdr_partner_id,
        lookback=timedelta(hours=settings.cdr_reconcile_lookback_hours),
        settle=timedelta(minutes=settings.cdr_reconcile_settle_minutes),
        history_limit=settings.cdr_reconcile_history_limit,
    )
