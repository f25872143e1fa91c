"""BillingEventsFunction: DynamoDB stream of CdrTable -> BillingEventBus (EventBridge).

Each stream record that is billing news becomes CdrFinalized, CdrCorrected or CdrFlagged
(docs/billing-feed.md, "Events"); records whose events the bus did not take are reported back
(ReportBatchItemFailures) and delivered again; after the stream's retries the batch's position
goes to BillingEventsDeadLetterQueue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from backbone.billing.publish import StreamChange, publish_changes
from backbone.billing.settings import BillingEventsSettings
from backbone.billing.wiring import billing_events_dependencies
from backbone.observability import logger, metrics, tracer
from backbone.settings import load_settings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
@event_source(data_class=DynamoDBStreamEvent)
def handler(event: DynamoDBStreamEvent, context: LambdaContext) -> dict[str, Any]:
    changes = [
        StreamChange(
            sequence_number=str(record.dynamodb.sequence_number if record.dynamodb else ""),
            old=(record.dynamodb.old_image if record.dynamodb else None) or None,
            new=(record.dynamodb.new_image if record.dynamodb else None) or None,
        )
        for record in event.records
    ]
    deps = billing_events_dependencies(load_settings(BillingEventsSettings))
    return publish_changes(changes, deps).batch_response()
