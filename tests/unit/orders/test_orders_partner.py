"""Plugsurfing's answers as the order logic sees them: final refusals, throttling, and failures
whose outcome is unknown (translated in `orders.partner`, so the logic never handles HTTP)."""

from __future__ import annotations

from typing import Any

import pytest

from backbone.orders.errors import PartnerCallFailed, PartnerRefused, PartnerThrottled
from backbone.orders.partner import DriveOrders, EmpOrders
from backbone.partners import errors as partner

ADDRESS = {"addressLine1": "Road 1", "postalCode": "11122", "city": "Berlin", "country": "Germany"}


class Failing:
    """A Plugsurfing client whose every call raises `error`."""

    def __init__(self, error: partner.PartnerError) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            raise self.error

        return call


def failure(kind: type[partner.PartnerError], status: int | None, retry_after: float | None = None) -> Any:
    return kind(f"POST /x answered {status}", status=status, body={"message": "no"}, retry_after=retry_after)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (failure(partner.BadRequest, 400), PartnerRefused),
        (failure(partner.NotFound, 404), PartnerRefused),
        (failure(partner.TooManyRequests, 429, 120.0), PartnerThrottled),
        (failure(partner.Conflict, 409), PartnerCallFailed),
        (failure(partner.ServerError, 503), PartnerCallFailed),
    ],
)
def test_given_a_drive_order_answer_then_the_logic_sees_its_meaning(
    error: partner.PartnerError, expected: type[PartnerCallFailed]
) -> None:
    with pytest.raises(PartnerCallFailed) as raised:
        DriveOrders(Failing(error)).order_charging_key("user-1", ADDRESS, "DE")  # type: ignore[arg-type]

    assert type(raised.value) is expected
    assert raised.value.status == error.status
    assert raised.value.retry_after == error.retry_after
    assert raised.value.detail == "no"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (failure(partner.Conflict, 409), PartnerRefused),
        (failure(partner.NotFound, 404), PartnerRefused),
        (failure(partner.ServerError, 500), PartnerCallFailed),
        (partner.PartnerUnavailable("timed out", last_error=TimeoutError("read")), PartnerCallFailed),
    ],
)
def test_given_an_assign_answer_then_a_409_is_final_and_a_failure_may_have_happened(
    error: partner.PartnerError, expected: type[PartnerCallFailed]
) -> None:
    with pytest.raises(PartnerCallFailed) as raised:
        EmpOrders(Failing(error)).assign_order("emp-1")  # type: ignore[arg-type]

    assert type(raised.value) is expected
