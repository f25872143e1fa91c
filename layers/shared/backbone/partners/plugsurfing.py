"""`PlugsurfingClient`: the Drive (`/v1/...`) and EMP REST APIs, sharing the `x-api-key` header.

The Drive base URL is documented (e.g. `https://drive-api-stage.plugsurfing.com/drive`); the EMP
document only gives paths (`/emp/v1/...`). So the EMP base URL is its own argument, by default
the Drive base + `/emp/v1` (`emp_base_under`).

Retries follow the shared policy. POSTs with a side effect (remote start, key create, reservation,
activation, order, assign, user create) are never blindly resent; stopping a session (harmless
twice, says the spec) and the POSTs that only read (session history, receipt URL, geosearch)
are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import quote

from pydantic import TypeAdapter

from backbone.partners.errors import PartnerError
from backbone.partners.http import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    ApiKey,
    ApiKeyAuth,
    CallHook,
    PartnerHttpClient,
)
from backbone.partners.pagination import Page, paginate
from backbone.partners.retry import RetryPolicy
from backbone.partners.schemas import (
    DriveKeyOrder,
    EmpChargingKey,
    EmpOrder,
    GeosearchFilters,
    GeosearchResult,
    Location,
    OrderAddress,
    OrderPlaced,
    OrdersConfiguration,
    Receipt,
    Session,
    SessionStarted,
    SessionStatus,
    UserChargingKey,
)

KEYS_PAGE_SIZE_MIN, KEYS_PAGE_SIZE_MAX = 10, 500
EMP_PATH_UNDER_DRIVE = "/emp/v1"


def emp_base_under(drive_base_url: str) -> str:
    """The EMP base URL assumed when none is configured: the Drive base + `/emp/v1`. The EMP
    document gives paths (`/emp/v1/...`) but no host, the Drive document the host (`.../drive`);
    this joins them. An assumption, hence its own setting (template parameter `EmpApiBaseUrl`)."""
    return drive_base_url.rstrip("/") + EMP_PATH_UNDER_DRIVE


_KEYS = TypeAdapter(list[EmpChargingKey])
_ORDERS = TypeAdapter(list[EmpOrder])
_USER_KEYS = TypeAdapter(list[UserChargingKey])
_DRIVE_ORDERS = TypeAdapter(list[DriveKeyOrder])
_SESSIONS = TypeAdapter(list[Session])


class PlugsurfingClient:
    """Sync client; build once per process (see `backbone.partners.factory`) to reuse connections."""

    def __init__(
        self,
        base_url: str,
        api_key: ApiKey,
        *,
        emp_base_url: str | None = None,
        retry_policy: RetryPolicy | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        on_call: CallHook | None = None,
    ) -> None:
        common: dict[str, Any] = {
            "auth": ApiKeyAuth("x-api-key", api_key),
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
            "retry_policy": retry_policy,
            "on_call": on_call,
        }
        self.http = PartnerHttpClient(base_url, api="drive", **common)
        """The Drive API (`/v1/...` paths)."""
        self.emp_http = PartnerHttpClient(emp_base_url or emp_base_under(base_url), api="emp", **common)
        """The EMP API (`/charging-keys`, `/orders`, `/order/...`, `/sessions/...` paths)."""

    # --- EMP: charging keys -----------------------------------------------------------------------

    def list_charging_keys(
        self, fleet_id: str | None = None, page_size: int = 100
    ) -> Iterator[EmpChargingKey]:
        """Every charging key (of `fleet_id` if given), following the cursor across pages."""
        _check_keys_page_size(page_size)
        return paginate(
            lambda cursor: self.charging_keys_page(cursor, fleet_id=fleet_id, page_size=page_size)
        )

    def charging_keys_page(
        self, cursor: str | None = None, *, fleet_id: str | None = None, page_size: int = 100
    ) -> Page[EmpChargingKey]:
        """One page of charging keys, for callers that checkpoint the cursor."""
        _check_keys_page_size(page_size)
        params = {"fleetId": fleet_id, "cursor": cursor, "page_size": page_size}
        data = _object(self.emp_http.request("GET", "/charging-keys", params=params).data)
        return Page(items=_KEYS.validate_python(data.get("keys", [])), cursor=data.get("cursor"))

    def create_charging_key(
        self,
        key_identifier: str,
        visual_number: str,
        *,
        fleet_id: str | None = None,
        contract_id: str | None = None,
        enabled: bool | None = None,
    ) -> EmpChargingKey:
        """Create a key (`key_identifier` hex little-endian); a contract id is made if omitted.
        409 (`Conflict`) when the key is already activated."""
        body = _without_none(
            keyIdentifier=key_identifier,
            visualNumber=visual_number,
            fleetId=fleet_id,
            contractId=contract_id,
            enabled=enabled,
        )
        data = self.emp_http.request("POST", "/charging-keys", json=body).data
        return EmpChargingKey.model_validate(data)

    def enable_charging_key(self, key_identifier: str) -> EmpChargingKey:
        path = f"/charging-keys/{_segment(key_identifier)}/enable"
        return EmpChargingKey.model_validate(self.emp_http.request("PUT", path).data)

    def disable_charging_key(self, key_identifier: str) -> EmpChargingKey:
        """Plugsurfing rejects the key at once; CPOs caching whitelists may lag a little."""
        path = f"/charging-keys/{_segment(key_identifier)}/disable"
        return EmpChargingKey.model_validate(self.emp_http.request("PUT", path).data)

    # --- EMP: charging key orders -----------------------------------------------------------------

    def list_orders(
        self,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        status: str | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> Page[EmpOrder]:
        """ONE page of orders (`products`) and the cursor of the next, so a crawler can checkpoint."""
        if page_size is not None and page_size < 1:
            raise ValueError("page_size must be positive")
        params = {
            "fromDate": _iso(from_date),
            "toDate": _iso(to_date),
            "status": status,
            "pageSize": page_size,
            "cursor": cursor,
        }
        data = _object(self.emp_http.request("GET", "/orders", params=params).data)
        return Page(items=_ORDERS.validate_python(data.get("products", [])), cursor=data.get("cursor"))

    def iter_orders(
        self,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        status: str | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> Iterator[EmpOrder]:
        """Every order from `cursor` on (None: from the start)."""
        return paginate(
            lambda next_cursor: self.list_orders(from_date, to_date, status, page_size, next_cursor), cursor
        )

    def assign_order(self, order_id: str) -> EmpOrder:
        """Mark an order as assigned (note the singular `/order/` in the path, as specified)."""
        path = f"/order/{_segment(order_id)}/assign"
        return EmpOrder.model_validate(self.emp_http.request("POST", path).data)

    # --- EMP: sessions ----------------------------------------------------------------------------

    def emp_start_session(self, connector_id: str, key_identifier: str) -> SessionStarted:
        body = {"connectorId": connector_id, "keyIdentifier": key_identifier}
        data = self.emp_http.request("POST", "/sessions/start", json=body).data
        return SessionStarted.model_validate(data)

    def emp_stop_session(self, session_id: str) -> None:
        """Only remotely started sessions can be stopped remotely."""
        self.emp_http.request("POST", f"/sessions/{_segment(session_id)}/stop", idempotent=True)

    def emp_get_session_data(self, session_id: str) -> dict[str, Any]:
        """The session as received (the CDR of a session carries the partner's own values)."""
        return _object(self.emp_http.request("GET", f"/sessions/{_segment(session_id)}").data)

    # --- Drive: users and their charging keys -----------------------------------------------------

    def create_user(self, user_id: str, email: str | None = None) -> None:
        """Create a Drive user (201, no body); it comes with a virtual charging key."""
        self.http.request("POST", "/v1/users", json=_without_none(id=user_id, email=email))

    def list_user_charging_keys(self, user_id: str) -> list[UserChargingKey]:
        data = _object(self.http.request("GET", f"/v1/users/{_segment(user_id)}/charging-keys").data)
        return _USER_KEYS.validate_python(data.get("keys", []))

    def reserve_charging_key(
        self,
        uid_le: str,
        visual_number: str,
        valid_from: datetime | None = None,
        valid_to: datetime | None = None,
        type: Literal["TAG", "CARD"] | None = None,  # the partner's field name
    ) -> None:
        """Pre-register a physical key: chip `uid` (hex little-endian) paired with the number
        printed on it. Not usable until activated for a user."""
        body = _without_none(
            uid=uid_le,
            visualNumber=visual_number,
            validFrom=_iso(valid_from),
            validTo=_iso(valid_to),
            type=type,
        )
        self.http.request("POST", "/v1/charging-keys/reservations", json=body)

    def activate_charging_key(self, user_id: str, reference_id: str) -> UserChargingKey:
        """Link a reserved key (`reference_id` = its visual number) to a user; 409 if in use."""
        path = f"/v1/users/{_segment(user_id)}/charging-keys/{_segment(reference_id)}/activate"
        return UserChargingKey.model_validate(self.http.request("POST", path).data)

    def patch_user_charging_key(
        self, user_id: str, identifier: str, name: str | None = None, enabled: bool | None = None
    ) -> UserChargingKey:
        """Rename and/or disable/re-enable a key (`identifier`: keyId or contractId). Setting
        absolute values is idempotent, so this PATCH may be retried."""
        body = _without_none(name=name, enabled=enabled)
        if not body:
            raise ValueError("give a name or enabled to change")
        path = f"/v1/users/{_segment(user_id)}/charging-keys/{_segment(identifier)}"
        data = self.http.request("PATCH", path, json=body, idempotent=True).data
        return UserChargingKey.model_validate(data)

    # --- Drive: charging key orders ---------------------------------------------------------------

    def order_charging_key(
        self,
        user_id: str,
        address: OrderAddress | Mapping[str, Any],
        taxation_country: str,
        payment_option_id: str | None = None,
    ) -> OrderPlaced:
        """Order a physical key for a user. Never retried, not even on 429: here 429 is the
        partner's duplicate-order guard (one order per user per 5 minutes), not back-pressure."""
        if isinstance(address, OrderAddress):
            address = address.model_dump(exclude_none=True)
        body = _without_none(
            address=dict(address), taxationCountry=taxation_country, paymentOptionId=payment_option_id
        )
        path = f"/v1/users/{_segment(user_id)}/charging-keys/order"
        data = self.http.request("POST", path, json=body, retry_policy=RetryPolicy.no_retry()).data
        return OrderPlaced.model_validate(data)

    def list_charging_key_orders(self, user_id: str) -> list[DriveKeyOrder]:
        """A user's key orders; states the spec does not list come back as UNKNOWN."""
        data = self.http.request("GET", f"/v1/users/{_segment(user_id)}/charging-keys/orders").data
        return _DRIVE_ORDERS.validate_python(data)

    def get_order_receipt(self, user_id: str, order_id: str) -> Receipt:
        """URL of an order's receipt (POST that only reads, so retried); 404 if none."""
        path = f"/v1/users/{_segment(user_id)}/charging-keys/orders/{_segment(order_id)}/receipt"
        return Receipt.model_validate(self.http.request("POST", path, idempotent=True).data)

    def orders_configuration(self) -> OrdersConfiguration:
        """The price of ordering a charging key, per country set up for us; 404 when none is."""
        data = self.http.request("GET", "/v1/charging-keys/orders/configuration").data
        return OrdersConfiguration.model_validate(data)

    # --- Drive: sessions --------------------------------------------------------------------------

    def start_session(self, user_id: str, connector_id: str) -> SessionStarted:
        """Remote start. Always answers a session id, even for a failed start: store it."""
        path = f"/v1/users/{_segment(user_id)}/sessions/start"
        data = self.http.request("POST", path, json={"connectorId": connector_id}).data
        return SessionStarted.model_validate(data)

    def get_session(self, user_id: str, session_id: str) -> Session:
        return Session.model_validate(self.get_session_data(user_id, session_id))

    def get_session_data(self, user_id: str, session_id: str) -> dict[str, Any]:
        """The session as received (the CDR of a session carries the partner's own values)."""
        path = f"/v1/users/{_segment(user_id)}/sessions/{_segment(session_id)}"
        return _object(self.http.request("GET", path).data)

    def stop_session(self, user_id: str, session_id: str) -> None:
        """Remote stop; stopping a stopped session is harmless (spec), so it is retried."""
        path = f"/v1/users/{_segment(user_id)}/sessions/{_segment(session_id)}/stop"
        self.http.request("POST", path, idempotent=True)

    def session_history(
        self, user_id: str, statuses: Iterable[SessionStatus | str] | None = None, limit: int = 50
    ) -> list[Session]:
        """A user's sessions, optionally only those in `statuses`."""
        return _SESSIONS.validate_python(self.session_history_data(user_id, statuses, limit))

    def session_history_data(
        self, user_id: str, statuses: Iterable[SessionStatus | str] | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """`session_history` as received: each session a JSON object (anything else is left out)."""
        if limit < 1:
            raise ValueError("limit must be positive")
        body: dict[str, Any] = {"limit": limit}
        if statuses is not None:
            body["sessionStatus"] = [str(status) for status in statuses]
        path = f"/v1/users/{_segment(user_id)}/sessions/history"
        data = _object(self.http.request("POST", path, json=body, idempotent=True).data)
        sessions = data.get("sessions")
        return [item for item in sessions if isinstance(item, dict)] if isinstance(sessions, list) else []

    # --- Geosearch (Drive `/v1/...`; the same paths under the EMP base, seed 001) --------------

    def geosearch_radius(
        self,
        latitude: float,
        longitude: float,
        distance_m: int,
        filters: GeosearchFilters | None = None,
        *,
        aggregate: bool = False,
        emp: bool = False,
    ) -> GeosearchResult:
        """Locations within `distance_m` metres of a point (a POST that only reads: retried).
        `emp=True` asks the EMP API (`{emp base}/geosearch/radius`) instead of Drive's."""
        http, path = (self.emp_http, "/geosearch/radius") if emp else (self.http, "/v1/geosearch/radius")
        params: dict[str, str | int | None] = {
            "latitude": repr(latitude),
            "longitude": repr(longitude),
            "distance": distance_m,
            "aggregate": "true" if aggregate else "false",
        }
        body = {"filters": filters.model_dump(exclude_none=True)} if filters else {}
        data = _object(http.request("POST", path, params=params, json=body, idempotent=True).data)
        return GeosearchResult.model_validate(data)

    def get_location(self, location_id: str, *, emp: bool = False) -> Location:
        """One location by id ("Get location by id", seed 001; the path `/locations/{id}` is
        our assumption, the seeds name the operation only). 404 (`NotFound`) when unknown."""
        http, prefix = (self.emp_http, "") if emp else (self.http, "/v1")
        data = http.request("GET", f"{prefix}/locations/{_segment(location_id)}").data
        return Location.model_validate(data)

    # --- lifecycle --------------------------------------------------------------------------------

    def close(self) -> None:
        self.http.close()
        self.emp_http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def _check_keys_page_size(page_size: int) -> None:
    if not KEYS_PAGE_SIZE_MIN <= page_size <= KEYS_PAGE_SIZE_MAX:
        raise ValueError(f"page_size must be {KEYS_PAGE_SIZE_MIN} to {KEYS_PAGE_SIZE_MAX}, got {page_size}")


def _segment(value: str) -> str:
    """One path segment, percent-encoded: ids such as connector ids may contain `/`."""
    if not value:
        raise ValueError("path parameters must not be empty")
    return quote(value, safe="")


def _iso(moment: datetime | None) -> str | None:
    """ISO-8601 in UTC with a `Z`, as the partner writes dates; naive datetimes are taken as UTC."""
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _object(data: Any) -> dict[str, Any]:
    """The body as a JSON object; anything else is a partner fault worth a clear error."""
    if not isinstance(data, dict):
        raise PartnerError(f"expected a JSON object from the partner, got {type(data).__name__}", body=data)
    return data


def _without_none(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}
