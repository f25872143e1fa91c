"""What the warehouse gets: one CSV row per assigned order, with the address and the visual
numbers of the keys to send."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from orderfakes import START

from backbone.orders.models import KeyOrder, KeyOrderState, KeyToShip
from backbone.partners.schemas import EmpOrder
from bbctl.ops_orders import FULFILMENT_COLUMNS, fulfilment_csv, order_view

ADDRESS = {
    "country": "Austria",
    "firstName": "Frans",
    "lastName": "Anderson",
    "address": "First Way 261b",
    "city": "Wistful Vista",
    "postalCode": "85960",
    "companyName": "Low area Corp.",
    "addressLine2": "Suite 9",
}


def assigned(order_id: str, at_minutes: int, *visuals: str) -> KeyOrder:
    moment = START + timedelta(minutes=at_minutes)
    return KeyOrder(
        order_id=order_id,
        organization_id="org-1",
        quantity=len(visuals),
        address=ADDRESS,
        created_at=START,
        received_at=START,
        updated_at=moment,
        state=KeyOrderState.ASSIGNED,
        fleet_id="fleet-1",
        keys=[KeyToShip(uid=f"04AA{index:010X}", visual_number=v) for index, v in enumerate(visuals)],
        assigned_at=moment,
    )


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_given_assigned_orders_when_exported_then_one_row_each_with_address_and_visual_numbers() -> None:
    text = fulfilment_csv([assigned("o-2", 5, "VN-3"), assigned("o-1", 1, "VN-1", "VN-2")])

    exported = rows(text)
    assert text.splitlines()[0] == ",".join(FULFILMENT_COLUMNS)
    assert [row["order_id"] for row in exported] == ["o-1", "o-2"], "oldest assignment first"
    assert exported[0]["visual_numbers"] == "VN-1;VN-2"
    assert exported[0]["quantity"] == "2"
    assert exported[0]["address"] == "First Way 261b"
    assert exported[0]["address_line2"] == "Suite 9"
    assert exported[0]["postal_code"] == "85960"
    assert exported[0]["company_name"] == "Low area Corp."


def test_given_since_when_exported_then_only_orders_assigned_from_then_on() -> None:
    text = fulfilment_csv(
        [assigned("early", 1, "VN-1"), assigned("late", 30, "VN-2")], since=START + timedelta(minutes=10)
    )

    assert [row["order_id"] for row in rows(text)] == ["late"]


def test_given_an_order_not_yet_assigned_when_exported_then_left_out() -> None:
    pending = assigned("o-1", 1, "VN-1").model_copy(
        update={"assigned_at": None, "state": KeyOrderState.KEYS_CLAIMED}
    )

    assert rows(fulfilment_csv([pending])) == []


def test_given_the_spec_example_order_when_first_seen_then_fields_kept_and_assigned_ones_skipped() -> None:
    example = EmpOrder.model_validate(
        {
            "id": "aYnky297eG",
            "address": ADDRESS | {"additionalInformation": "test test"},
            "quantity": 1,
            "product": {"id": "Am07b6Q7JZ"},
            "created": "2023-06-26T10:00:00Z",
            "organizationId": "JoEl1xoP7r",
            "status": "ORDER_ASSIGNED",
            "updated": "2023-06-26T12:00:00Z",
        }
    )

    order = KeyOrder.from_partner(example, START)
    paid = KeyOrder.from_partner(example.model_copy(update={"status": "ORDER_PAID", "quantity": None}), START)

    assert order.state is KeyOrderState.SKIPPED
    assert order.product_id == "Am07b6Q7JZ"
    assert order.address["additionalInformation"] == "test test"
    assert order_view(order)["createdAt"] == "2023-06-26T10:00:00.000Z"
    assert KeyOrder.from_item(order.to_item()) == order, "stored and read back unchanged"
    assert paid.state is KeyOrderState.RECEIVED
    assert paid.quantity == 1, "no quantity means one key"
