"""The key-order ports on Plugsurfing: EMP orders (list, find, assign) and Drive key orders (order,
list, receipt), over the client `backbone.partners.factory` builds. The client's errors become
the orders' own here (`PartnerRefused`, `PartnerThrottled`, `PartnerCallFailed`), so the logic
never sees HTTP."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from backbone.orders.errors import PartnerCallFailed, PartnerRefused, PartnerThrottled
from backbone.partners.errors import BadRequest, Conflict, NotFound, PartnerError, TooManyRequests
from backbone.partners.pagination import Page, iter_pages
from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.partners.schemas import DriveKeyOrder, EmpOrder, OrderAddress, OrderPlaced, OrdersConfiguration

FINAL: tuple[type[PartnerError], ...] = (BadRequest, NotFound)
"""Answers a retry of the same request cannot change."""
FINAL_ASSIGN: tuple[type[PartnerError], ...] = (*FINAL, Conflict)
"""An assign refused with 409 (the order is not assignable) is final as well."""


@contextmanager
def _translated(refusals: tuple[type[PartnerError], ...] = FINAL) -> Iterator[None]:
    try:
        yield
    except PartnerError as error:
        kind = (
            PartnerThrottled
            if isinstance(error, TooManyRequests)
            else PartnerRefused
            if isinstance(error, refusals)
            else PartnerCallFailed
        )
        raise kind(
            str(error), status=error.status, detail=error.detail, retry_after=error.retry_after
        ) from error


class EmpOrders:
    """`OrderFeed` on the EMP API (`/emp/v1/orders`, `/emp/v1/order/{id}/assign`)."""

    def __init__(self, client: PlugsurfingClient) -> None:
        self.client = client

    def list_orders(
        self,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> Page[EmpOrder]:
        with _translated():
            return self.client.list_orders(
                from_date=from_date, to_date=to_date, page_size=page_size, cursor=cursor
            )

    def find_order(self, order_id: str, created_at: datetime, window: timedelta) -> EmpOrder | None:
        def fetch(cursor: str | None) -> Page[EmpOrder]:
            return self.client.list_orders(
                from_date=created_at - window, to_date=created_at + window, cursor=cursor
            )

        with _translated():  # a repeated cursor too: the partner cannot be read right now
            for page in iter_pages(fetch):
                for candidate in page.items:
                    if candidate.id == order_id:
                        return candidate
        return None

    def assign_order(self, order_id: str) -> EmpOrder:
        with _translated(FINAL_ASSIGN):
            return self.client.assign_order(order_id)


class DriveOrders:
    """`DriveOrdering` on the Drive API (`/v1/users/{u}/charging-keys/orders...`)."""

    def __init__(self, client: PlugsurfingClient) -> None:
        self.client = client

    def order_charging_key(
        self,
        user_id: str,
        address: OrderAddress | Mapping[str, Any],
        taxation_country: str,
        payment_option_id: str | None = None,
    ) -> OrderPlaced:
        with _translated():
            return self.client.order_charging_key(user_id, address, taxation_country, payment_option_id)

    def list_charging_key_orders(self, user_id: str) -> list[DriveKeyOrder]:
        with _translated():
            return self.client.list_charging_key_orders(user_id)

    def receipt_url(self, user_id: str, order_id: str) -> str:
        with _translated():
            return self.client.get_order_receipt(user_id, order_id).url

    def orders_configuration(self) -> OrdersConfiguration:
        with _translated():
            return self.client.orders_configuration()
