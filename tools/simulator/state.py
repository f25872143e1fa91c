"""The simulated Plugsurfing back end: an in-memory model behind one lock, driven by a clock.

Routes stay thin: they validate the request body, call one method here and serialise the result.
Every method takes the lock, so the threaded server can serve many clients at once.
"""

from __future__ import annotations

import math
import threading
from datetime import datetime, timedelta
from typing import Any

from simulator.clock import Clock, SystemClock
from simulator.formats import (
    CursorError,
    IdFactory,
    decode_cursor,
    encode_cursor,
    iso_millis,
    reverse_hex_bytes,
)
from simulator.models import (
    ConfigIn,
    DriveOrderIn,
    DriveOrderSeedIn,
    EmpKeyIn,
    EmpKeySeedIn,
    EmpOrderSeedIn,
    KeyPatchIn,
    ReservationIn,
    SessionScript,
    SimConfig,
)
from simulator.records import DriveKey, DriveOrder, EmpKey, EmpOrder, Reservation, Store, User
from simulator.sessions import Mode, Session
from simulator.variantbook import FORBIDDEN_KEY_MESSAGE, UNKNOWN_CONNECTOR_MESSAGE, UNKNOWN_KEY_MESSAGE

TEN_YEARS = timedelta(days=3652)
DEFAULT_ADDRESS = {
    "country": "Germany",
    "additionalInformation": "",
    "firstName": "Erika",
    "lastName": "Mustermann",
    "address": "Simulatorstrasse 1",
    "city": "Berlin",
    "postalCode": "10115",
    "companyName": "",
    "addressLine2": "",
}


class ApiError(Exception):
    """A Drive/EMP error answer: HTTP status and `{"message": ...}`, plus optional headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def _page_size(raw: str | None, default: int, low: int, high: int, name: str) -> int:
    if raw is None or raw == "":
        return default
    try:
        size = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer between {low} and {high}") from None
    if not low <= size <= high:
        raise ApiError(400, f"{name} must be an integer between {low} and {high}")
    return size


class SimState:
    """The partner's data and rules. Thread-safe; time comes from `self.clock`."""

    def __init__(self, clock: Clock | None = None, seed: int | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.ids = IdFactory(seed)
        self.config = SimConfig()
        self.lock = threading.RLock()
        self.store = Store()

    def now(self) -> datetime:
        return self.clock.now()

    def reset(self) -> None:
        """Forget all data and restore the default configuration (the clock is left alone)."""
        with self.lock:
            self.store = Store()
            self.config = SimConfig()

    def configure(self, update: ConfigIn) -> SimConfig:
        with self.lock:
            values = self.config.model_dump()
            if update.order_throttle_seconds is not None:
                values["order_throttle_seconds"] = update.order_throttle_seconds
            if update.emp_key_echo is not None:
                values["emp_key_echo"] = update.emp_key_echo
            if update.session is not None:
                values["session"] = {**values["session"], **update.session}
            if update.orders_configuration is not None:
                values["orders_configuration"] = [p.model_dump() for p in update.orders_configuration]
            self.config = SimConfig.model_validate(values)
            return self.config

    def _next_seq(self) -> int:
        self.store.seq += 1
        return self.store.seq

    # --- Drive: users and charging keys --------------------------------------------------------

    def create_user(self, user_id: str, email: str | None) -> User:
        """A user plus the virtual charging key Plugsurfing creates for every new user."""
        with self.lock:
            if user_id in self.store.users:
                raise ApiError(409, "User already exists")
            now = self.now()
            user = User(user_id, email, now)
            self.store.users[user_id] = user
            virtual = DriveKey(
                key_id=self.ids.hex(8),
                type="virtual",
                name="virtual key",
                enabled=True,
                reference_id=None,
                contract_id=self.ids.contract_id(),
                valid_from=now,
                valid_to=now + TEN_YEARS,
                created=now,
                updated=now,
            )
            self.store.drive_keys[user_id] = {virtual.key_id: virtual}
            return user

    def _user(self, user_id: str) -> User:
        user = self.store.users.get(user_id)
        if user is None:
            raise ApiError(404, "User not found")
        return user

    def reserve_key(self, body: ReservationIn) -> None:
        with self.lock:
            existing = self.store.reservations.get(body.visualNumber)
            if existing is not None:
                if existing.uid.lower() == body.uid.lower():
                    return  # the same reservation again is harmless
                raise ApiError(409, "visualNumber already reserved for another uid")
            if any(r.uid.lower() == body.uid.lower() for r in self.store.reservations.values()):
                raise ApiError(409, "uid already reserved under another visualNumber")
            now = self.now()
            valid_from = body.validFrom or now
            self.store.reservations[body.visualNumber] = Reservation(
                uid=body.uid,
                visual_number=body.visualNumber,
                valid_from=valid_from,
                valid_to=body.validTo or valid_from + TEN_YEARS,
                type=(body.type or "TAG").lower(),
                created=now,
            )

    def activate_key(self, user_id: str, reference_id: str) -> dict[str, Any]:
        with self.lock:
            self._user(user_id)
            reservation = self.store.reservations.get(reference_id)
            if reservation is None:
                raise ApiError(404, "Charging key not found")
            if reservation.activated_by not in (None, user_id):
                raise ApiError(409, "Key already in use")
            keys = self.store.drive_keys.setdefault(user_id, {})
            if reservation.activated_by == user_id:
                return keys[reservation.uid].wire()
            now = self.now()
            key = DriveKey(
                key_id=reservation.uid,
                type=reservation.type,
                name=f"key {self.ids.hex(8)}",
                enabled=True,
                reference_id=reservation.visual_number,
                contract_id=self.ids.contract_id(),
                valid_from=reservation.valid_from,
                valid_to=reservation.valid_to,
                created=now,
                updated=now,
            )
            keys[key.key_id] = key
            reservation.activated_by = user_id
            return key.wire()

    def patch_key(self, user_id: str, identifier: str, body: KeyPatchIn) -> dict[str, Any]:
        with self.lock:
            self._user(user_id)
            keys = self.store.drive_keys.get(user_id, {}).values()
            key = next((k for k in keys if identifier in (k.key_id, k.contract_id)), None)
            if key is None:
                raise ApiError(404, "Charging key not found")
            if self.store.variants.forbids(key.key_id, key.contract_id):
                raise ApiError(403, FORBIDDEN_KEY_MESSAGE)
            if body.name is not None:
                key.name = body.name
            if body.enabled is not None:
                key.enabled = body.enabled
            key.updated = self.now()
            return key.wire()

    def user_keys(self, user_id: str) -> list[dict[str, Any]]:
        with self.lock:
            self._user(user_id)
            return [k.wire() for k in self.store.drive_keys.get(user_id, {}).values()]

    # --- Drive: key orders -----------------------------------------------------------------

    def order_key(self, user_id: str, body: DriveOrderIn) -> dict[str, Any]:
        """Place an order; one per user per throttle window (spec: 5 minutes), else 429."""
        with self.lock:
            self._user(user_id)
            variants = self.store.variants
            now = self.now()
            window = timedelta(seconds=self.config.order_throttle_seconds)
            last = self.store.last_order_at.get(user_id)
            if last is not None and now < last + window:
                wait = math.ceil((last + window - now).total_seconds())
                retry_after = {"Retry-After": str(max(wait, 1))}
                raise ApiError(
                    429, "Too many requests", retry_after if variants.order_throttle_retry_after else {}
                )
            order = DriveOrder(
                id=self.ids.alnum(10),
                user_id=user_id,
                created=now,
                updated=now,
                address=body.address.model_dump(exclude_none=True),
                quantity=1,
                state="ORDER_PLACED",
                has_receipt=False,
            )
            self.store.drive_orders[order.id] = order
            self.store.last_order_at[user_id] = now
            return {"id": order.id, "state": order.state}

    def user_orders(self, user_id: str) -> list[dict[str, Any]]:
        with self.lock:
            self._user(user_id)
            orders = [o for o in self.store.drive_orders.values() if o.user_id == user_id]
            return [o.wire() for o in sorted(orders, key=lambda o: (o.created, o.id))]

    def order_receipt(self, user_id: str, order_id: str, base_url: str) -> dict[str, str]:
        with self.lock:
            order = self.store.drive_orders.get(order_id)
            if order is None or order.user_id != user_id or not order.has_receipt:
                raise ApiError(404, "Receipt not found")
            return {"url": f"{base_url.rstrip('/')}/_sim/receipts/{order_id}"}

    def orders_configuration(self) -> dict[str, Any]:
        with self.lock:
            countries = [p.model_dump() for p in self.config.orders_configuration]
        if not countries:
            raise ApiError(404, "No pricing found for organization")
        return {"countries": countries}

    def add_drive_order(self, user_id: str, seed: DriveOrderSeedIn) -> dict[str, Any]:
        with self.lock:
            self._user(user_id)
            created = seed.created or self.now()
            order = DriveOrder(
                id=seed.id or self.ids.alnum(10),
                user_id=user_id,
                created=created,
                updated=created,
                address=seed.address
                or {
                    "addressLine1": "Simulatorstrasse 1",
                    "postalCode": "10115",
                    "city": "Berlin",
                    "country": "Germany",
                },
                quantity=seed.quantity,
                state=seed.state,
                has_receipt=seed.hasReceipt,
            )
            self.store.drive_orders[order.id] = order
            return order.wire()

    # --- EMP: charging keys ------------------------------------------------------------------

    def _emp_wire(self, key: EmpKey) -> dict[str, Any]:
        # Reading of the spec: the create example sends `e0e03336` and is answered with `3633e0e0`,
        # and the list shows `3633e0e0` for the same contractId. So we store what was sent and
        # answer with the byte-reversed form (config `emp_key_echo` = "as_sent" turns that off).
        # Enable/disable address the key by the identifier "provided when creating" it.
        shown = key.sent_identifier
        if self.config.emp_key_echo == "reversed":
            shown = reverse_hex_bytes(shown)
        body: dict[str, Any] = {
            "keyIdentifier": shown,
            "validTo": iso_millis(key.valid_to),
            "contractId": key.contract_id,
            "visualNumber": key.visual_number,
        }
        if key.fleet_id is not None:
            body["fleetId"] = key.fleet_id
        body["enabled"] = key.enabled
        return body

    def list_emp_keys(
        self, fleet_id: str | None, cursor: str | None, page_size: str | None
    ) -> dict[str, Any]:
        size = _page_size(page_size, 100, 10, 500, "page_size")
        after = self._int_cursor(cursor)
        with self.lock:
            keys = sorted(self.store.emp_keys.values(), key=lambda k: k.seq)
            matching = [k for k in keys if k.seq > after and (fleet_id is None or k.fleet_id == fleet_id)]
            page = matching[:size]
            body: dict[str, Any] = {"keys": [self._emp_wire(k) for k in page]}
            if len(matching) > size:
                body["cursor"] = encode_cursor(page[-1].seq)
            return body

    @staticmethod
    def _int_cursor(cursor: str | None) -> int:
        if not cursor:
            return 0
        try:
            position = decode_cursor(cursor)
        except CursorError as exc:
            raise ApiError(400, str(exc)) from None
        if not isinstance(position, int):
            raise ApiError(400, f"Invalid cursor {cursor!r}")
        return position

    def create_emp_key(self, body: EmpKeyIn | EmpKeySeedIn) -> dict[str, Any]:
        with self.lock:
            if body.keyIdentifier in self.store.emp_keys:
                raise ApiError(409, "Charging key already activated")
            seeded_valid_to = body.validTo if isinstance(body, EmpKeySeedIn) else None
            valid_to = seeded_valid_to or self.now() + TEN_YEARS
            key = EmpKey(
                seq=self._next_seq(),
                sent_identifier=body.keyIdentifier,
                visual_number=body.visualNumber,
                contract_id=body.contractId or self.ids.contract_id(),
                fleet_id=body.fleetId,
                enabled=body.enabled,
                valid_to=valid_to,
            )
            self.store.emp_keys[key.sent_identifier] = key
            return self._emp_wire(key)

    def set_emp_key_enabled(self, key_identifier: str, enabled: bool) -> dict[str, Any]:
        with self.lock:
            key = self.store.emp_keys.get(key_identifier)
            if key is None:
                raise ApiError(404, "Charging key not found")
            if self.store.variants.forbids(key.sent_identifier):
                raise ApiError(403, FORBIDDEN_KEY_MESSAGE)
            key.enabled = enabled
            return self._emp_wire(key)

    # --- EMP: key orders -------------------------------------------------------------------

    def add_emp_order(self, seed: EmpOrderSeedIn) -> dict[str, Any]:
        """Add an order now or schedule it to "appear" later on the simulator clock."""
        with self.lock:
            now = self.now()
            if seed.visible_at is not None:
                visible_at = seed.visible_at
            else:
                visible_at = now + timedelta(seconds=seed.visible_after or 0)
            created = seed.created or visible_at
            order = EmpOrder(
                id=seed.id or self.ids.alnum(10),
                address=seed.address or dict(DEFAULT_ADDRESS),
                quantity=seed.quantity,
                product_id=seed.productId,
                created=created,
                organization_id=seed.organizationId,
                status=seed.status,
                updated=created,
                visible_at=visible_at,
            )
            if order.id in self.store.emp_orders:
                raise ApiError(409, f"Order {order.id} already exists")
            self.store.emp_orders[order.id] = order
            return order.wire() | {"visibleAt": iso_millis(visible_at)}

    def list_emp_orders(
        self,
        from_date: datetime | None,
        to_date: datetime | None,
        status: str | None,
        page_size: str | None,
        cursor: str | None,
    ) -> dict[str, Any]:
        """Orders visible now, filtered and sorted by (created, id), keyset-paginated.

        The spec says fromDate/toDate filter orders "created after"/"created before": we read both
        as strict (created > fromDate, created < toDate), so a crawler that reuses the last seen
        timestamp as fromDate without overlap will miss orders here as it would in production.
        """
        size = _page_size(page_size, 100, 1, 500, "pageSize")
        after: tuple[str, str] | None = None
        if cursor:
            try:
                position = decode_cursor(cursor)
            except CursorError as exc:
                raise ApiError(400, str(exc)) from None
            if not (isinstance(position, list) and len(position) == 2):
                raise ApiError(400, f"Invalid cursor {cursor!r}")
            after = (str(position[0]), str(position[1]))
        with self.lock:
            now = self.now()
            orders = sorted(
                (o for o in self.store.emp_orders.values() if o.visible_at <= now),
                key=lambda o: (o.created, o.id),
            )
            matching = [
                o
                for o in orders
                if (from_date is None or o.created > from_date)
                and (to_date is None or o.created < to_date)
                and (status is None or o.status == status)
                and (after is None or (iso_millis(o.created), o.id) > after)
            ]
            page = matching[:size]
            body: dict[str, Any] = {"products": [o.wire() for o in page]}
            if len(matching) > size:
                body["cursor"] = encode_cursor([iso_millis(page[-1].created), page[-1].id])
            return body

    def assign_emp_order(self, order_id: str) -> dict[str, Any]:
        with self.lock:
            order = self.store.emp_orders.get(order_id)
            if order is None or order.visible_at > self.now():
                raise ApiError(404, "Order not found")
            order.status = "ORDER_ASSIGNED"
            order.updated = self.now()
            order.assign_count += 1
            return order.wire()

    def assign_count(self, order_id: str) -> int:
        with self.lock:
            order = self.store.emp_orders.get(order_id)
            return 0 if order is None else order.assign_count

    # --- Sessions ----------------------------------------------------------------------------

    def script_for(self, connector_id: str) -> SessionScript:
        overrides = self.store.connector_scripts.get(connector_id, {})
        return SessionScript.model_validate({**self.config.session.model_dump(), **overrides})

    def set_connector_script(self, connector_id: str | None, overrides: dict[str, Any]) -> SessionScript:
        """Script sessions on one connector (or, without a connector, the global default)."""
        with self.lock:
            if connector_id is None:
                return self.configure(ConfigIn(session=overrides)).session
            merged = {**self.store.connector_scripts.get(connector_id, {}), **overrides}
            SessionScript.model_validate({**self.config.session.model_dump(), **merged})  # fail early
            self.store.connector_scripts[connector_id] = merged
            return self.script_for(connector_id)

    def set_session_script(self, session_id: str, overrides: dict[str, Any]) -> dict[str, Any]:
        """Re-script one running session, e.g. make its balance settle as DEBT."""
        with self.lock:
            session = self._session(session_id, None)
            session.script = SessionScript.model_validate({**session.script.model_dump(), **overrides})
            return session.render(self.now())

    def start_session(
        self, mode: Mode, connector_id: str, user_id: str | None = None, key_identifier: str | None = None
    ) -> str:
        """Record the attempt and return its id; failed starts get an id too (Drive spec)."""
        with self.lock:
            if user_id is not None:
                self._user(user_id)
            variants = self.store.variants
            if mode == "drive" and connector_id in variants.unknown_connectors:
                raise ApiError(400, UNKNOWN_CONNECTOR_MESSAGE)
            refused = False
            if key_identifier is not None:
                key = self.store.emp_keys.get(key_identifier.lower())
                if key is None and variants.emp_unknown_keys == "refuse":
                    raise ApiError(400, UNKNOWN_KEY_MESSAGE)
                refused = key is not None and not key.enabled
            session = Session(
                id=self.ids.alnum(11),
                mode=mode,
                connector_id=connector_id,
                requested_at=self.now(),
                script=self.script_for(connector_id),
                user_id=user_id,
                key_identifier=key_identifier,
                refused=refused,
            )
            self.store.sessions[session.id] = session
            lost = variants.take_lost_answer(connector_id)
            if lost is not None:  # started, but the caller never learns it
                raise ApiError(lost, "Internal server error")
            return session.id

    def _session(self, session_id: str, user_id: str | None) -> Session:
        session = self.store.sessions.get(session_id)
        if session is None or (user_id is not None and session.user_id != user_id):
            raise ApiError(404, "User or session not found")
        return session

    def get_session(
        self, session_id: str, user_id: str | None = None, mode: Mode = "drive"
    ) -> dict[str, Any]:
        with self.lock:
            session = self._session(session_id, user_id)
            if session.mode != mode:
                raise ApiError(404, "User or session not found")
            return session.render(self.now())

    def stop_session(self, session_id: str, user_id: str | None = None, mode: Mode = "drive") -> None:
        """Request a stop; repeated stops and stops of finished sessions are harmless (200)."""
        with self.lock:
            session = self._session(session_id, user_id)
            if session.mode != mode:
                raise ApiError(404, "User or session not found")
            session.stop_requests += 1
            if session.stop_requested_at is None:
                session.stop_requested_at = self.now()

    def session_history(self, user_id: str, statuses: list[str] | None, limit: int) -> list[dict[str, Any]]:
        with self.lock:
            self._user(user_id)
            now = self.now()
            mine = [s for s in self.store.sessions.values() if s.user_id == user_id]
            mine.sort(key=lambda s: (s.requested_at, s.id), reverse=True)
            rendered = [s.render(now) for s in mine]
            if statuses:
                rendered = [r for r in rendered if r["sessionStatus"] in statuses]
            return rendered[:limit]

    # --- OIOI --------------------------------------------------------------------------------

    def store_whitelist(self, partner_identifier: str, rfids: list[str]) -> int:
        """Replace the partner's whitelist; the answer counts UIDs that were not on it before."""
        with self.lock:
            previous = set(self.store.whitelists.get(partner_identifier, []))
            unique = list(dict.fromkeys(rfids))
            processed = sum(1 for uid in unique if uid not in previous)
            self.store.whitelists[partner_identifier] = unique
            self.store.whitelist_history.append(
                {
                    "receivedAt": iso_millis(self.now()),
                    "partnerIdentifier": partner_identifier,
                    "rfids": unique,
                    "count": len(unique),
                    "processed": processed,
                }
            )
            return processed

    def store_oioi_session(self, message: dict[str, Any]) -> None:
        with self.lock:
            self.store.oioi_sessions[str(message["session-id"])] = message
            self.store.oioi_session_history.append({"receivedAt": iso_millis(self.now()), **message})

    def whitelists(self) -> dict[str, Any]:
        with self.lock:
            return {
                "latest": {p: list(u) for p, u in self.store.whitelists.items()},
                "history": list(self.store.whitelist_history),
            }

    # --- Inspection --------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything, for `GET /_sim/state`: wire shapes plus simulator-only bookkeeping."""
        with self.lock:
            now = self.now()
            store = self.store
            return {
                "now": iso_millis(now),
                "config": self.config.model_dump(mode="json"),
                "users": {
                    u.id: {"email": u.email, "created": iso_millis(u.created)} for u in store.users.values()
                },
                "driveKeys": {u: [k.wire() for k in keys.values()] for u, keys in store.drive_keys.items()},
                "reservations": {
                    r.visual_number: {"uid": r.uid, "type": r.type, "activatedBy": r.activated_by}
                    for r in store.reservations.values()
                },
                "empKeys": [
                    self._emp_wire(k) | {"sentKeyIdentifier": k.sent_identifier}
                    for k in sorted(store.emp_keys.values(), key=lambda k: k.seq)
                ],
                "empOrders": [
                    o.wire() | {"visibleAt": iso_millis(o.visible_at), "assignCount": o.assign_count}
                    for o in store.emp_orders.values()
                ],
                "driveOrders": [o.wire() | {"userId": o.user_id} for o in store.drive_orders.values()],
                "sessions": [
                    s.render(now)
                    | {"mode": s.mode, "userId": s.user_id, "keyIdentifier": s.key_identifier}
                    | {"stopRequests": s.stop_requests, "script": s.script.model_dump()}
                    for s in store.sessions.values()
                ],
                "connectorScripts": dict(store.connector_scripts),
                "whitelists": {p: list(u) for p, u in store.whitelists.items()},
                "oioiSessions": list(store.oioi_sessions.values()),
            }
