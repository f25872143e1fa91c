"""Drive key orders: order a physical key for a user, exactly once per request, and track it.

Plugsurfing allows one order per user per 5 minutes and answers 429 otherwise; that is a reason
to wait (the queue message comes back after Retry-After), never to drop the request. 400 and 404
(user not found) are final: the request is REJECTED with the reason.

Exactly once per `requestId`: the record is created on first sight, a request already ORDERED (or
REJECTED) is not ordered again, one processor at a time holds its lease, and ORDERING is recorded
before the call. An attempt that finds a request whose earlier call may have reached Plugsurfing
(a crash, a 5xx, a timeout) looks the order up in the user's order list before ordering again.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from backbone.observability import MetricUnit, bind_correlation, logger, metrics
from backbone.orders.errors import LeaseLost, PartnerCallFailed, PartnerRefused, PartnerThrottled, RetryLater
from backbone.orders.models import (
    FINAL_ORDER_STATES,
    NEEDS_ACTION_STATES,
    DriveOrderRecord,
    DriveOrderRequest,
    DriveRequestState,
)
from backbone.orders.ports import DriveOrderDependencies, DriveOrderRepository
from backbone.orders.redelivery import lease_owner, redelivered_later

if TYPE_CHECKING:
    from backbone.partners.schemas import DriveKeyOrder

DONE = frozenset(
    {
        DriveRequestState.ORDERED,
        DriveRequestState.REJECTED,
        DriveRequestState.CLOSED,
        DriveRequestState.UNSETTLED,
    }
)
THROTTLE_MARGIN_SECONDS = 1.0  # come back just after the window, not on its edge


def parse_request(body: str) -> DriveOrderRequest:
    return DriveOrderRequest.model_validate_json(body)


def place_from_queue(
    body: str, receipt_handle: str, receive_count: int, deps: DriveOrderDependencies, label: str
) -> DriveOrderRecord | None:
    """One DriveOrderQueue message; an invalid one is recorded REJECTED (final, not retried)."""
    try:
        request = parse_request(body)
    except ValidationError as invalid:
        reject_invalid(body, invalid, deps.records, deps.clock())
        return None
    with redelivered_later(deps.redelivery, receipt_handle, receive_count, deps.backoff):
        return place_drive_order(request, deps, lease_owner(label))


def place_drive_order(
    request: DriveOrderRequest, deps: DriveOrderDependencies, owner: str
) -> DriveOrderRecord:
    """Order the key for this request unless it was ordered (or refused) already."""
    bind_correlation(drive_order_request_id=request.request_id)
    records = deps.records
    now = deps.clock()
    if not records.put_new(DriveOrderRecord.from_request(request, now)):
        existing = records.get(request.request_id)
        if existing is not None and existing.state in DONE:
            logger.info("drive order request already handled", extra={"state": existing.state})
            return existing
    record = records.acquire(request.request_id, owner, now, deps.lease)
    run = _Placing(deps, record)
    try:
        run.place()
    finally:
        records.release(run.record)
    return run.record


def reject_invalid(body: str, error: ValidationError, records: DriveOrderRepository, now: datetime) -> bool:
    """Record an invalid request as REJECTED if it names a request id (retrying cannot fix it).
    Returns whether it could be recorded."""
    problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
    metrics.add_metric(name="DriveOrdersRejected", unit=MetricUnit.Count, value=1)
    try:
        raw = json.loads(body)
    except ValueError:
        raw = None
    if not isinstance(raw, dict):
        raw = {}
    request_id = raw.get("requestId")
    if not isinstance(request_id, str) or not request_id.strip():
        logger.error("invalid drive order request without a requestId; dropped", extra={"problems": problems})
        return False
    address = raw.get("address")
    record = DriveOrderRecord(
        request_id=request_id[:128],
        user_id=str(raw.get("userId") or "?")[:128],
        address={str(k): str(v) for k, v in address.items()} if isinstance(address, dict) else {},
        taxation_country=str(raw.get("taxationCountry") or "")[:8],
        state=DriveRequestState.REJECTED,
        last_error=f"invalid request: {problems}"[:1000],
        created_at=now,
        updated_at=now,
    )
    stored = records.put_new(record)
    logger.error("invalid drive order request rejected", extra={"problems": problems})
    return stored


class _Placing:
    def __init__(self, deps: DriveOrderDependencies, record: DriveOrderRecord) -> None:
        self.deps, self.records, self.partner, self.clock = deps, deps.records, deps.partner, deps.clock
        self.record = record

    def place(self) -> None:
        record = self.record
        if record.state in DONE:
            return
        if record.requested_at is not None:  # an earlier call may have reached Plugsurfing
            placed = self._find_placed()
            if placed is not None:
                logger.info("order found at Plugsurfing; not ordering again", extra={"order_id": placed.id})
                self._ordered(placed.id, placed.state, placed.raw_state, placed.has_receipt)
                return
        self._save(state=DriveRequestState.ORDERING, requested_at=self.clock(), attempts=record.attempts + 1)
        try:
            placed_now = self.partner.order_charging_key(
                record.user_id, record.address, record.taxation_country, record.payment_option_id
            )
        except PartnerThrottled as throttled:
            self._throttled(throttled)
        except PartnerRefused as refused:
            metrics.add_metric(name="DriveOrdersRejected", unit=MetricUnit.Count, value=1)
            logger.warning("drive order rejected by Plugsurfing", extra={"status": refused.status})
            reason = f"{refused.status}: {refused.detail or refused}"
            self._save(state=DriveRequestState.REJECTED, last_error=reason)
        except PartnerCallFailed as error:
            # Maybe processed (5xx, timeout): stay ORDERING, the next attempt looks before ordering.
            self._save(last_error=f"order call failed: {error}")
            raise RetryLater(f"order call failed: {error}", error.retry_after) from error
        else:
            self._ordered(placed_now.id, placed_now.state, placed_now.raw_state, None)

    def _throttled(self, throttled: PartnerThrottled) -> None:
        wait = throttled.retry_after if throttled.retry_after else self.deps.throttle.total_seconds()
        delay = wait + THROTTLE_MARGIN_SECONDS
        metrics.add_metric(name="DriveOrdersThrottled", unit=MetricUnit.Count, value=1)
        # A 429 proves this call was not processed: back to PENDING, no look-up needed next time.
        self._save(
            state=DriveRequestState.PENDING,
            requested_at=None,
            throttled=self.record.throttled + 1,
            last_error=f"throttled by Plugsurfing (one order per user per 5 minutes); retry in {delay:.0f} s",
        )
        raise RetryLater("throttled by Plugsurfing", delay)

    def _find_placed(self) -> DriveKeyOrder | None:
        """The user's order our earlier call placed: created since that call, not another request's."""
        record = self.record
        assert record.requested_at is not None
        taken = {
            other.order_id
            for other in self.records.by_user(record.user_id)
            if other.order_id and other.request_id != record.request_id
        }
        since = record.requested_at - self.deps.lookup_skew
        candidates = [
            order
            for order in self.partner.list_charging_key_orders(record.user_id)
            if order.id not in taken and order.created is not None and order.created >= since
        ]
        return min(candidates, key=lambda order: (order.created, order.id), default=None)

    def _ordered(self, order_id: str, state: Any, raw_state: str | None, has_receipt: bool | None) -> None:
        metrics.add_metric(name="DriveOrdersPlaced", unit=MetricUnit.Count, value=1)
        logger.info("drive key order placed", extra={"order_id": order_id, "order_state": raw_state or state})
        now = self.clock()
        self._save(
            state=DriveRequestState.ORDERED,
            order_id=order_id,
            order_state=state,
            order_state_raw=raw_state,
            order_state_since=now,
            has_receipt=has_receipt,
            ordered_at=now,
            last_error=None,
        )

    def _save(self, **changes: Any) -> None:
        updated = self.record.model_copy(update={**changes, "updated_at": self.clock()})
        self.record = self.records.save(updated)


# --- tracking ------------------------------------------------------------------------------------


@dataclass
class TrackReport:
    users: int = 0
    changed: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unsettled: list[str] = field(default_factory=list)
    failed_users: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "changed": self.changed,
            "closed": self.closed,
            "missing": self.missing,
            "unsettled": self.unsettled,
            "failedUsers": self.failed_users,
        }


def track_drive_orders(deps: DriveOrderDependencies) -> TrackReport:
    """Poll each user with an open order once; record state changes (unknown states: UNKNOWN,
    with the partner's own value kept). An order in a final state (filled, cancelled, refunded)
    is CLOSED; one that does not settle within `deps.settle_after` / `deps.track_max` is
    UNSETTLED (alarm). Both are no longer polled."""
    records, partner = deps.records, deps.partner
    by_user: dict[str, list[DriveOrderRecord]] = defaultdict(list)
    for record in records.by_state(DriveRequestState.ORDERED):
        by_user[record.user_id].append(record)
    report = TrackReport(users=len(by_user))
    now = deps.clock()
    for user_id, open_records in sorted(by_user.items()):
        try:
            orders = {order.id: order for order in partner.list_charging_key_orders(user_id)}
        except PartnerCallFailed as error:
            logger.warning(
                "could not list a user's orders",
                extra={"request_ids": [record.request_id for record in open_records], "error": str(error)},
            )
            report.failed_users.append(user_id)
            continue
        for record in open_records:
            _track(record, orders.get(record.order_id or ""), deps, now=now, report=report)
    if report.changed:
        metrics.add_metric(name="DriveOrderStateChanges", unit=MetricUnit.Count, value=len(report.changed))
    if report.unsettled:
        metrics.add_metric(name="DriveOrdersUnsettled", unit=MetricUnit.Count, value=len(report.unsettled))
    return report


def _track(
    record: DriveOrderRecord,
    order: DriveKeyOrder | None,
    deps: DriveOrderDependencies,
    *,
    now: datetime,
    report: TrackReport,
) -> None:
    updated = record if order is None else _observed(record, order, now)
    if order is None:
        report.missing.append(record.request_id)
    unsettled = _unsettled(updated, missing=order is None, now=now, deps=deps)
    if unsettled is not None:
        updated = updated.model_copy(update={"state": DriveRequestState.UNSETTLED, "last_error": unsettled})
    if updated is record:
        return
    try:
        deps.records.save(updated.model_copy(update={"updated_at": now}))
    except LeaseLost:
        return  # changed meanwhile: the next poll sees it again
    if updated.order_state_raw != record.order_state_raw or updated.has_receipt != record.has_receipt:
        report.changed.append(record.request_id)
        logger.info(
            "drive order state changed",
            extra={
                "request_id": record.request_id,
                "from": record.order_state_raw,
                "to": updated.order_state_raw,
            },
        )
    if updated.state is DriveRequestState.CLOSED:
        report.closed.append(record.request_id)
    if unsettled is not None:
        report.unsettled.append(record.request_id)
        logger.error(
            "drive order does not settle; tracking stopped",
            extra={"request_id": record.request_id, "reason": unsettled},
        )


def _observed(record: DriveOrderRecord, order: DriveKeyOrder, now: datetime) -> DriveOrderRecord:
    """The record after seeing `order` (the same object when nothing changed)."""
    raw = order.raw_state or order.state.value
    if (
        raw == record.order_state_raw
        and order.state == record.order_state
        and order.has_receipt == record.has_receipt
    ):
        return record
    moved = raw != record.order_state_raw or order.state != record.order_state
    return record.model_copy(
        update={
            "order_state": order.state,
            "order_state_raw": raw,
            "order_state_since": now if moved else record.order_state_since,
            "has_receipt": order.has_receipt,
            "state": DriveRequestState.CLOSED
            if order.state in FINAL_ORDER_STATES
            else DriveRequestState.ORDERED,
        }
    )


def _unsettled(
    record: DriveOrderRecord, *, missing: bool, now: datetime, deps: DriveOrderDependencies
) -> str | None:
    """Why tracking of an open order stops now, or None while it goes on."""
    if record.state is not DriveRequestState.ORDERED:
        return None
    placed = record.ordered_at or record.created_at
    since = record.order_state_since or placed
    label = record.order_state_label()
    if not missing and record.order_state in NEEDS_ACTION_STATES and now - since >= deps.settle_after:
        return (
            f"{label} for more than {_days(deps.settle_after)} day(s): tracking stopped, somebody must look"
        )
    if now - placed >= deps.track_max:
        where = "not listed by Plugsurfing" if missing else f"still {label}"
        return f"{where} {_days(deps.track_max)} day(s) after it was placed: tracking stopped"
    return None


def _days(span: timedelta) -> str:
    return f"{span.total_seconds() / 86_400:g}"


def pricing(deps: DriveOrderDependencies) -> dict[str, Any]:
    """On demand (`bbctl orders pricing`): what ordering a key costs, per country, as Plugsurfing
    configured it for us (`priceMinorInclVat` in minor units, `vat` in percent); or why there is
    no answer (404: no country set up)."""
    try:
        configuration = deps.partner.orders_configuration()
    except PartnerCallFailed as error:
        return {"error": str(error), "status": error.status}
    return {"countries": [price.model_dump(mode="json", by_alias=True) for price in configuration.countries]}


def receipt(deps: DriveOrderDependencies, user_id: str, order_id: str) -> dict[str, Any]:
    """On demand (`bbctl orders receipt`): the receipt URL, or why there is none."""
    try:
        return {"url": deps.partner.receipt_url(user_id, order_id)}
    except PartnerCallFailed as error:
        return {"error": str(error), "status": error.status}
