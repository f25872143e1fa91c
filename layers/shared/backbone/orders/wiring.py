"""Build the key-order functions' dependencies from settings, once per process (warm invocations
reuse clients and connections). The one place that picks the partner adapters (EMP orders exist
only in EMP mode) and builds clients and tables; tests pass fakes to the logic instead."""

from __future__ import annotations

from datetime import timedelta
from functools import cache, partial

from backbone.aws.clients import client, table
from backbone.keys.wiring import key_store
from backbone.orders.aws import DynamoDriveOrderStore, DynamoOrderStore, SqsQueue
from backbone.orders.partner import DriveOrders, EmpOrders
from backbone.orders.ports import (
    FIRST_CRAWL,
    CrawlDependencies,
    DriveOrderDependencies,
    FulfilDependencies,
    doubling_backoff,
)
from backbone.orders.settings import (
    DriveOrderSettings,
    OrderCrawlSettings,
    OrderFulfilSettings,
    QueueRetrySettings,
)
from backbone.partners.factory import BATCH_RETRY, plugsurfing_client

# Every order function is fed by a queue or a schedule: a failed call comes back later.
RETRY_POLICY = BATCH_RETRY


def _queue(queue_url: str) -> SqsQueue:
    return SqsQueue(client("sqs"), queue_url)


def _backoff(settings: QueueRetrySettings) -> partial[int]:
    return partial(
        doubling_backoff,
        base_seconds=settings.queue_retry_base_seconds,
        max_seconds=settings.queue_retry_max_seconds,
    )


@cache
def order_crawl_dependencies(settings: OrderCrawlSettings) -> CrawlDependencies:
    store = DynamoOrderStore(table(settings.orders_table))
    emp = settings.partner_mode == "emp"  # the orders API belongs to EMP: no crawl in Drive mode
    return CrawlDependencies(
        orders=store,
        control=store,
        queue=_queue(settings.order_queue_url),
        feed=EmpOrders(plugsurfing_client(settings, RETRY_POLICY)) if emp else None,
        page_size=settings.order_crawl_page_size,
        overlap=settings.overlap,
        margin_ms=settings.order_crawl_margin_ms,
        lease=timedelta(seconds=settings.order_crawl_lease_seconds),
        stall_after=timedelta(seconds=settings.order_stall_seconds),
        start_from=settings.order_crawl_start or FIRST_CRAWL,
    )


@cache
def order_fulfil_dependencies(settings: OrderFulfilSettings) -> FulfilDependencies:
    return FulfilDependencies(
        orders=DynamoOrderStore(table(settings.orders_table)),
        keys=key_store(settings.charging_keys_table),
        feed=EmpOrders(plugsurfing_client(settings, RETRY_POLICY)),
        redelivery=_queue(settings.order_queue_url),
        lease=timedelta(seconds=settings.order_lease_seconds),
        hold_max=timedelta(seconds=settings.order_hold_max_seconds),
        backoff=_backoff(settings),
    )


@cache
def drive_order_dependencies(settings: DriveOrderSettings) -> DriveOrderDependencies:
    return DriveOrderDependencies(
        records=DynamoDriveOrderStore(table(settings.drive_orders_table)),
        partner=DriveOrders(plugsurfing_client(settings, RETRY_POLICY)),
        redelivery=_queue(settings.drive_order_queue_url),
        lease=timedelta(seconds=settings.drive_order_lease_seconds),
        throttle=timedelta(seconds=settings.drive_order_throttle_seconds),
        settle_after=timedelta(seconds=settings.drive_order_settle_seconds),
        track_max=timedelta(seconds=settings.drive_order_track_max_seconds),
        backoff=_backoff(settings),
    )
