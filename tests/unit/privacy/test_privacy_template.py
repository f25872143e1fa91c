"""template.yaml keeps personal data only as long as docs/privacy.md says: logs at most 30 days
whatever the stage chooses, the retention periods are per-stage parameters that reach every
function, and the tables whose rule is a TTL have it on the attribute the writers set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode.cfn_yaml import load

from backbone.privacy.retention import (
    DEFAULT_ACCOUNTING_YEARS,
    DEFAULT_ACTIVITY_DAYS,
    DEFAULT_CDR_IDENTITY_DAYS,
    DEFAULT_ORDER_ADDRESS_DAYS,
    TTL_ATTRIBUTE,
)
from backbone.settings import RetentionSettings, settings_from

TEMPLATE: dict[str, Any] = json.loads(
    json.dumps(load(str(Path(__file__).resolve().parents[3] / "template.yaml")))
)
PARAMETERS = TEMPLATE["Parameters"]
RETENTION = {
    "ActivityRetentionDays": ("ACTIVITY_RETENTION_DAYS", DEFAULT_ACTIVITY_DAYS),
    "CdrIdentityRetentionDays": ("CDR_IDENTITY_RETENTION_DAYS", DEFAULT_CDR_IDENTITY_DAYS),
    "OrderAddressRetentionDays": ("ORDER_ADDRESS_RETENTION_DAYS", DEFAULT_ORDER_ADDRESS_DAYS),
    "AccountingRetentionYears": ("ACCOUNTING_RETENTION_YEARS", DEFAULT_ACCOUNTING_YEARS),
}


def test_given_any_stage_then_logs_are_kept_30_days_at_most() -> None:
    retention = PARAMETERS["LogRetentionDays"]

    assert retention["Default"] == 30
    assert max(retention["AllowedValues"]) <= 30


@pytest.mark.parametrize("parameter", sorted(RETENTION))
def test_given_a_retention_parameter_then_its_default_is_the_code_s_and_every_function_gets_it(
    parameter: str,
) -> None:
    variable, default = RETENTION[parameter]

    assert PARAMETERS[parameter]["Default"] == default
    assert TEMPLATE["Globals"]["Function"]["Environment"]["Variables"][variable] == {"Ref": parameter}


def test_given_the_stage_s_values_then_the_settings_turn_them_into_the_policy() -> None:
    environ = {"ACTIVITY_RETENTION_DAYS": "30", "ACCOUNTING_RETENTION_YEARS": "8"}

    policy = settings_from(RetentionSettings, environ).retention_policy()

    assert (policy.activity_days, policy.accounting_years, policy.cdr_identity_days) == (30, 8, 90)


@pytest.mark.parametrize("table", ["CdrTable", "SessionsTable", "WhitelistAuditTable"])
def test_given_a_table_whose_rule_is_a_ttl_then_ttl_is_on_the_attribute_the_writers_set(table: str) -> None:
    ttl = TEMPLATE["Resources"][table]["Properties"]["TimeToLiveSpecification"]

    assert ttl == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
