"""boto3 plumbing shared by the receiver's stores: one client configuration and the conversion
between plain item values and DynamoDB attribute values.

Low-level clients: cheaper to create and to call than boto3 resources, which matters on the
authorizer's and rfid-verify's cold and warm paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

# Partners wait on these calls: fail fast enough to answer (and be retried) well within API
# Gateway's 29 s, with the SDK's standard retries for throttling and transient errors.
CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
AWS_ERRORS = (BotoCoreError, ClientError)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_attributes(item: Mapping[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {name: _serializer.serialize(value) for name, value in item.items()}


def from_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in attributes.items()}


def dynamodb_client() -> DynamoDBClient:
    """Honours AWS_ENDPOINT_URL (the local stack) like every boto3 client."""
    return boto3.client("dynamodb", config=CLIENT_CONFIG)
