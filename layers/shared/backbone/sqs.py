"""`SqsRecordModel`: one SQS record as Lambda delivers it, for BatchProcessor(model=...).

The same fields and types as Powertools' `aws_lambda_powertools.utilities.parser.models.SqsRecordModel`,
defined here because that import path runs the parser's package `__init__`s, which define every
event model Powertools has (ALB, API Gateway, Kinesis, S3, SES...): about 100 ms of CPU on each
cold start of a function that needs one of them (CPython 3.13, benchmarks/cold_init.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class SqsAttributesModel(BaseModel):
    ApproximateReceiveCount: str
    ApproximateFirstReceiveTimestamp: datetime
    MessageDeduplicationId: str | None = None
    MessageGroupId: str | None = None
    SenderId: str
    SentTimestamp: datetime
    SequenceNumber: str | None = None
    AWSTraceHeader: str | None = None
    DeadLetterQueueSourceArn: str | None = None


class SqsMsgAttributeModel(BaseModel):
    stringValue: str | None = None
    binaryValue: str | None = None
    stringListValues: list[str] = []
    binaryListValues: list[str] = []
    dataType: str


class SqsRecordModel(BaseModel):
    messageId: str
    receiptHandle: str
    body: str | type[BaseModel] | BaseModel
    attributes: SqsAttributesModel
    messageAttributes: dict[str, SqsMsgAttributeModel]
    md5OfBody: str
    md5OfMessageAttributes: str | None = None
    eventSource: Literal["aws:sqs"]
    eventSourceARN: str
    awsRegion: str
