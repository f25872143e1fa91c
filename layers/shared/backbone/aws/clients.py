"""boto3 clients and DynamoDB tables, one per process and latency class.

- `api`: a caller is waiting (the OIOI authorizer and receiver behind API Gateway's 29 s, the
  internal session API): fail fast, three attempts, so an answer (or a retryable 5xx) comes well
  inside the caller's timeout.
- `batch`: queues, streams, schedules and Step Functions tasks: more patience, five attempts,
  since a failure only means the record is delivered again later.
- `best_effort`: bookkeeping beside a waiting caller (partner activity): one attempt, one second,
  so it can never hold up an answer; what fails is logged and tried again later.

boto3's standard retry mode backs off with jitter on throttling and 5xx in both. Every client
honours AWS_ENDPOINT_URL (the local stack) like any boto3 client.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

Latency = Literal["api", "batch", "best_effort"]

CONFIGS: dict[Latency, Config] = {
    "api": Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 3}),
    "batch": Config(
        connect_timeout=5, read_timeout=10, retries={"mode": "standard", "total_max_attempts": 5}
    ),
    "best_effort": Config(
        connect_timeout=1, read_timeout=1, retries={"mode": "standard", "total_max_attempts": 1}
    ),
}


@cache
def client(service: str, latency: Latency = "batch") -> Any:
    """The low-level client of `service` (`"dynamodb"`, `"sqs"`, ...) for `latency`."""
    return boto3.client(service, config=CONFIGS[latency])  # type: ignore[call-overload]


@cache
def _dynamodb(latency: Latency) -> Any:
    return boto3.resource("dynamodb", config=CONFIGS[latency])


def table(name: str, latency: Latency = "batch") -> Table:
    """A DynamoDB `Table` (plain Python values in and out, condition builders) for `latency`."""
    return _dynamodb(latency).Table(name)  # type: ignore[no-any-return]


def reset() -> None:
    """Forget every client (tests that switch AWS endpoints or credentials between cases)."""
    client.cache_clear()
    _dynamodb.cache_clear()
