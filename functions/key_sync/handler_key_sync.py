"""KeySyncFunction: DynamoDB stream of ChargingKeysTable -> Plugsurfing (EMP or Drive API).

Each record is one key change; failed records are reported back (ReportBatchItemFailures) so
only they are retried, and after the stream's retries they go to KeySyncDeadLetterQueue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from backbone.keys.settings import KeySyncSettings
from backbone.keys.sync import sync_stream_record
from backbone.keys.wiring import key_sync_dependencies
from backbone.observability import bind_correlation, logger, metrics, tracer
from backbone.settings import load_settings

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@tracer.capture_method
def record_handler(record: DynamoDBRecord) -> None:
    stream = record.dynamodb
    old_image = (stream.old_image if stream else None) or None
    new_image = (stream.new_image if stream else None) or None
    bind_correlation(stream_event_id=record.event_id)  # not the key's UID: it names a driver
    settings = load_settings(KeySyncSettings)
    sync_stream_record(old_image, new_image, key_sync_dependencies(settings))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
