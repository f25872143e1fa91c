"""Partner health in template.yaml: the receiver may note activity, the scheduled check gets its
period, and PartnerSilenceAlarm watches exactly the metric the check sends."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cfnlint.decode.cfn_yaml import load

from backbone.partner_health.aws import ATTRIBUTE
from backbone.partner_health.settings import PartnerActivitySettings, PartnerHealthSettings

TEMPLATE: dict[str, Any] = json.loads(
    json.dumps(load(str(Path(__file__).resolve().parents[2] / "template.yaml")))
)
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]


def properties(name: str) -> dict[str, Any]:
    found: dict[str, Any] = RESOURCES[name]["Properties"]
    return found


def environment(function: str) -> dict[str, Any]:
    variables: dict[str, Any] = properties(function)["Environment"]["Variables"]
    return variables


def statements(function: str) -> list[dict[str, Any]]:
    return [statement for policy in properties(function)["Policies"] for statement in policy["Statement"]]


def grants(function: str, action: str, table: str) -> bool:
    return any(
        action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        and s["Resource"] == {"Fn::GetAtt": [table, "Arn"]}
        for s in statements(function)
    )


def test_given_the_silence_alarm_then_it_watches_the_count_the_scheduled_check_sends() -> None:
    alarm = properties("PartnerSilenceAlarm")
    namespace = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]

    assert alarm["Namespace"] == namespace
    assert alarm["MetricName"] == "SilentPartners"
    assert alarm["Dimensions"] == [
        {"Name": "service", "Value": environment("PartnerHealthFunction")["POWERTOOLS_SERVICE_NAME"]}
    ]
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Maximum",
        0,
        "GreaterThanThreshold",
    )
    # The check always sends the count: no datapoint for a whole period means it is not running.
    assert alarm["TreatMissingData"] == "breaching"


def test_given_the_schedule_then_each_alarm_period_holds_at_least_two_checks() -> None:
    schedule = properties("PartnerHealthFunction")["Events"]["Every15Minutes"]["Properties"]["Schedule"]
    minutes = int(re.fullmatch(r"rate\((\d+) minutes\)", schedule).group(1))  # type: ignore[union-attr]

    assert properties("PartnerSilenceAlarm")["Period"] >= 2 * minutes * 60


def test_given_the_silence_period_parameter_then_the_check_reads_it_and_the_default_is_a_day() -> None:
    parameter = TEMPLATE["Parameters"]["PartnerSilenceHours"]

    assert parameter["Default"] == 24
    assert environment("PartnerHealthFunction")["PARTNER_SILENCE_HOURS"] == {"Ref": "PartnerSilenceHours"}
    assert "partner_silence_hours" in PartnerHealthSettings.model_fields


def test_given_the_receiver_then_it_may_update_the_activity_table_and_nothing_more_there() -> None:
    assert environment("OioiReceiverFunction")["PARTNER_ACTIVITY_TABLE"] == {"Ref": "PartnerActivityTable"}
    assert "partner_activity_table" in PartnerActivitySettings.model_fields
    assert grants("OioiReceiverFunction", "dynamodb:UpdateItem", "PartnerActivityTable")
    assert not grants("OioiReceiverFunction", "dynamodb:Scan", "PartnerActivityTable")


def test_given_the_check_then_it_reads_the_activity_and_the_partner_keys() -> None:
    assert environment("PartnerHealthFunction")["PARTNER_ACTIVITY_TABLE"] == {"Ref": "PartnerActivityTable"}
    assert environment("PartnerHealthFunction")["PARTNERS_TABLE"] == {"Ref": "PartnersTable"}
    assert grants("PartnerHealthFunction", "dynamodb:Scan", "PartnerActivityTable")
    assert grants("PartnerHealthFunction", "dynamodb:Scan", "PartnersTable")


def test_given_the_activity_table_then_it_is_keyed_by_partner_and_holds_one_time_per_family() -> None:
    table = properties("PartnerActivityTable")

    assert table["KeySchema"] == [{"AttributeName": "partnerId", "KeyType": "HASH"}]
    assert len(set(ATTRIBUTE.values())) == 3


def test_given_the_dashboard_then_it_shows_every_partner_s_silence_and_the_silent_count() -> None:
    source = properties("OperationsDashboard")["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(re.sub(r"\$\{[^}]+\}", "1", source))["widgets"]
    metrics = [metric for widget in widgets for metric in widget["properties"]["metrics"]]

    searches = [
        m["expression"] for m in metrics if isinstance(m, dict) and "SEARCH" in m.get("expression", "")
    ]
    assert any(
        "{PlugsurfingBackbone,service,partner,family}" in s and "PartnerSilenceSeconds" in s for s in searches
    )
    assert [
        "PlugsurfingBackbone",
        "SilentPartners",
        "service",
        "partner-health",
        {"stat": "Maximum"},
    ] in metrics
