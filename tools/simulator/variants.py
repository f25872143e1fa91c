"""Switching the real-world variants on (issue 14, part A), from Python (`VariantControls`, mixed
into `SimulatorCore`) or over HTTP (`variant_admin.py`, same methods, same validation):

- an EMP order with any status, and its status changed later (an order cancelled after it was
  first listed), a Drive order's state changed later;
- enable/disable (EMP) or PATCH (Drive) answering 403 for a key;
- a Drive remote start refusing an unknown connector;
- a remote start that starts the session but whose answer is lost (5xx);
- EMP session start refusing keys it does not know (on by default) or accepting them;
- the Drive order throttle's 429 without Retry-After.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from simulator.state import ApiError
from simulator.variantbook import LostAnswer, UnknownKeys

if TYPE_CHECKING:
    from simulator.state import SimState

NonEmpty = Annotated[str, Field(min_length=1)]


class _AdminBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderStatusIn(_AdminBody):
    status: NonEmpty


class DriveOrderStateIn(_AdminBody):
    state: NonEmpty
    hasReceipt: StrictBool | None = None


class ForbiddenKeyIn(_AdminBody):
    keyIdentifier: NonEmpty
    """EMP: the identifier the key was created with; Drive: its keyId or contractId."""
    forbidden: StrictBool = True


class UnknownConnectorIn(_AdminBody):
    connectorId: NonEmpty
    unknown: StrictBool = True


class LostAnswerIn(_AdminBody):
    connectorId: NonEmpty
    status: Annotated[int, Field(ge=500, le=599)] = 502
    count: Annotated[int, Field(ge=1)] = 1


class VariantSwitchesIn(_AdminBody):
    emp_unknown_keys: UnknownKeys | None = None
    order_throttle_retry_after: StrictBool | None = None


class VariantControls:
    """Methods `SimulatorCore` gains; `self.state` is its `SimState`."""

    state: SimState

    def set_order_status(self, order_id: str, status: str) -> dict[str, Any]:
        """Change an EMP order's status at "Plugsurfing", e.g. cancel it after it was listed."""
        body = OrderStatusIn(status=status)
        sim = self.state
        with sim.lock:
            order = sim.store.emp_orders.get(order_id)
            if order is None:
                raise ApiError(404, f"Order {order_id} not found")
            order.status = body.status
            order.updated = max(sim.now(), order.created)
            return order.wire()

    def set_drive_order_state(
        self, user_id: str, order_id: str, state: str, hasReceipt: bool | None = None
    ) -> dict[str, Any]:
        body = DriveOrderStateIn(state=state, hasReceipt=hasReceipt)
        sim = self.state
        with sim.lock:
            order = sim.store.drive_orders.get(order_id)
            if order is None or order.user_id != user_id:
                raise ApiError(404, f"Order {order_id} of user {user_id} not found")
            order.state = body.state
            if body.hasReceipt is not None:
                order.has_receipt = body.hasReceipt
            order.updated = sim.now()
            return order.wire()

    def forbid_key(self, keyIdentifier: str, forbidden: bool = True) -> dict[str, Any]:
        body = ForbiddenKeyIn(keyIdentifier=keyIdentifier, forbidden=forbidden)
        with self.state.lock:
            book = self.state.store.variants
            if body.forbidden:
                book.forbidden_keys.add(body.keyIdentifier.lower())
            else:
                book.forbidden_keys.discard(body.keyIdentifier.lower())
            return book.view()

    def mark_connector_unknown(self, connectorId: str, unknown: bool = True) -> dict[str, Any]:
        body = UnknownConnectorIn(connectorId=connectorId, unknown=unknown)
        with self.state.lock:
            book = self.state.store.variants
            if body.unknown:
                book.unknown_connectors.add(body.connectorId)
            else:
                book.unknown_connectors.discard(body.connectorId)
            return book.view()

    def lose_start_answers(self, connectorId: str, status: int = 502, count: int = 1) -> dict[str, Any]:
        body = LostAnswerIn(connectorId=connectorId, status=status, count=count)
        with self.state.lock:
            book = self.state.store.variants
            book.lost_answers[body.connectorId] = LostAnswer(status=body.status, count=body.count)
            return book.view()

    def switch_variants(self, **switches: Any) -> dict[str, Any]:
        body = VariantSwitchesIn(**switches)
        with self.state.lock:
            book = self.state.store.variants
            if body.emp_unknown_keys is not None:
                book.emp_unknown_keys = body.emp_unknown_keys
            if body.order_throttle_retry_after is not None:
                book.order_throttle_retry_after = body.order_throttle_retry_after
            return book.view()

    def variants(self) -> dict[str, Any]:
        with self.state.lock:
            return self.state.store.variants.view()
