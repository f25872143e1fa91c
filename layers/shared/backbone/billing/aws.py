"""The billing export's ports on AWS: CdrTable's sparse ByBillingDay index (the records of a
day, as projected: never `raw` or `driverId`) and the export bucket."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

from backbone.aws.attributes import from_attributes
from backbone.aws.pages import items
from backbone.billing.models import BillingRecord, ExportFile
from backbone.cdr.models import BILLING_DAY, StoredCdr

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BILLING_DAY_INDEX = "ByBillingDay"


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
