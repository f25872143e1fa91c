"""The pure retention rules (docs/privacy.md, "Retention")."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from backbone.privacy.retention import (
    RetentionPolicy,
    accounting_expiry,
    blanked_address,
    cdr_identity_cutoff,
    days_between,
    expires_after,
    ttl_attribute,
)


def test_given_a_time_and_days_then_the_ttl_is_that_many_days_later_in_epoch_seconds() -> None:
    at = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    assert expires_after(at, 90) == int(datetime(2026, 4, 1, 12, 0, tzinfo=UTC).timestamp())
    assert ttl_attribute(5) == {"expiresAt": 5}


def test_given_a_naive_time_then_no_ttl_is_computed() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        expires_after(datetime(2026, 1, 1), 90)


@pytest.mark.parametrize(
    ("received", "expires"),
    [
        (datetime(2026, 1, 1, 0, 0, tzinfo=UTC), datetime(2037, 1, 1, tzinfo=UTC)),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), datetime(2037, 1, 1, tzinfo=UTC)),
        # 00:30 on 1 January in Berlin is still 2026 in UTC: the UTC year counts.
        (datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), datetime(2037, 1, 1, tzinfo=UTC)),
    ],
)
def test_given_a_cdr_then_it_is_kept_for_full_years_after_the_year_it_was_received(
    received: datetime, expires: datetime
) -> None:
    assert accounting_expiry(received, 10) == int(expires.timestamp())


def test_given_today_then_the_cdr_identity_cutoff_is_the_billing_day_that_many_days_ago() -> None:
    assert cdr_identity_cutoff(date(2026, 4, 1), 90) == date(2026, 1, 1)


def test_given_an_order_address_then_only_the_country_is_kept() -> None:
    address = {
        "firstName": "Erika",
        "lastName": "Mustermann",
        "addressLine1": "Hauptstr. 1",
        "postalCode": "10115",
        "city": "Berlin",
        "country": "DE",
    }

    assert blanked_address(address) == {"country": "DE"}
    assert blanked_address({"country": "DE"}) == {"country": "DE"}


def test_given_two_days_then_days_between_lists_them_inclusive_and_none_when_reversed() -> None:
    assert days_between(date(2026, 1, 30), date(2026, 2, 1)) == [
        date(2026, 1, 30),
        date(2026, 1, 31),
        date(2026, 2, 1),
    ]
    assert days_between(date(2026, 2, 2), date(2026, 2, 1)) == []


def test_given_a_period_below_one_then_the_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="cdr_identity_days"):
        RetentionPolicy(cdr_identity_days=0)
