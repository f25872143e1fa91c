"""A first deployment into a fresh AWS account (issue 20): the template deploys within a new
account's limits, never guesses its stage, starts quiet, keeps what cannot be recreated and
makes its alarms reach someone.

Parameters and Conditions are evaluated with the local stack's template loader (the same code
`make run` uses); the Rules section with a small evaluator of the rule functions it uses, since
neither cfn-lint nor `sam validate` evaluates rules against parameter values.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from devstack.template import Template, load_yaml

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO / "template.yaml"
DOCUMENT = load_yaml(TEMPLATE_PATH)
SAMCONFIG = tomllib.loads((REPO / "samconfig.toml").read_text(encoding="utf-8"))
DEPLOY_STAGES = ("dev", "staging", "production")
SCHEDULED = {
    "KeyReconcileFunction": "Scheduled",
    "OrderCrawlFunction": "Crawl",
    "DriveOrderFunction": "TrackOrders",
    "CdrReconcileFunction": "Hourly",
    "WhitelistPushFunction": "Scheduled",
    "PartnerHealthFunction": "Every15Minutes",
    "PrivacyPurgeFunction": "Daily",
    "BillingExportFunction": "Daily",
}
NOT_REGENERABLE_SECRETS = ("PlugsurfingApiKeySecret", "OioiApiKeySecret", "OioiPartnerIdentifierSecret")


def template(**parameters: str) -> Template:
    return Template(TEMPLATE_PATH, parameters)


def samconfig_parameters(environment: str) -> dict[str, str]:
    """`parameter_overrides` of a samconfig environment, as `sam deploy --config-env` passes them."""
    overrides = SAMCONFIG[environment]["deploy"]["parameters"]["parameter_overrides"]
    items = overrides if isinstance(overrides, list) else str(overrides).split()
    return dict(str(item).split("=", 1) for item in items)


# -- rules: CloudFormation evaluates them before creating anything --------------------------------


def _rule_value(node: Any, parameters: dict[str, str]) -> Any:
    if isinstance(node, dict):
        ((function, argument),) = node.items()
        if function == "Ref":
            return parameters[argument]
        values = [_rule_value(item, parameters) for item in argument]
        if function == "Fn::Equals":
            return values[0] == values[1]
        if function == "Fn::Not":
            return not values[0]
        if function == "Fn::Or":
            return any(values)
        if function == "Fn::And":
            return all(values)
        if function == "Fn::Contains":
            return values[1] in values[0]
        raise AssertionError(f"rule function {function} not understood by this test")
    return node


def failed_rules(stack_name: str, overrides: dict[str, str]) -> list[str]:
    """The AssertDescription of every rule assertion that fails for this stack and parameters."""
    parameters = {
        name: str(spec.get("Default", ""))
        for name, spec in DOCUMENT["Parameters"].items()
        if "Default" in spec
    }
    parameters |= overrides | {"AWS::StackName": stack_name}
    failures: list[str] = []
    for rule in DOCUMENT["Rules"].values():
        if "RuleCondition" in rule and not _rule_value(rule["RuleCondition"], parameters):
            continue
        for assertion in rule["Assertions"]:
            if not _rule_value(assertion["Assert"], parameters):
                failures.append(str(assertion["AssertDescription"]))
    return failures


def test_given_the_template_then_stage_has_no_default_and_a_deployment_without_one_is_refused() -> None:
    assert "Default" not in DOCUMENT["Parameters"]["Stage"]
    with pytest.raises(Exception, match="Stage has no Default"):
        Template(TEMPLATE_PATH, {})


@pytest.mark.parametrize("stage", DEPLOY_STAGES)
def test_given_a_samconfig_environment_per_stage_then_its_stack_name_and_stage_pass_the_rules(
    stage: str,
) -> None:
    parameters = samconfig_parameters(stage)
    stack_name = SAMCONFIG[stage]["global"]["parameters"]["stack_name"]

    assert parameters["Stage"] == stage
    assert failed_rules(stack_name, parameters | {"AlarmEmail": "oncall@example.com"}) == []


def test_given_the_production_stack_when_deployed_with_another_stage_then_the_rules_refuse_it() -> None:
    # The first production create: samconfig's list replaced by --parameter-overrides.
    failures = failed_rules(
        "plugsurfing-backbone-production", {"Stage": "dev", "AlarmEmail": "a@example.com"}
    )

    assert failures == [
        "Stage=dev deploys only as stack plugsurfing-backbone-dev (sam deploy --config-env dev)"
    ]


@pytest.mark.parametrize("stage", DEPLOY_STAGES)
def test_given_a_stage_named_for_another_stack_then_the_rules_refuse_it(stage: str) -> None:
    for other in DEPLOY_STAGES:
        failures = failed_rules(
            f"plugsurfing-backbone-{other}", {"Stage": stage, "AlarmEmail": "a@example.com"}
        )
        assert bool(failures) == (other != stage), (stage, other, failures)


def test_given_the_local_stage_when_deployed_to_aws_then_the_rules_refuse_it() -> None:
    assert failed_rules("plugsurfing-backbone-dev", {"Stage": "local", "AlarmEmail": "a@example.com"})


@pytest.mark.parametrize("stage", DEPLOY_STAGES)
def test_given_no_alarm_topic_and_no_address_when_deployed_then_the_rules_refuse_it(stage: str) -> None:
    failures = failed_rules(f"plugsurfing-backbone-{stage}", {"Stage": stage})

    assert len(failures) == 1
    assert "Alarms must reach someone" in failures[0]
    assert not failed_rules(
        f"plugsurfing-backbone-{stage}",
        {"Stage": stage, "AlarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:ops"},
    )


# -- a new account's concurrency quota -------------------------------------------------------------


def test_given_default_parameters_then_no_function_reserves_concurrency() -> None:
    # A new account's quota is 10 and Lambda keeps 10 unreserved: any reservation fails the stack.
    staged = template(Stage="staging")

    reserved = {
        function: staged.properties(function)["ReservedConcurrentExecutions"]
        for function in staged.of_type("AWS::Serverless::Function")
        if "ReservedConcurrentExecutions" in staged.properties(function)
    }

    assert reserved == {}


def test_given_the_opt_in_then_the_whitelist_push_reserves_one_execution() -> None:
    staged = template(Stage="production", WhitelistReservedConcurrency="true")

    assert staged.properties("WhitelistPushFunction")["ReservedConcurrentExecutions"] == 1


# -- starts quiet ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", DEPLOY_STAGES)
def test_given_a_fresh_stack_then_every_schedule_is_disabled_and_the_staleness_alarm_pages_nobody(
    stage: str,
) -> None:
    fresh = template(Stage=stage)

    states = {
        f"{function}/{event}": fresh.properties(function)["Events"][event]["Properties"]["State"]
        for function, event in SCHEDULED.items()
    }
    probe = fresh.properties("WhitelistAgeProbeRule")["State"]

    assert set(states.values()) == {"DISABLED"}, states
    assert probe == "DISABLED"
    assert fresh.properties("WhitelistStaleAlarm")["ActionsEnabled"] is False
    assert fresh.properties("PartnerSilenceAlarm")["ActionsEnabled"] is False


def test_given_schedules_turned_on_then_every_schedule_runs_and_the_staleness_alarm_pages() -> None:
    enabled = template(Stage="production", SchedulesEnabled="true")

    states = {enabled.properties(f)["Events"][e]["Properties"]["State"] for f, e in SCHEDULED.items()}

    assert states == {"ENABLED"}
    assert enabled.properties("WhitelistAgeProbeRule")["State"] == "ENABLED"
    assert enabled.properties("WhitelistStaleAlarm")["ActionsEnabled"] is True
    assert enabled.properties("PartnerSilenceAlarm")["ActionsEnabled"] is True


def test_given_the_local_stage_then_schedules_run_without_the_parameter() -> None:
    local = template(Stage="local")

    assert {local.properties(f)["Events"][e]["Properties"]["State"] for f, e in SCHEDULED.items()} == {
        "ENABLED"
    }


def test_given_every_schedule_of_the_template_then_each_is_behind_the_parameter() -> None:
    # A schedule added later is held to the same rule without being listed above.
    found = {
        f"{name}/{event_name}"
        for name, resource in DOCUMENT["Resources"].items()
        for event_name, event in (resource.get("Properties", {}).get("Events") or {}).items()
        if event.get("Type") in ("Schedule", "ScheduleV2")
    }

    assert found == {f"{function}/{event}" for function, event in SCHEDULED.items()}


# -- survives its own deletion ---------------------------------------------------------------------


@pytest.mark.parametrize("secret", NOT_REGENERABLE_SECRETS)
def test_given_a_secret_that_cannot_be_regenerated_then_it_outlives_the_stack(secret: str) -> None:
    resource = DOCUMENT["Resources"][secret]

    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"


def test_given_the_order_crawl_then_its_start_date_is_a_parameter_defaulting_to_the_first_crawl() -> None:
    spec = DOCUMENT["Parameters"]["OrderCrawlStartDate"]
    staged = template(Stage="staging", OrderCrawlStartDate="2026-12-01")

    assert spec["Default"] == ""
    assert (
        staged.properties("OrderCrawlFunction")["Environment"]["Variables"]["ORDER_CRAWL_START"]
        == "2026-12-01"
    )
