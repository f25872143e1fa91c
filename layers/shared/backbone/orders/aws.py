"""The key-order ports on DynamoDB and SQS (`orders.ports`), through `backbone.aws`.

OrdersTable (key `pk`): EMP orders (`ORDER#<id>`), the crawler's control item (`CONTROL#crawl`)
and organisation -> fleet mappings (`ORG#<id>`); sparse GSI `ByState` (state, createdAt) over the
orders. DriveOrdersTable (key `requestId`): Drive order requests; GSIs `ByState` and `ByUser`.

Every record is written whole, conditional on its `version` and on the writer holding its lease,
so a processor whose lease expired can never overwrite a newer state.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from botocore.exceptions import ClientError

from backbone.aws.attributes import plain
from backbone.aws.errors import is_condition_failed
from backbone.aws.pages import items
from backbone.orders.errors import LeaseLost, OrderNotFound, RecordBusy
from backbone.orders.models import (
    CRAWL_CONTROL_KEY,
    DEFAULT_ORG,
    ORDER_PREFIX,
    ORG_PREFIX,
    CrawlCheckpoint,
    DriveOrderRecord,
    DriveRequestState,
    KeyOrder,
    KeyOrderState,
    Leased,
)
from backbone.timeutil import to_storage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_sqs import SQSClient

BY_STATE = "ByState"
BY_USER = "ByUser"
SQS_MAX_VISIBILITY_SECONDS = 43_200

L = TypeVar("L", bound=Leased)


# --- a record with a lease, on one table ---------------------------------------------------------


class _LeasedItems(Generic[L]):
    """Lease, save and release for one record type; `key` builds the item's primary key."""

    def __init__(self, table: Table, model: type[L], key_name: str, key_prefix: str = "") -> None:
        self.table = table
        self.model = model
        self.key_name = key_name
        self.key_prefix = key_prefix

    def key(self, identifier: str) -> dict[str, str]:
        return {self.key_name: self.key_prefix + identifier}

    def get(self, identifier: str) -> L | None:
        item = self.table.get_item(Key=self.key(identifier), ConsistentRead=True).get("Item")
        return None if item is None else self.model.from_item(plain(item))

    def put_new(self, record: L, identifier: str) -> bool:
        try:
            self.table.put_item(Item=record.to_item(), ConditionExpression=Attr(self.key_name).not_exists())
        except ClientError as error:
            if is_condition_failed(error):
                return False
            raise
        return True

    def acquire(
        self, identifier: str, owner: str, now: datetime, lease: timedelta, *, create: bool = False
    ) -> L:
        """Take the lease (free, expired, or already ours) and return the record under it.
        `RecordBusy` if someone else holds it; `OrderNotFound` if there is no record (unless
        `create`, which makes an empty one: the crawler's control item)."""
        condition = "(attribute_not_exists(#owner) OR #until <= :now OR #owner = :owner)"
        if not create:
            condition = f"attribute_exists(#key) AND {condition}"
        try:
            answer = self.table.update_item(
                Key=self.key(identifier),
                UpdateExpression="SET #owner = :owner, #until = :until, #v = if_not_exists(#v, :zero) + :one",
                ConditionExpression=condition,
                ExpressionAttributeNames={
                    "#owner": "leaseOwner",
                    "#until": "leaseUntil",
                    "#v": "version",
                    **({} if create else {"#key": self.key_name}),
                },
                ExpressionAttributeValues={
                    ":owner": owner,
                    ":until": to_storage(now + lease),
                    ":now": to_storage(now),
                    ":zero": 0,
                    ":one": 1,
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if not is_condition_failed(error):
                raise
            current = self.get(identifier)
            if current is None:
                raise OrderNotFound(f"no record {identifier!r}") from None
            raise RecordBusy(
                f"{identifier} is being processed by {current.lease_owner} until {current.lease_until}"
            ) from None
        return self.model.from_item(plain(answer["Attributes"]))

    def save(self, record: L) -> L:
        """Write the whole record if it is unchanged since read and we still hold its lease."""
        saved = record.model_copy(update={"version": record.version + 1})
        condition: ConditionBase = Attr("version").eq(record.version)
        if record.lease_owner is not None:
            condition = condition & Attr("leaseOwner").eq(record.lease_owner)
        try:
            self.table.put_item(Item=saved.to_item(), ConditionExpression=condition)
        except ClientError as error:
            if is_condition_failed(error):
                raise LeaseLost(f"{type(record).__name__} changed meanwhile or our lease ran out") from None
            raise
        return saved

    def release(self, record: L) -> None:
        if record.lease_owner is None:
            return
        try:
            self.table.update_item(
                Key=self.key(self._identifier(record)),
                UpdateExpression="REMOVE #owner, #until SET #v = #v + :one",
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "leaseOwner", "#until": "leaseUntil", "#v": "version"},
                ExpressionAttributeValues={":owner": record.lease_owner, ":one": 1},
            )
        except ClientError as error:
            if not is_condition_failed(error):  # already taken over: nothing of ours to release
                raise

    def by_state(self, state: str, *, since: datetime | None = None) -> Iterator[L]:
        condition: ConditionBase = Key("state").eq(state)
        if since is not None:
            condition = condition & Key("createdAt").gte(to_storage(since))
        for item in _pages(self.table, IndexName=BY_STATE, KeyConditionExpression=condition):
            yield self.model.from_item(item)

    def _identifier(self, record: L) -> str:
        return str(record.to_item()[self.key_name]).removeprefix(self.key_prefix)


# --- OrdersTable ---------------------------------------------------------------------------------


class DynamoOrderStore:
    """`OrderRepository` and `CrawlStateRepository` on OrdersTable, plus the operator's views."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._orders = _LeasedItems(table, KeyOrder, "pk", ORDER_PREFIX)
        self._control = _LeasedItems(table, CrawlCheckpoint, "pk")

    # orders
    def get(self, order_id: str) -> KeyOrder | None:
        return self._orders.get(order_id)

    def put_new(self, order: KeyOrder) -> bool:
        return self._orders.put_new(order, order.order_id)

    def acquire(self, order_id: str, owner: str, now: datetime, lease: timedelta) -> KeyOrder:
        return self._orders.acquire(order_id, owner, now, lease)

    def save(self, order: KeyOrder) -> KeyOrder:
        return self._orders.save(order)

    def release(self, order: KeyOrder) -> None:
        self._orders.release(order)

    def by_state(self, state: KeyOrderState, *, since: datetime | None = None) -> Iterator[KeyOrder]:
        """Orders in `state`, oldest first (ByState index: eventually consistent)."""
        return self._orders.by_state(str(state), since=since)

    # the crawler's control item
    def acquire_crawl(self, owner: str, now: datetime, lease: timedelta) -> CrawlCheckpoint:
        return self._control.acquire(CRAWL_CONTROL_KEY, owner, now, lease, create=True)

    def save_crawl(self, checkpoint: CrawlCheckpoint) -> CrawlCheckpoint:
        return self._control.save(checkpoint)

    def release_crawl(self, checkpoint: CrawlCheckpoint) -> None:
        self._control.release(checkpoint)

    # organisation -> fleet
    def fleet_for(self, organization_id: str | None) -> str | None:
        """The organisation's fleet id, else the default mapping (`*`), else None."""
        for org in (organization_id, DEFAULT_ORG):
            if org:
                item = self.table.get_item(Key={"pk": ORG_PREFIX + org}, ConsistentRead=True).get("Item")
                if item is not None:
                    return str(item["fleetId"])
        return None


# --- DriveOrdersTable ----------------------------------------------------------------------------


class DynamoDriveOrderStore:
    """`DriveOrderRepository` on DriveOrdersTable."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._records = _LeasedItems(table, DriveOrderRecord, "requestId")

    def get(self, request_id: str) -> DriveOrderRecord | None:
        return self._records.get(request_id)

    def put_new(self, record: DriveOrderRecord) -> bool:
        return self._records.put_new(record, record.request_id)

    def acquire(self, request_id: str, owner: str, now: datetime, lease: timedelta) -> DriveOrderRecord:
        return self._records.acquire(request_id, owner, now, lease)

    def save(self, record: DriveOrderRecord) -> DriveOrderRecord:
        return self._records.save(record)

    def release(self, record: DriveOrderRecord) -> None:
        self._records.release(record)

    def by_state(self, state: DriveRequestState) -> Iterator[DriveOrderRecord]:
        return self._records.by_state(str(state))

    def by_user(self, user_id: str) -> list[DriveOrderRecord]:
        items = _pages(self.table, IndexName=BY_USER, KeyConditionExpression=Key("userId").eq(user_id))
        return [DriveOrderRecord.from_item(item) for item in items]


# --- SQS -----------------------------------------------------------------------------------------


class SqsQueue:
    """Send to a queue, and delay a received message's next delivery (its visibility timeout)."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def send(self, order_id: str) -> None:
        """`OrderQueue`: one OrderQueue message per order to fulfil."""
        self.client.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps({"orderId": order_id}))

    def redeliver_in(self, receipt_handle: str, seconds: float) -> int:
        """Hide the message for `seconds` (capped at SQS's 12 h) so it comes back then."""
        delay = max(0, min(SQS_MAX_VISIBILITY_SECONDS, round(seconds)))
        self.client.change_message_visibility(
            QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay
        )
        return delay


# --- helpers -------------------------------------------------------------------------------------


def _pages(table: Table, **arguments: Any) -> Iterator[dict[str, Any]]:
    """Every item of a query, following LastEvaluatedKey, with plain numbers."""
    for item in items(table.query, **arguments):
        yield plain(item)
