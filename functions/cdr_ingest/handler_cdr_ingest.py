"""CdrIngestFunction: CdrQueue -> CdrTable, every CDR exactly once (docs/cdr-ingestion.md).

Records are processed one by one; a record that fails (storage unavailable after boto3's
retries) is reported back alone (ReportBatchItemFailures) and SQS delivers only it again.
Invalid CDRs are not failures: ingestion parks them in CdrDeadLetterQueue with the reason.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from backbone.cdr.ingest import ingest_message
from backbone.cdr.models import CdrQueueRecord
from backbone.cdr.settings import CdrIngestSettings
from backbone.cdr.wiring import cdr_ingest_dependencies
from backbone.observability import logger, metrics, tracer
from backbone.settings import load_settings

processor = BatchProcessor(event_type=EventType.SQS, model=CdrQueueRecord)


@tracer.capture_method
def record_handler(record: CdrQueueRecord) -> str:
    deps = cdr_ingest_dependencies(load_settings(CdrIngestSettings))
    return ingest_message(record.body, deps, record.messageId, record.body_text).value


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
