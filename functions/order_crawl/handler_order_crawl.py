"""OrderCrawlFunction: scheduled crawl of Plugsurfing's EMP key orders (GET /emp/v1/orders).

New orders go to OrdersTable and OrderQueue; the crawl checkpoints its cursor after each page and
stops cleanly before the invocation's time runs out, to resume on the next run.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from backbone.observability import logger, metrics, tracer
from backbone.orders.crawl import run_crawl
from backbone.orders.settings import OrderCrawlSettings
from backbone.orders.wiring import order_crawl_dependencies
from backbone.settings import load_settings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings(OrderCrawlSettings)
    return run_crawl(
        order_crawl_dependencies(settings), context.get_remaining_time_in_millis, context.aws_request_id
    )
