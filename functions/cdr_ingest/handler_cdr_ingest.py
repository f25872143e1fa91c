"""CdrIngestFunction: CdrQueue -> CdrTable, every CDR exactly once (docs/cdr-ingestion.md).

The batch is decided together and written in a few calls; a record that fails (storage
unavailable after boto3's retries) is reported back alone (ReportBatchItemFailures) and SQS
delivers only it again. Invalid CDRs are not failures: ingestion parks them in
CdrDeadLetterQueue with the reason.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from backbone.cdr.ingest import ingest_records
from backbone.cdr.models import CdrQueueRecord
from backbone.cdr.settings import CdrIngestSettings
from backbone.cdr.wiring import cdr_ingest_dependencies
from backbone.observability import logger, metrics, tracer
from backbone.settings import load_settings

processor = BatchProcessor(event_type=EventType.SQS, model=CdrQueueRecord)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    answers = ingest_records(event["Records"], cdr_ingest_dependencies(load_settings(CdrIngestSettings)))
    return process_partial_response(
        event=event, record_handler=answers.answer, processor=processor, context=context
    )
