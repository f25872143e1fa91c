"""The billing ports on AWS: the bus the events go to (EventBridge), and for the export CdrTable's
sparse ByBillingDay index (the records of a day, as projected: never `raw` or `driverId`) and the
export bucket."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from backbone.aws.attributes import from_attributes
from backbone.aws.errors import AWS_ERRORS
from backbone.aws.pages import items
from backbone.billing.errors import PublishFailed
from backbone.billing.events import MAX_ENTRIES_PER_CALL, BillingEvent
from backbone.billing.models import EVENT_SOURCE, BillingRecord, ExportFile
from backbone.cdr.models import BILLING_DAY, StoredCdr

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient

BILLING_DAY_INDEX = "ByBillingDay"


class EventBridgeBillingBus:
    """`BillingBus` on one EventBridge bus: source `EVENT_SOURCE`, detail-type the event type."""

    def __init__(self, client: EventBridgeClient, bus_name: str) -> None:
        self.client = client
        self.bus_name = bus_name

    def entry(self, event: BillingEvent) -> dict[str, Any]:
        return {
            "Source": EVENT_SOURCE,
            "DetailType": event.type.value,
            "Detail": event.detail_json(),
            "EventBusName": self.bus_name,
        }

    def put(self, events: Sequence[BillingEvent]) -> list[str | None]:
        if len(events) > MAX_ENTRIES_PER_CALL:
            raise ValueError(f"{len(events)} entries: PutEvents takes at most {MAX_ENTRIES_PER_CALL}")
        try:
            answer = self.client.put_events(Entries=[self.entry(event) for event in events])  # type: ignore[misc]
        except AWS_ERRORS as error:
            raise PublishFailed(f"PutEvents failed: {error}") from error
        results: list[str | None] = []
        for entry in answer["Entries"]:
            code = entry.get("ErrorCode")
            results.append(f"{code}: {entry.get('ErrorMessage', '')}" if code else None)
        if len(results) != len(events):
            raise PublishFailed(f"PutEvents answered {len(results)} entries for {len(events)}")
        return results


class DynamoBillingDays:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client, self.table = client, table

    def records(self, day: date) -> Iterator[BillingRecord]:
        found = items(
            self.client.query,
            TableName=self.table,
            IndexName=BILLING_DAY_INDEX,
            KeyConditionExpression="#day = :day",
            ExpressionAttributeNames={"#day": BILLING_DAY},
            ExpressionAttributeValues={":day": {"S": day.isoformat()}},
        )
        for item in found:
            yield BillingRecord.from_stored(StoredCdr.from_item(from_attributes(item)))


class S3ExportSink:
    def __init__(self, client: Any, bucket: str) -> None:  # an S3 client (no S3 stubs pinned)
        self.client, self.bucket = client, bucket

    def put(self, file: ExportFile) -> None:
        # S3 checks the body against the checksum before it stores the object.
        checksum = base64.b64encode(bytes.fromhex(file.sha256)).decode()
        self.client.put_object(
            Bucket=self.bucket,
            Key=file.key,
            Body=file.body,
            ContentType=file.content_type,
            ChecksumSHA256=checksum,
        )
