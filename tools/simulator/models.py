"""Request bodies (partner and admin) and simulator configuration, validated with pydantic.

Partner bodies ignore unknown fields like a tolerant API; admin bodies forbid them so a typo in a
test's setup fails loudly instead of silently doing nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

LittleEndianHex = Annotated[str, Field(pattern=r"^(?:[0-9a-fA-F]{2})+$", max_length=64)]
LowerLittleEndianHex = Annotated[str, Field(pattern=r"^(?:[0-9a-f]{2})+$", max_length=64)]
NonEmpty = Annotated[str, Field(min_length=1)]
Seconds = Annotated[float, Field(ge=0)]

SESSION_STATUSES = ("STARTING", "STARTED", "FAILED", "COMPLETE")
SessionStatus = Literal["STARTING", "STARTED", "FAILED", "COMPLETE"]


class PartnerBody(BaseModel):
    model_config = ConfigDict(extra="ignore")


class AdminBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- Drive API -----------------------------------------------------------------------------


class DriveUserIn(PartnerBody):
    id: NonEmpty
    email: str | None = None


class ReservationIn(PartnerBody):
    uid: LittleEndianHex
    visualNumber: NonEmpty
    validFrom: datetime | None = None
    validTo: datetime | None = None
    type: Literal["TAG", "CARD"] | None = None


class KeyPatchIn(PartnerBody):
    name: str | None = None
    enabled: StrictBool | None = None


class OrderAddressIn(PartnerBody):
    addressLine1: NonEmpty
    addressLine2: str | None = None
    postalCode: NonEmpty
    city: NonEmpty
    country: NonEmpty
    firstName: str | None = None
    lastName: str | None = None
    companyName: str | None = None


class DriveOrderIn(PartnerBody):
    address: OrderAddressIn
    taxationCountry: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    paymentOptionId: str | None = None


class DriveSessionStartIn(PartnerBody):
    connectorId: NonEmpty


class SessionHistoryIn(PartnerBody):
    sessionStatus: list[SessionStatus] | None = None
    limit: Annotated[int, Field(ge=1)] = 50


# --- EMP API -------------------------------------------------------------------------------


class EmpKeyIn(PartnerBody):
    # The spec says little-endian hex and every example is lower case; anything else is our bug.
    keyIdentifier: LowerLittleEndianHex
    visualNumber: NonEmpty
    fleetId: str | None = None
    enabled: StrictBool = True
    contractId: str | None = None


class EmpSessionStartIn(PartnerBody):
    connectorId: NonEmpty
    keyIdentifier: NonEmpty


# --- Simulator scripting and configuration -------------------------------------------------


class SessionScript(AdminBody):
    """How a session evolves: seconds are measured on the simulator clock."""

    outcome: Literal["ok", "fail", "stuck"] = "ok"
    start_delay: Seconds = 2.0
    auto_complete_after: Seconds | None = None
    stop_to_complete: Seconds = 2.0
    balance_delay: Seconds = 5.0
    balance_status: Literal["PAID", "DEBT", "REFUND"] = "PAID"
    power_w: Annotated[int, Field(ge=0)] = 11_000
    energy_wh: Annotated[int, Field(ge=0)] | None = None
    price_minor_per_kwh: Annotated[int, Field(ge=0)] = 45
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    vat: str = "19"
    station_name: str | None = None
    evse_id: str | None = None


class OrderPricing(AdminBody):
    country: str
    currency: str
    priceMinorInclVat: int
    vat: int


class SimConfig(AdminBody):
    """Global knobs; `POST /_sim/config` updates any subset."""

    order_throttle_seconds: Seconds = 300.0
    # The EMP create example sends `e0e03336` and answers `3633e0e0` (the list shows the same):
    # by default responses carry the byte-reversed identifier. "as_sent" switches that off.
    emp_key_echo: Literal["reversed", "as_sent"] = "reversed"
    session: SessionScript = Field(default_factory=SessionScript)
    orders_configuration: list[OrderPricing] = Field(
        default_factory=lambda: [OrderPricing(country="DE", currency="EUR", priceMinorInclVat=1000, vat=19)]
    )


class ConfigIn(AdminBody):
    order_throttle_seconds: Seconds | None = None
    emp_key_echo: Literal["reversed", "as_sent"] | None = None
    # Partial SessionScript fields, merged onto the current default script.
    session: dict[str, Any] | None = None
    orders_configuration: list[OrderPricing] | None = None


FaultKind = Literal["status", "throttle", "slow", "hang", "disconnect", "oioi_result"]


class FaultIn(AdminBody):
    """The next `count` requests whose path matches the glob `path` (and `method`) misbehave."""

    kind: FaultKind = "status"
    path: str = "*"
    method: str | None = None
    count: Annotated[int, Field(ge=1)] = 1
    status: Annotated[int, Field(ge=400, le=599)] = 503
    retry_after: Annotated[int, Field(ge=0)] | None = 1
    delay: Seconds = 30.0
    code: int = 100


class UserSeedIn(AdminBody):
    id: NonEmpty
    email: str | None = None


class EmpKeySeedIn(AdminBody):
    keyIdentifier: LowerLittleEndianHex
    visualNumber: NonEmpty
    fleetId: str | None = None
    enabled: bool = True
    contractId: str | None = None
    validTo: datetime | None = None


class EmpOrderSeedIn(AdminBody):
    """An EMP order; it becomes visible at `visible_at`, after `visible_after` s, or now."""

    id: str | None = None
    address: dict[str, str] | None = None
    quantity: Annotated[int, Field(ge=1)] = 1
    productId: str = "sim-product"
    organizationId: str = "sim-organization"
    status: str = "ORDER_PAID"
    created: datetime | None = None
    visible_at: datetime | None = None
    visible_after: Seconds | None = None


class DriveOrderSeedIn(AdminBody):
    """A Drive order in any state, including ones outside the documented enum."""

    id: str | None = None
    state: str = "ORDER_PLACED"
    hasReceipt: bool = False
    quantity: Annotated[int, Field(ge=1)] = 1
    address: dict[str, str] | None = None
    created: datetime | None = None


class ClockAdvanceIn(AdminBody):
    seconds: float
