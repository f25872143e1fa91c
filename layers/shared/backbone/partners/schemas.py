"""Payloads of the Plugsurfing Drive and EMP REST APIs (keys, orders, sessions).

Fields are snake_case with the partner's camelCase as aliases; unknown fields are kept
(`extra="allow"`) and unknown enum values become `UNKNOWN`, so a partner adding a field or a
state never breaks a crawl.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator
from pydantic.alias_generators import to_camel

E = TypeVar("E", bound=StrEnum)


class PartnerModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="allow",
        frozen=True,
    )


def _or_unknown(enum: type[E]) -> BeforeValidator:
    """Accept any value: known ones (case-insensitive) as members, the rest as `UNKNOWN`."""
    known = {member.value for member in enum}

    def parse(value: object) -> object:
        text = value.upper() if isinstance(value, str) else value
        return text if text in known else "UNKNOWN"

    return BeforeValidator(parse)


# --- Sessions (Drive and EMP share the shape) -----------------------------------------------------


class SessionStatus(StrEnum):
    STARTING = "STARTING"
    STARTED = "STARTED"
    FAILED = "FAILED"
    COMPLETE = "COMPLETE"
    UNKNOWN = "UNKNOWN"


class BalanceStatus(StrEnum):
    """Payment state of a COMPLETE session (to be ignored for External Clearing)."""

    PROCESSING = "PROCESSING"
    PAID = "PAID"
    DEBT = "DEBT"
    REFUND = "REFUND"
    UNKNOWN = "UNKNOWN"


class Charger(PartnerModel):
    charging_station_name: str | None = None
    connector_label: str | None = None
    evse_id: str | None = None


class Energy(PartnerModel):
    unit: str
    value: int


class Price(PartnerModel):
    currency_code: str
    minor_excl_vat: int
    minor_incl_vat: int
    vat: Decimal  # a percentage sent as a string ("17.5")


class Session(PartnerModel):
    """A charging session or attempt; energy, price, duration and receipt come once COMPLETE."""

    session_id: str
    session_status: Annotated[SessionStatus, _or_unknown(SessionStatus)]
    balance_status: Annotated[BalanceStatus, _or_unknown(BalanceStatus)] | None = None
    charger: Charger | None = None
    charging_key_type: str | None = None
    connector_id: str | None = None
    duration: str | None = None  # ISO-8601 duration, e.g. "PT15M"
    energy: Energy | None = None
    price: Price | None = None
    payment_method: str | None = None
    receipt_available: bool | None = None
    site: str | None = None
    start_time: datetime | None = None


class SessionStarted(PartnerModel):
    """Always returned by a remote start, even when the start fails: keep the id to follow it."""

    session_id: str


# --- Charging keys --------------------------------------------------------------------------------


class EmpChargingKey(PartnerModel):
    """EMP charging key; `key_identifier` is hexadecimal little-endian."""

    key_identifier: str
    valid_to: datetime
    contract_id: str
    visual_number: str
    fleet_id: str | None = None
    enabled: bool = True


class UserChargingKey(PartnerModel):
    """Drive charging key of a user; `type` is tag, card or virtual."""

    key_id: str
    enabled: bool
    type: str
    valid_from: datetime
    valid_to: datetime
    created: datetime
    updated: datetime
    name: str | None = None
    reference_id: str | None = None  # printed on the key; virtual keys have none
    contract_id: str | None = None

    @property
    def is_virtual(self) -> bool:
        """Virtual keys come with every user and should not be shown to them."""
        return self.type.lower() == "virtual"


# --- Charging key orders --------------------------------------------------------------------------


class OrderState(StrEnum):
    """Drive key order states; the spec asks to map unknown values to UNKNOWN."""

    ORDER_FILLED = "ORDER_FILLED"
    ORDER_CANCELLED = "ORDER_CANCELLED"
    ORDER_PROCESSING = "ORDER_PROCESSING"
    ORDER_PAYMENT_FAILED = "ORDER_PAYMENT_FAILED"
    ORDER_REFUND_FAILED = "ORDER_REFUND_FAILED"
    ORDER_REFUNDED = "ORDER_REFUNDED"
    ORDER_PLACED = "ORDER_PLACED"
    ORDER_PAID = "ORDER_PAID"
    UNKNOWN = "UNKNOWN"


class OrderAddress(PartnerModel):
    """Shipping address; EMP orders use `address`, Drive orders `address_line1`."""

    company_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    address: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    additional_information: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None


class ProductRef(PartnerModel):
    id: str


class EmpOrder(PartnerModel):
    """A charging key order of the EMP organisation (status e.g. ORDER_ASSIGNED)."""

    id: str
    status: str | None = None
    address: OrderAddress | None = None
    quantity: int | None = None
    product: ProductRef | None = None
    organization_id: str | None = None
    created: datetime | None = None
    updated: datetime | None = None


def _with_raw_state(data: Any) -> Any:
    """Keep the partner's own `state` text beside the mapped one (`UNKNOWN` says too little)."""
    if isinstance(data, dict) and isinstance(data.get("state"), str) and "rawState" not in data:
        return {**data, "rawState": data["state"]}
    return data


class DriveKeyOrder(PartnerModel):
    """A charging key ordered for a Drive user; `raw_state` is `state` as Plugsurfing sent it."""

    id: str
    state: Annotated[OrderState, _or_unknown(OrderState)]
    raw_state: str | None = None
    address: OrderAddress | None = None
    quantity: int | None = None
    has_receipt: bool = False
    created: datetime | None = None
    updated: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _keep_raw_state(cls, data: Any) -> Any:
        return _with_raw_state(data)


class OrderPlaced(PartnerModel):
    id: str
    state: Annotated[OrderState, _or_unknown(OrderState)]
    raw_state: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _keep_raw_state(cls, data: Any) -> Any:
        return _with_raw_state(data)


class Receipt(PartnerModel):
    url: str


class OrderPrice(PartnerModel):
    """One country of the charging-key order configuration (seed 003)."""

    country: str  # two letters
    currency: str  # three letters
    price_minor_incl_vat: int
    """In the currency's minor unit, VAT included. The seed's example writes 10 and says "10 euros
    and 0 cents"; `priceMinor...` elsewhere in the API is minor units, so we read minor units."""
    vat: int | float  # percent (an integer in the seed)


class OrdersConfiguration(PartnerModel):
    """`GET /v1/charging-keys/orders/configuration`: the key price per country."""

    countries: list[OrderPrice]


# --- Geosearch (seed 000 "Geosearch radius"; seed 001 lists it for EMP users too) ---------------
# Inside a location the partner writes snake_case (`evse_id`, `power_type`, `postal_code`), so
# these models take the names as sent; coordinates come as strings ("52.331142").


class GeoModel(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Coordinates(GeoModel):
    latitude: float  # a numeric string on the wire; pydantic reads "52.33" as 52.33
    longitude: float


class GeoConnector(GeoModel):
    id: str
    standard: str | None = None
    power: float | None = None
    power_type: str | None = None


class GeoEvse(GeoModel):
    uid: str | None = None
    evse_id: str | None = None
    status: str | None = None
    connectors: list[GeoConnector] = []


class GeoOperator(GeoModel):
    id: str | None = None
    name: str | None = None


class Location(GeoModel):
    id: str
    name: str | None = None
    coordinates: Coordinates | None = None
    evses: list[GeoEvse] = []
    operator: GeoOperator | None = None
    country: str | None = None
    city: str | None = None
    postal_code: str | None = None
    address: str | None = None


class GeoAggregate(GeoModel):
    coordinates: Coordinates
    count: int


class GeosearchResult(GeoModel):
    locations: list[Location] = []
    aggregates: list[GeoAggregate] = []


class GeosearchFilters(PartnerModel):
    """Optional filters of a radius search (camelCase on the wire)."""

    connector_standards: list[str] | None = None
    location_statuses: list[str] | None = None
    power_type: str | None = None
