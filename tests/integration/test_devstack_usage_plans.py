"""The local gateway's API keys and usage plans (devstack.api.UsagePlans) against moto's API
Gateway, as `bbctl partners` leaves them: which requests pass, which are refused, and the
per-key throttle."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from devstack.api import UsagePlans
from devstack.apigw import GatewayError, RestApi

API = RestApi(logical_id="OioiApi", api_id="oioi000000", stage_name="dev", api_key_source="AUTHORIZER")


@pytest.fixture
def apigateway(aws: boto3.Session) -> Any:
    return aws.client("apigateway")


def plan(apigateway: Any, *, burst: int, rate: int = 0, stage: str = "dev") -> str:
    created = apigateway.create_usage_plan(
        name=f"plan-{stage}-{burst}",
        apiStages=[{"apiId": API.api_id, "stage": stage}],
        throttle={"rateLimit": rate, "burstLimit": burst},
    )
    return str(created["id"])


def key_in(apigateway: Any, plan_id: str, value: str, *, enabled: bool = True) -> str:
    key = apigateway.create_api_key(name=f"key-{value[:6]}", value=value, enabled=enabled)
    apigateway.create_usage_plan_key(usagePlanId=plan_id, keyId=key["id"], keyType="API_KEY")
    return str(key["id"])


def outcome(refusal: GatewayError | None) -> str:
    return "pass" if refusal is None else refusal.response_type


def test_given_keys_of_a_plan_then_each_has_its_own_burst_and_is_throttled_alone(apigateway: Any) -> None:
    plans = UsagePlans(apigateway)
    plan_id = plan(apigateway, burst=2)
    key_in(apigateway, plan_id, "a" * 64)
    key_in(apigateway, plan_id, "b" * 64)

    flood = [outcome(plans.admit(API, "a" * 64)) for _ in range(3)]

    assert flood == ["pass", "pass", "THROTTLED"]
    assert outcome(plans.admit(API, "b" * 64)) == "pass"  # another key's bucket is untouched


def test_given_the_plan_limits_change_then_the_new_limits_apply(apigateway: Any) -> None:
    plans = UsagePlans(apigateway)
    plan_id = plan(apigateway, burst=1)
    key_in(apigateway, plan_id, "a" * 64)
    assert [outcome(plans.admit(API, "a" * 64)) for _ in range(2)] == ["pass", "THROTTLED"]

    apigateway.update_usage_plan(
        usagePlanId=plan_id, patchOperations=[{"op": "replace", "path": "/throttle/burstLimit", "value": "3"}]
    )

    assert [outcome(plans.admit(API, "a" * 64)) for _ in range(4)] == ["pass", "pass", "pass", "THROTTLED"]


@pytest.mark.parametrize(
    ("usage_key", "why"),
    [
        (None, "the authorizer named no key"),
        ("u" * 64, "no API key has this value"),
        ("d" * 64, "the key is disabled"),
        ("o" * 64, "the key's plan is for another stage"),
        ("l" * 64, "the key is in no plan"),
    ],
)
def test_given_no_enabled_key_of_a_plan_of_this_stage_then_invalid_api_key(
    apigateway: Any, usage_key: str | None, why: str
) -> None:
    plans = UsagePlans(apigateway)
    this_stage, other_stage = plan(apigateway, burst=5), plan(apigateway, burst=5, stage="prod")
    key_in(apigateway, this_stage, "d" * 64, enabled=False)
    key_in(apigateway, other_stage, "o" * 64)
    apigateway.create_api_key(name="loose", value="l" * 64, enabled=True)

    assert outcome(plans.admit(API, usage_key)) == "INVALID_API_KEY", why
