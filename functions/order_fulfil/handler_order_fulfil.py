"""OrderFulfilFunction: OrderQueue -> each EMP key order fulfilled exactly once (keys claimed from
stock, created at Plugsurfing, order assigned). Records that must wait are hidden for a while and
reported failed (ReportBatchItemFailures), so they come back; their neighbours are unaffected.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from backbone.observability import logger, metrics, record_scope, tracer
from backbone.orders.fulfil import fulfil_from_queue
from backbone.orders.settings import OrderFulfilSettings
from backbone.orders.wiring import order_fulfil_dependencies
from backbone.settings import load_settings

# A batch where every record waits (keys syncing, throttled) is normal, not a function error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    settings = load_settings(OrderFulfilSettings)
    with record_scope():  # the ids the order code binds belong to this record only
        fulfil_from_queue(
            record.body,
            record.receipt_handle,
            int(record.attributes.approximate_receive_count or 1),
            order_fulfil_dependencies(settings),
            label=record.message_id,
        )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
