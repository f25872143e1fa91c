"""The charging rule (backbone/keys/rule.py) in isolation: what rfid-verify answers, and that the
item the table stores carries the whitelist attribute exactly when the rule's time-independent
part holds (the integration property test checks the same through moto and the receiver)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backbone.keys.models import WHITELIST_PARTITION, ChargingKey, KeyState
from backbone.keys.rule import authorisation, may_charge
from backbone.oioi.codes import ResultCode

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OFFSETS = st.sampled_from([None, timedelta(days=-2), timedelta(0), timedelta(days=2)])


def key(**fields: object) -> ChargingKey:
    values: dict[str, object] = {
        "uid": "04523022AA4881",
        "keyIdentifier": "8148aa22305204",
        "visualNumber": "V",
    }
    return ChargingKey.model_validate(values | fields)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"enabled": True, "state": KeyState.ACTIVE}, ResultCode.SUCCESS),
        (
            {"enabled": True, "state": KeyState.ACTIVE, "hasPaymentMethod": False},
            ResultCode.EVCO_ID_NO_PAYMENT_METHOD,
        ),
        ({"enabled": False, "state": KeyState.LOST, "hasPaymentMethod": False}, ResultCode.EVCO_ID_LOCKED),
        (
            {"enabled": True, "state": KeyState.ACTIVE, "validTo": NOW - timedelta(seconds=1)},
            ResultCode.EVCO_ID_LOCKED,
        ),
        ({"enabled": True, "state": KeyState.ACTIVE, "validFrom": NOW}, ResultCode.SUCCESS),
    ],
)
def test_given_a_key_when_verified_then_the_rule_answers_the_spec_code(
    fields: dict[str, object], code: ResultCode
) -> None:
    assert authorisation(key(**fields), NOW) is code


@given(
    enabled=st.booleans(),
    state=st.sampled_from(list(KeyState)),
    paying=st.booleans(),
    valid_from=OFFSETS,
    valid_to=OFFSETS,
)
def test_given_any_key_then_it_may_charge_exactly_when_its_item_is_indexed_and_now_is_in_its_window(
    enabled: bool, state: KeyState, paying: bool, valid_from: timedelta | None, valid_to: timedelta | None
) -> None:
    charging_key = key(
        enabled=enabled,
        state=state,
        hasPaymentMethod=paying,
        validFrom=None if valid_from is None else NOW + valid_from,
        validTo=None if valid_to is None else NOW + valid_to,
    )
    indexed = charging_key.to_item().get("whitelist") == WHITELIST_PARTITION

    assert may_charge(charging_key, NOW) == (indexed and charging_key.valid_at(NOW))
