"""DynamoDB values: plain Python <-> attribute values (low-level client), and back to plain
numbers (what the resource API and the deserializer hand out as `Decimal`)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_attributes(item: Mapping[str, Any]) -> dict[str, AttributeValueTypeDef]:
    # Strings, most of every item, without the serializer's type search; the rest as boto3 does.
    return {
        name: {"S": value} if type(value) is str else _serializer.serialize(value)
        for name, value in item.items()
    }


def from_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in attributes.items()}


def plain(value: Any) -> Any:
    """`value` with every `Decimal` (in dicts and lists too) an `int` when whole, else a `float`."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value
