"""Fulfil one EMP key order exactly once, as a state machine persisted on the order item.

    RECEIVED ─(fleet mapped? keys claimed)─> KEYS_CLAIMED ─(keys enabled for the fleet and
    created at Plugsurfing by key sync)─> KEYS_CREATED ─(assign requested)─> ASSIGNING
    ─(POST /emp/v1/order/{id}/assign)─> ASSIGNED

Waiting states: UNMAPPED (no fleet for the organisation), BACKORDERED (not enough stock), ON_HOLD
(its status at Plugsurfing does not allow fulfilment yet); the crawler re-enqueues them every run.
Final: ASSIGNED, SKIPPED, FAILED.

The order's status at Plugsurfing is read again before keys are claimed and again before the
assign (`backbone.orders.statuses` decides fulfil / wait / skip): an order cancelled meanwhile is
SKIPPED and the keys it claimed are released (RESERVED ones back to stock, ones already handed to
the fleet disabled, which key sync carries to Plugsurfing). A hold lasts at most `hold_max`.

Exactly once:
- one processor per order at a time (the order's lease), every write conditional on it;
- keys are claimed with conditional writes (`KeyStore.claim_in_stock`, idempotent per order);
- the keys are created at Plugsurfing by the charging-keys sync, fed by the table stream: we set
  owner (the fleet) and ACTIVE, then wait until sync shows them registered. One component makes
  key calls to Plugsurfing, and its 409 handling covers a key that already exists there;
- "assign requested" (ASSIGNING) is recorded before the call; an attempt that finds ASSIGNING
  (a crash after the call) asks Plugsurfing whether the order is ORDER_ASSIGNED before calling.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from backbone.errors import DomainError
from backbone.keys import lifecycle as key_logic
from backbone.keys.errors import OutOfStock
from backbone.keys.models import ChargingKey, KeyState, SyncState
from backbone.observability import MetricUnit, bind_correlation, logger, metrics
from backbone.orders.errors import (
    NotFulfillable,
    OrderNotFound,
    PartnerCallFailed,
    PartnerRefused,
    RetryLater,
)
from backbone.orders.models import (
    FINISHED,
    PARTNER_ASSIGNED,
    WAITING,
    KeyOrder,
    KeyOrderState,
    KeyToShip,
    OrderMessage,
    hold_reason,
)
from backbone.orders.ports import FulfilDependencies
from backbone.orders.redelivery import lease_owner, redelivered_later
from backbone.orders.statuses import Handling, handling_of, is_known, normalised

if TYPE_CHECKING:
    from backbone.keys.ports import KeyRepository
    from backbone.partners.schemas import EmpOrder


def fulfil_from_queue(
    body: str, receipt_handle: str, receive_count: int, deps: FulfilDependencies, label: str
) -> KeyOrder | None:
    """One OrderQueue message. On `RetryLater` the message is hidden for the delay and re-raised,
    so the batch reports it failed and SQS delivers it again then."""
    message = OrderMessage.model_validate_json(body)
    try:
        with redelivered_later(deps.redelivery, receipt_handle, receive_count, deps.backoff):
            return fulfil_order(message.order_id, deps, lease_owner(label))
    except OrderNotFound:
        # Only the crawler enqueues, after storing: retrying cannot make the order appear.
        logger.error("message for an order not in OrdersTable; dropped", extra={"order_id": message.order_id})
        return None


def fulfil_order(order_id: str, deps: FulfilDependencies, owner: str) -> KeyOrder:
    """Take the order as far as it can go now. Returns it in a final or waiting state; raises
    `RetryLater` (the order is busy elsewhere, keys are still syncing, Plugsurfing is down)."""
    bind_correlation(order_id=order_id)
    order = deps.orders.acquire(order_id, owner, deps.clock(), deps.lease)
    run = _Fulfilment(deps, order)
    try:
        run.advance()
    finally:
        deps.orders.release(run.order)
    return run.order


def is_registered(key: ChargingKey | None) -> bool:
    """Key sync has created and enabled the key at Plugsurfing for its current state."""
    return (
        key is not None
        and key.state is KeyState.ACTIVE
        and key.sync_state is SyncState.SYNCED
        and key.partner.registered
        and key.partner.enabled is True
    )


def hand_over(key: ChargingKey, order_id: str, fleet_id: str, now: datetime) -> ChargingKey:
    """The claimed key, owned by the fleet and ACTIVE (unchanged if it already is)."""
    if key.order_id != order_id:
        raise NotFulfillable(f"key {key.uid} is no longer claimed for order {order_id}")
    ours = key.owner_type == "fleet" and key.owner_id == fleet_id
    if key.state is KeyState.ACTIVE and key.enabled and ours:
        return key
    if key.state is KeyState.RESERVED or (key.state is KeyState.ASSIGNED and ours):
        assigned = key_logic.assign(key, fleet_id, "fleet", now)
        return key_logic.enable(assigned, now)
    raise NotFulfillable(
        f"key {key.uid} ({key.visual_number}) is {key.state} for {key.owner_type}:{key.owner_id}; "
        "it cannot be handed to the order's fleet"
    )


def release(key: ChargingKey, order_id: str, now: datetime) -> ChargingKey:
    """A key the order claimed, let go: RESERVED back to stock; handed to the fleet already (and
    so maybe created at Plugsurfing, where a key cannot change fleet) disabled. Keys of other
    orders, and disabled or lost ones, are left as they are."""
    if key.order_id != order_id:
        return key
    if key.state is KeyState.RESERVED:
        return key_logic.return_to_stock(key, now)
    if key.state in (KeyState.ASSIGNED, KeyState.ACTIVE):
        return key_logic.disable(key, now)
    return key


class _Fulfilment:
    def __init__(self, deps: FulfilDependencies, order: KeyOrder) -> None:
        self.deps = deps
        self.orders, self.keys, self.feed, self.clock = deps.orders, deps.keys, deps.feed, deps.clock
        self.order = order

    def advance(self) -> None:
        steps: dict[KeyOrderState, Callable[[], None]] = {
            KeyOrderState.RECEIVED: self._claim,
            KeyOrderState.UNMAPPED: self._claim,
            KeyOrderState.BACKORDERED: self._claim,
            KeyOrderState.ON_HOLD: self._claim,
            KeyOrderState.KEYS_CLAIMED: self._create,
            KeyOrderState.KEYS_CREATED: self._request_assign,
            KeyOrderState.ASSIGNING: self._resume_assign,
        }
        started = self.order.state
        while self.order.state not in FINISHED:
            before = self.order.state
            steps[before]()
            if self.order.state in WAITING:
                break
        if self.order.state is not started:
            logger.info("order advanced", extra={"from": started, "to": self.order.state})

    # --- steps -----------------------------------------------------------------------------------

    def _claim(self) -> None:
        if not self._status_allows():
            return
        order = self.order
        fleet_id = self.orders.fleet_for(order.organization_id)
        if fleet_id is None:
            metrics.add_metric(name="OrdersUnmapped", unit=MetricUnit.Count, value=1)
            org = order.organization_id or "<none>"
            hint = f"python -m bbctl orders map-org {org} FLEET_ID"
            self._save(state=KeyOrderState.UNMAPPED, last_error=f"no fleet id for organisation {org}: {hint}")
            return
        if order.quantity < 1:
            self._fail(f"quantity {order.quantity} is not a number of keys")
            return
        try:
            claimed = self.keys.claim_in_stock(order.quantity, order.order_id, self.clock())
        except OutOfStock as short:
            metrics.add_metric(name="OrdersBackordered", unit=MetricUnit.Count, value=1)
            logger.warning("order backordered", extra={"missing": short.missing})
            self._save(
                state=KeyOrderState.BACKORDERED,
                fleet_id=fleet_id,
                claimed=len(short.claimed),
                keys=_shipping(short.claimed),
                last_error=f"backordered: {short.missing} of {order.quantity} key(s) missing in stock",
            )
            return
        if len(claimed) > order.quantity:
            logger.warning("order holds more keys than it needs", extra={"claimed": len(claimed)})
        shipped = sorted(claimed, key=lambda key: key.uid)[: order.quantity]
        self._save(
            state=KeyOrderState.KEYS_CLAIMED,
            fleet_id=fleet_id,
            claimed=len(shipped),
            keys=_shipping(shipped),
            last_error=None,
        )

    def _create(self) -> None:
        """Hand each key to the fleet (ACTIVE: the stream syncs it to Plugsurfing), then wait
        until key sync shows every key created there."""
        order = self.order
        fleet_id = order.fleet_id or ""
        change = partial(hand_over, order_id=order.order_id, fleet_id=fleet_id, now=self.clock())
        try:
            for key in order.keys:
                key_logic.change_key(self._key_repository(), key.uid, change)
        except DomainError as refused:  # NotFulfillable, TransitionNotAllowed, KeyNotFound
            self._fail(f"keys cannot be created: {refused.detail}")
            return
        current = {key.uid: self.keys.get(key.uid) for key in order.keys}
        waiting = [uid for uid, key in current.items() if not is_registered(key)]
        if waiting:
            errors = [
                f"{uid}: {key.sync_error}"
                for uid, key in current.items()
                if key is not None and key.sync_state is SyncState.ERROR
            ]
            note = f"key sync failed for {'; '.join(errors)}" if errors else None
            if note != order.last_error:
                self._save(last_error=note)
            raise RetryLater(f"waiting for key sync to create {len(waiting)} key(s) at Plugsurfing")
        self._save(state=KeyOrderState.KEYS_CREATED, last_error=None)

    def _request_assign(self) -> None:
        if not self._status_allows():
            return
        # Recorded before the call: whoever finds ASSIGNING asks Plugsurfing before calling again.
        self._save(state=KeyOrderState.ASSIGNING, assign_requested_at=self.clock())
        self._assign()

    def _resume_assign(self) -> None:
        partner = self._partner_order()
        if partner is not None and normalised(partner.status) == PARTNER_ASSIGNED:
            logger.info("order already ORDER_ASSIGNED at Plugsurfing; not assigning again")
            self._assigned(PARTNER_ASSIGNED)
            return
        if self._status_allows(partner):
            self._assign()

    def _assign(self) -> None:
        try:
            answer = self.feed.assign_order(self.order.order_id)
        except PartnerRefused as refused:
            self._fail(f"Plugsurfing refused to assign the order: {refused}")
            return
        except PartnerCallFailed as error:
            # Outcome unknown (5xx, timeout) or a passing problem: stay ASSIGNING and ask first.
            self._save(last_error=f"assign failed, will check and retry: {error}")
            raise RetryLater(f"assign failed: {error}", error.retry_after) from error
        self._assigned(answer.status or PARTNER_ASSIGNED)

    # --- the order's status at Plugsurfing -------------------------------------------------------

    def _status_allows(self, partner: EmpOrder | None = None) -> bool:
        """Read the order at Plugsurfing (unless given) and act on its status: True to go on;
        otherwise the order is now ON_HOLD, SKIPPED (keys released) or FAILED (held too long)."""
        partner = partner if partner is not None else self._partner_order()
        status = partner.status if partner is not None else None
        handling = handling_of(status) if partner is not None else Handling.WAIT
        now = self.clock()
        if handling is Handling.FULFIL:
            if self.order.hold_since is not None or self.order.partner_status != status:
                self._save(partner_status=status, hold_since=None, status_checked_at=now)
            return True
        if handling is Handling.SKIP:
            self._skip(status)
            return False
        if partner is not None and not is_known(status):
            metrics.add_metric(name="OrdersUnknownStatus", unit=MetricUnit.Count, value=1)
            logger.warning("order status not in the status table", extra={"partner_status": status})
        reason = hold_reason(status) if partner is not None else _NOT_FOUND
        self._hold(status if partner is not None else self.order.partner_status, reason)
        return False

    def _partner_order(self) -> EmpOrder | None:
        """The order as Plugsurfing lists it now (by its `created` time: there is no order by
        id), or None if it is not there. Plugsurfing unavailable: `RetryLater`."""
        order = self.order
        try:
            return self.feed.find_order(order.order_id, order.created_at, self.deps.lookup_window)
        except PartnerCallFailed as error:
            raise RetryLater(f"cannot read the order at Plugsurfing: {error}", error.retry_after) from error

    def _hold(self, status: str | None, reason: str) -> None:
        order, now = self.order, self.clock()
        since = order.hold_since or now
        if now - since >= self.deps.hold_max:
            released = self._release_keys()
            days = self.deps.hold_max.total_seconds() / 86_400
            self._fail(f"on hold for more than {days:g} day(s) ({reason}); {released}")
            return
        metrics.add_metric(name="OrdersOnHold", unit=MetricUnit.Count, value=1)
        if order.state is not KeyOrderState.ON_HOLD:
            logger.info("order on hold", extra={"partner_status": status, "from": order.state})
        self._save(
            state=KeyOrderState.ON_HOLD,
            partner_status=status,
            hold_since=since,
            status_checked_at=now,
            last_error=reason,
        )

    def _skip(self, status: str | None) -> None:
        released = self._release_keys()
        metrics.add_metric(name="OrdersSkipped", unit=MetricUnit.Count, value=1)
        logger.warning("order not fulfilled: its status says skip", extra={"partner_status": status})
        self._save(
            state=KeyOrderState.SKIPPED,
            partner_status=status,
            hold_since=None,
            status_checked_at=self.clock(),
            last_error=f"{normalised(status)} at Plugsurfing: not fulfilled; {released}",
        )

    def _release_keys(self) -> str:
        """Let go of every key the order claimed; says what happened to them."""
        order_id, now = self.order.order_id, self.clock()
        returned: list[str] = []
        disabled: list[str] = []
        for key in self.keys.keys_of_order(order_id):
            before = key.state
            try:
                after = key_logic.change_key(
                    self._key_repository(), key.uid, partial(release, order_id=order_id, now=now)
                )
            except DomainError as refused:
                logger.error("claimed key could not be released", extra={"reason": refused.detail})
                continue
            if after.state is KeyState.IN_STOCK and before is not KeyState.IN_STOCK:
                returned.append(key.uid)
            elif after.state is KeyState.DISABLED and before is not KeyState.DISABLED:
                disabled.append(key.uid)
        if returned or disabled:
            logger.info("claimed keys released", extra={"returned": returned, "disabled": disabled})
        parts = []
        if returned:
            parts.append(f"{len(returned)} claimed key(s) back in stock")
        if disabled:
            handed = ", ".join(disabled)
            parts.append(
                f"{len(disabled)} key(s) already handed to the fleet disabled, not restocked: {handed}"
            )
        return "; ".join(parts) if parts else "no keys were claimed"

    # --- helpers ---------------------------------------------------------------------------------

    def _assigned(self, partner_status: str) -> None:
        metrics.add_metric(name="OrdersAssigned", unit=MetricUnit.Count, value=1)
        self._save(
            state=KeyOrderState.ASSIGNED,
            assigned_at=self.clock(),
            partner_status=partner_status,
            last_error=None,
        )

    def _fail(self, reason: str) -> None:
        metrics.add_metric(name="OrdersFailed", unit=MetricUnit.Count, value=1)
        logger.error("order failed", extra={"reason": reason})
        self._save(state=KeyOrderState.FAILED, last_error=reason)

    def _save(self, **changes: Any) -> None:
        updated = self.order.model_copy(update={**changes, "updated_at": self.clock()})
        self.order = self.orders.save(updated)

    def _key_repository(self) -> KeyRepository:
        # change_key only finds and saves: the part of KeyRepository that `Keys` declares.
        return cast("KeyRepository", self.keys)


_NOT_FOUND = "not found at Plugsurfing when its status was read again: waiting"


def _shipping(keys: list[ChargingKey]) -> list[KeyToShip]:
    return [KeyToShip(uid=key.uid, visual_number=key.visual_number) for key in keys]
