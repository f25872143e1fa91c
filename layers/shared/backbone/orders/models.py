"""Records of the key-order capability, as stored in OrdersTable and DriveOrdersTable.

Both tables are written whole (`to_item`) and guarded by `version`; side effects on Plugsurfing or
on the key stock happen only under the record's lease (`lease_owner` until `lease_until`), so two
processors of the same order never both act. Item layouts: docs/key-orders.md.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel

from backbone.orders.statuses import Handling, handling_of, is_known, normalised
from backbone.partners.schemas import EmpOrder, OrderState
from backbone.timeutil import to_storage, to_utc

StoredTime = Annotated[datetime, AfterValidator(to_utc), PlainSerializer(to_storage, when_used="json")]
"""An aware datetime, stored in the fixed-width UTC text of `backbone.timeutil`."""

ORDER_PREFIX = "ORDER#"
ORG_PREFIX = "ORG#"
CRAWL_CONTROL_KEY = "CONTROL#crawl"
DEFAULT_ORG = "*"
"""Mapping used for organisations without their own (`bbctl orders map-org '*' FLEET_ID`)."""


class Record(BaseModel):
    """camelCase attributes in DynamoDB, snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = self.model_dump(by_alias=True, exclude_none=True, mode="json")
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Self:
        return cls.model_validate(item)


class Leased(Record):
    """A record that processors take turns on (optimistic `version` plus a time-bound lease)."""

    version: int = 0
    lease_owner: str | None = None
    lease_until: StoredTime | None = None


# --- EMP key orders ------------------------------------------------------------------------------


class KeyOrderState(StrEnum):
    """Our fulfilment of an EMP order (persisted state machine, docs/key-orders.md)."""

    RECEIVED = "RECEIVED"
    UNMAPPED = "UNMAPPED"
    """No fleet id for the order's organisation yet (`bbctl orders map-org`)."""
    BACKORDERED = "BACKORDERED"
    """Not enough keys IN_STOCK; what could be claimed stays claimed."""
    KEYS_CLAIMED = "KEYS_CLAIMED"
    KEYS_CREATED = "KEYS_CREATED"
    ASSIGNING = "ASSIGNING"
    """The assign call was requested: a resumed attempt asks Plugsurfing before calling again."""
    ASSIGNED = "ASSIGNED"
    ON_HOLD = "ON_HOLD"
    """Its status at Plugsurfing does not allow fulfilment yet (not paid, or a status we do not
    know): looked at again by every crawl, for at most the hold bound (backbone.orders.statuses)."""
    SKIPPED = "SKIPPED"
    """Plugsurfing's status says not to fulfil it (cancelled, refunded, assigned by someone
    else...): final; keys it had claimed were released."""
    FAILED = "FAILED"


FINISHED = frozenset({KeyOrderState.ASSIGNED, KeyOrderState.SKIPPED, KeyOrderState.FAILED})
WAITING = frozenset({KeyOrderState.UNMAPPED, KeyOrderState.BACKORDERED, KeyOrderState.ON_HOLD})
"""Orders that wait for the operator (mapping), for stock or for their status at Plugsurfing:
re-enqueued by every crawl."""
IN_PROGRESS = frozenset(KeyOrderState) - FINISHED - WAITING
PARTNER_ASSIGNED = "ORDER_ASSIGNED"


def hold_reason(status: str | None) -> str:
    """Why an order waits, for `lastError` and `bbctl orders list`."""
    if normalised(status) is None:
        return "Plugsurfing sent no status: waiting for one that allows fulfilment"
    if not is_known(status):
        return f"status {status} is not in the status table (docs/key-orders.md): waiting, not fulfilled"
    return f"status {normalised(status)} at Plugsurfing does not allow fulfilment yet: waiting"


class KeyToShip(Record):
    """A key claimed for an order: what the warehouse puts in the envelope."""

    uid: str
    visual_number: str


class KeyOrder(Leased):
    """One EMP charging-key order (pk `ORDER#<orderId>`)."""

    order_id: str
    organization_id: str | None = None
    quantity: int = 1
    product_id: str | None = None
    address: dict[str, str] = Field(default_factory=dict)
    partner_status: str | None = None
    created_at: StoredTime
    """The partner's `created` (our receipt time if it sent none); sorts the ByState index."""
    received_at: StoredTime
    updated_at: StoredTime
    state: KeyOrderState = KeyOrderState.RECEIVED
    fleet_id: str | None = None
    keys: list[KeyToShip] = Field(default_factory=list)
    claimed: int = 0
    last_error: str | None = None
    assign_requested_at: StoredTime | None = None
    assigned_at: StoredTime | None = None
    hold_since: StoredTime | None = None
    """When the order went ON_HOLD (its status did not allow fulfilment); None when not held."""
    status_checked_at: StoredTime | None = None
    """When Plugsurfing's status of the order was last read (before claiming, before assigning)."""

    @classmethod
    def from_partner(cls, order: EmpOrder, now: datetime) -> KeyOrder:
        """A new record for an order seen for the first time: RECEIVED if its status allows
        fulfilment, ON_HOLD if it must wait, SKIPPED if it must not be fulfilled."""
        handling = handling_of(order.status)
        state, note = KeyOrderState.RECEIVED, None
        if handling is Handling.SKIP:
            state = KeyOrderState.SKIPPED
            note = f"already {normalised(order.status)} at Plugsurfing when first seen: not fulfilled"
        elif handling is Handling.WAIT:
            state, note = KeyOrderState.ON_HOLD, hold_reason(order.status)
        address = order.address.model_dump(exclude_none=True) if order.address else {}
        return cls(
            order_id=order.id,
            organization_id=order.organization_id,
            quantity=order.quantity if order.quantity is not None else 1,
            product_id=order.product.id if order.product else None,
            address={name: str(value) for name, value in address.items()},
            partner_status=order.status,
            created_at=order.created or now,
            received_at=now,
            updated_at=now,
            state=state,
            last_error=note,
            hold_since=now if state is KeyOrderState.ON_HOLD else None,
            status_checked_at=now,
        )

    def to_item(self) -> dict[str, Any]:
        return {"pk": ORDER_PREFIX + self.order_id, **super().to_item()}


class CrawlCheckpoint(Leased):
    """The crawler's control item (pk `CONTROL#crawl`).

    `watermark` moves only when a crawl completes; `cursor`, `run_from`, `cursors` and `max_seen`
    describe the crawl in progress, so an interrupted one resumes with the same query.
    """

    watermark: StoredTime | None = None
    run_from: StoredTime | None = None
    cursor: str | None = None
    cursors: list[str] = Field(default_factory=list)
    max_seen: StoredTime | None = None
    run_started_at: StoredTime | None = None
    pages: int = 0
    last_completed_at: StoredTime | None = None
    last_error: str | None = None
    updated_at: StoredTime | None = None

    @property
    def in_progress(self) -> bool:
        return self.cursor is not None

    def to_item(self) -> dict[str, Any]:
        return {"pk": CRAWL_CONTROL_KEY, **super().to_item()}


class OrgMapping(Record):
    """Organisation id -> fleet id (pk `ORG#<organizationId>`), kept by the operator."""

    organization_id: str
    fleet_id: str
    updated_at: StoredTime

    def to_item(self) -> dict[str, Any]:
        return {"pk": ORG_PREFIX + self.organization_id, **super().to_item()}


# --- Drive key orders ----------------------------------------------------------------------------


class DriveAddress(BaseModel):
    """Shipping address of a Drive order (the partner's body field names)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    address_line1: str = Field(min_length=1, max_length=200)
    address_line2: str | None = Field(default=None, max_length=200)
    postal_code: str = Field(min_length=1, max_length=20)
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(min_length=1, max_length=100)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    company_name: str | None = Field(default=None, max_length=200)

    def wire(self) -> dict[str, str]:
        wire: dict[str, str] = self.model_dump(by_alias=True, exclude_none=True)
        return wire


class DriveOrderRequest(BaseModel):
    """A DriveOrderQueue message: order a physical key for a Drive user.

    `requestId` is the idempotency key: the same request is never ordered twice.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    request_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")
    user_id: str = Field(min_length=1, max_length=128)
    address: DriveAddress
    taxation_country: str = Field(pattern=r"^[A-Z]{2}$")
    payment_option_id: str | None = Field(default=None, min_length=1, max_length=200)


class DriveRequestState(StrEnum):
    PENDING = "PENDING"
    """Accepted, not ordered yet (also while Plugsurfing's 5-minute throttle holds it back)."""
    ORDERING = "ORDERING"
    """The order call was requested: a resumed attempt looks for the order before calling again."""
    ORDERED = "ORDERED"
    """Plugsurfing has the order (`orderId`); its `orderState` is tracked by polling."""
    REJECTED = "REJECTED"
    """Plugsurfing refused for good (400 invalid, 404 user not found): `lastError` says why."""
    CLOSED = "CLOSED"
    """The order reached a final state at Plugsurfing: tracking stopped."""
    UNSETTLED = "UNSETTLED"
    """Tracking stopped without a final state (stuck in a state that needs somebody, or not final
    long after it was placed): alarm, `lastError` says why."""


FINAL_ORDER_STATES = frozenset(
    {OrderState.ORDER_FILLED, OrderState.ORDER_CANCELLED, OrderState.ORDER_REFUNDED}
)
"""Partner states after which an order no longer changes: its tracking stops (CLOSED)."""
NEEDS_ACTION_STATES = frozenset(
    {OrderState.UNKNOWN, OrderState.ORDER_PAYMENT_FAILED, OrderState.ORDER_REFUND_FAILED}
)
"""Partner states that do not move on by themselves: tracked for a bounded time only."""


class DriveOrderRecord(Leased):
    """One Drive order request (table DriveOrdersTable, key `requestId`)."""

    request_id: str
    user_id: str
    address: dict[str, str]
    taxation_country: str
    payment_option_id: str | None = None
    state: DriveRequestState = DriveRequestState.PENDING
    order_id: str | None = None
    order_state: OrderState | None = None
    order_state_raw: str | None = None
    """The state as Plugsurfing sent it (`order_state` maps values the spec does not list to
    UNKNOWN, as it asks; this keeps e.g. ORDER_FREE_OF_CHARGE)."""
    order_state_since: StoredTime | None = None
    """When the current `order_state_raw` was first seen."""
    has_receipt: bool | None = None
    attempts: int = 0
    throttled: int = 0
    last_error: str | None = None
    requested_at: StoredTime | None = None
    ordered_at: StoredTime | None = None
    created_at: StoredTime
    updated_at: StoredTime

    def order_state_label(self) -> str:
        """The state for people: `UNKNOWN (ORDER_FREE_OF_CHARGE)` rather than a bare UNKNOWN."""
        if self.order_state is None:
            return "-"
        raw = self.order_state_raw
        if raw and raw != self.order_state.value:
            return f"{self.order_state.value} ({raw})"
        return self.order_state.value

    @classmethod
    def from_request(cls, request: DriveOrderRequest, now: datetime) -> DriveOrderRecord:
        return cls(
            request_id=request.request_id,
            user_id=request.user_id,
            address=request.address.wire(),
            taxation_country=request.taxation_country,
            payment_option_id=request.payment_option_id,
            created_at=now,
            updated_at=now,
        )


class OrderMessage(BaseModel):
    """An OrderQueue message: the id of an order in OrdersTable."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    order_id: str = Field(alias="orderId", min_length=1)
