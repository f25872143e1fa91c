"""DriveOrderFunction: Drive key orders for users.

- SQS (DriveOrderQueue): one "order a key for user" request per message, ordered exactly once;
  a 429 (one order per user per 5 minutes) hides the message until Retry-After and reports it
  failed, so it is delivered again later, never dropped.
- Schedule (TrackOrders): polls the state of open orders.
- Direct invoke `{"action": "receipt", "userId": ..., "orderId": ...}` (bbctl orders receipt),
  `{"action": "pricing"}` (bbctl orders pricing: the key price per country) or `{"action": "track"}`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from backbone.observability import logger, metrics, record_scope, tracer
from backbone.orders.drive import place_from_queue, pricing, receipt, track_drive_orders
from backbone.orders.settings import DriveOrderSettings
from backbone.orders.wiring import drive_order_dependencies
from backbone.settings import load_settings

# A batch where every record waits (keys syncing, throttled) is normal, not a function error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    settings = load_settings(DriveOrderSettings)
    with record_scope():  # the ids the order code binds belong to this record only
        place_from_queue(
            record.body,
            record.receipt_handle,
            int(record.attributes.approximate_receive_count or 1),
            drive_order_dependencies(settings),
            label=record.message_id,
        )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = drive_order_dependencies(load_settings(DriveOrderSettings))
    if "Records" in event:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    if event.get("action") == "receipt":
        return receipt(deps, str(event.get("userId") or ""), str(event.get("orderId") or ""))
    if event.get("action") == "pricing":
        return pricing(deps)
    if event.get("action") == "track" or event.get("detail-type") == "Scheduled Event":
        return track_drive_orders(deps).summary()
    raise ValueError(
        "unsupported event: expected SQS records, a schedule, or an action (receipt, pricing, track)"
    )
