"""Field types and the base model every OIOI message shares.

OIOI is JSON with hyphenated names, RFC 3339 times and money/energy as JSON numbers. These
types keep each value as the partner wrote it (offset, exact digits) and write it back the same
way, so what we store and forward is what was sent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from backbone.oioi.identifiers import validate_evse_id


def _kebab(name: str) -> str:
    return name.replace("_", "-")


_MAX_INT_DIGITS = 38  # DynamoDB numbers hold 38 digits


def json_number(value: Decimal) -> int | float:
    """A Decimal as a JSON number: integral values without a fraction stay integers (`16`),
    others become the float whose shortest repr is the same digits (`14.32`, exact up to 15
    significant digits, far beyond what kWh or cents need)."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= 0 and value.adjusted() < _MAX_INT_DIGITS:
        return int(value)
    return float(value)  # never int(1E+999999): that would build a million digits


def _jsonable(value: Any) -> Any:
    """Decimals inside untyped (extra) JSON become numbers again, not strings."""
    if isinstance(value, Decimal):
        return json_number(value)
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value


class OioiModel(BaseModel):
    """Hyphenated names on the wire, snake_case in Python, unknown fields kept (the spec may add
    optional fields at any time and we must accept them)."""

    model_config = ConfigDict(
        alias_generator=_kebab,
        populate_by_name=True,
        serialize_by_alias=True,
        extra="allow",
    )

    @model_serializer(mode="wrap")
    def _keep_extra_numbers(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        data = handler(self)
        if info.mode_is_json() and self.__pydantic_extra__ and isinstance(data, dict):
            for key, raw in self.__pydantic_extra__.items():
                if key in data:
                    data[key] = _jsonable(raw)
        return data


# --- Date/time ---------------------------------------------------------------------------------


def _text_or_datetime(value: object) -> object:
    # pydantic would read a bare number as a Unix timestamp; OIOI times are always strings.
    if not isinstance(value, str | datetime):
        raise ValueError(f"must be an RFC 3339 date-time string, got {type(value).__name__}")
    return value


def _require_offset(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            "must be an RFC 3339 date-time with a UTC offset (e.g. 2010-01-01T11:00:00+00:00); "
            "a time without offset is ambiguous"
        )
    return value


def _rfc3339(value: datetime) -> str:
    # isoformat keeps "+00:00" where pydantic's default would write "Z".
    return value.isoformat()


OioiDateTime = Annotated[
    datetime,
    BeforeValidator(_text_or_datetime),
    AfterValidator(_require_offset),
    PlainSerializer(_rfc3339, return_type=str, when_used="json"),
]
"""An RFC 3339 time with offset; the offset the partner used is kept."""


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC (for storage keys and comparisons)."""
    return _require_offset(value).astimezone(UTC)


# --- Numbers -----------------------------------------------------------------------------------


def _float_via_text(value: object) -> object:
    # A float that reached us (not through parse_message) is read through its shortest repr, so
    # 14.32 becomes Decimal("14.32"), never 14.3200000000000002842...
    return Decimal(repr(value)) if isinstance(value, float) else value


ExactDecimal = Annotated[
    Decimal,
    BeforeValidator(_float_via_text),
    Field(allow_inf_nan=False),
    PlainSerializer(json_number, return_type=int | float, when_used="json"),
]
"""A JSON number kept as an exact Decimal (energy in kWh, money)."""


# --- Identifiers -------------------------------------------------------------------------------

EvseIdStr = Annotated[str, AfterValidator(validate_evse_id)]
"""A string that must be an EVSE ID (glossary pattern)."""

NonEmptyStr = Annotated[str, Field(min_length=1)]
