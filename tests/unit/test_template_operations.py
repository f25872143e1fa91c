"""template.yaml is production-ready by construction: these tests walk every resource of a kind,
so a function, queue, table or alarm added later is held to the same rules without a name
being listed here.

- every dead-letter queue (a RedrivePolicy target, an on-failure destination, a function DLQ)
  has an alarm on its depth;
- every source queue (one a function consumes: an SQS event or an event source mapping) has an
  alarm on the age of its oldest message, so a stopped or failing consumer pages before the
  backlog reaches the dead-letter queue or expires;
- every function has an Errors and a Throttles alarm, and a log group with retention;
- every alarm notifies the alarm topic (AlarmTopic, or the one AlarmTopicArn names), on ALARM
  and on OK, and that topic is encrypted with a key CloudWatch may use;
- every table is encrypted, has point-in-time recovery, deletion protection in production and
  is retained when removed from the stack;
- no policy statement grants `Resource: "*"`, except the few listed below with the reason;
- every function's policies are statements naming their actions and resources (no SAM policy
  template). Not in the template, so not checked here: the managed policies SAM attaches to each
  function role (logs, X-Ray, and the SQS/stream polling roles), listed in docs/deployment.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode.cfn_yaml import load

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"
TEMPLATE: dict[str, Any] = json.loads(json.dumps(load(str(TEMPLATE_PATH))))
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
TABLE_TYPES = ("AWS::DynamoDB::Table",)
ALARM_TOPIC = {"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}

# (resource, first action of the statement) -> why `Resource: "*"` is right there.
WILDCARD_RESOURCE_ALLOWED = {
    ("SessionPollerStateMachine", "logs:CreateLogDelivery"): (
        "Step Functions' log delivery actions have no resource-level permissions; AWS documents '*'"
    ),
    ("AlarmTopicKey", "kms:*"): "a key policy's '*' is the key itself; the account administers it via IAM",
    ("AlarmTopicKey", "kms:Decrypt"): "a key policy's '*' is the key itself (CloudWatch, this account only)",
}


def of_type(*types: str) -> dict[str, dict[str, Any]]:
    return {name: resource for name, resource in RESOURCES.items() if resource["Type"] in types}


def props(resource: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = resource.get("Properties", {})
    return properties


def logical_id(reference: Any) -> str | None:
    """The resource a `!Ref X`, `!GetAtt X.Attr` or `!Sub "${X}"` points at."""
    if isinstance(reference, dict):
        if "Ref" in reference:
            return str(reference["Ref"])
        if "Fn::GetAtt" in reference:
            target = reference["Fn::GetAtt"]
            return str(target[0] if isinstance(target, list) else target.split(".")[0])
        if "Fn::Sub" in reference and isinstance(reference["Fn::Sub"], str):
            text = reference["Fn::Sub"]
            if text.startswith("${") and text.endswith("}"):
                return text[2:-1].split(".")[0]
    return None


def alarm_metrics(alarm: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, str | None]]]:
    """(namespace, metric name, dimension name -> logical id) of a plain or metric-math alarm."""
    properties = props(alarm)
    if "MetricName" in properties:
        dims = {d["Name"]: logical_id(d["Value"]) for d in properties.get("Dimensions", [])}
        yield properties["Namespace"], properties["MetricName"], dims
    for query in properties.get("Metrics", []):
        metric = query.get("MetricStat", {}).get("Metric")
        if metric:
            dims = {d["Name"]: logical_id(d["Value"]) for d in metric.get("Dimensions", [])}
            yield metric["Namespace"], metric["MetricName"], dims


def watched(namespace: str, metric: str, dimension: str) -> set[str]:
    """Logical ids that some alarm watches `metric` of (through `dimension`)."""
    return {
        dims[dimension]
        for alarm in of_type("AWS::CloudWatch::Alarm").values()
        for ns, name, dims in alarm_metrics(alarm)
        if ns == namespace and name == metric and dims.get(dimension)
    }


def dead_letter_queues() -> dict[str, str]:
    """Queue logical id -> what sends dead letters to it."""
    found: dict[str, str] = {}
    for name, queue in of_type("AWS::SQS::Queue").items():
        target = logical_id(props(queue).get("RedrivePolicy", {}).get("deadLetterTargetArn"))
        if target:
            found[target] = f"RedrivePolicy of {name}"
    for name, function in of_type(*FUNCTION_TYPES).items():
        properties = props(function)
        if target := logical_id(properties.get("DeadLetterQueue", {}).get("TargetArn")):
            found[target] = f"DeadLetterQueue of {name}"
        for event_name, event in properties.get("Events", {}).items():
            on_failure = event.get("Properties", {}).get("DestinationConfig", {}).get("OnFailure", {})
            if target := logical_id(on_failure.get("Destination")):
                found[target] = f"OnFailure of {name}.{event_name}"
    return {queue: source for queue, source in found.items() if RESOURCES[queue]["Type"] == "AWS::SQS::Queue"}


def source_queues(resources: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Queue logical id -> the function consuming it (SQS events, event source mappings)."""
    found: dict[str, str] = {}
    for name, resource in resources.items():
        if resource["Type"] in FUNCTION_TYPES:
            for event_name, event in props(resource).get("Events", {}).items():
                queue = logical_id(event.get("Properties", {}).get("Queue"))
                if event.get("Type") == "SQS" and queue:
                    found[queue] = f"{name}.{event_name}"
        elif resource["Type"] == "AWS::Lambda::EventSourceMapping" and (
            queue := logical_id(props(resource).get("EventSourceArn"))
        ):
            found[queue] = name
    return {q: c for q, c in found.items() if resources.get(q, {}).get("Type") == "AWS::SQS::Queue"}


def queues_without_age_alarm(resources: dict[str, dict[str, Any]]) -> set[str]:
    aged = {
        dims.get("QueueName")
        for resource in resources.values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        for namespace, metric, dims in alarm_metrics(resource)
        if (namespace, metric) == ("AWS/SQS", "ApproximateAgeOfOldestMessage")
    }
    return set(source_queues(resources)) - aged


def policy_statements() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every policy statement anywhere in a resource (inline function and state machine policies,
    IAM resources, key, topic and queue policies), with the resource it belongs to."""

    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            statements = node.get("Statement")
            if isinstance(statements, list):
                yield from (s for s in statements if isinstance(s, dict))
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    for name, resource in RESOURCES.items():
        for statement in walk(resource.get("Properties", {})):
            yield name, statement


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- the template has what these rules talk about (so none of them passes vacuously) ---------


def test_given_the_template_then_it_has_functions_tables_dead_letter_queues_and_alarms() -> None:
    assert len(of_type(*FUNCTION_TYPES)) >= 10
    assert len(of_type(*TABLE_TYPES)) >= 5
    assert len(dead_letter_queues()) >= 3
    assert len(of_type("AWS::CloudWatch::Alarm")) >= 20


# --- alarms ----------------------------------------------------------------------------------


@pytest.mark.parametrize("queue", sorted(dead_letter_queues()))
def test_given_a_dead_letter_queue_then_an_alarm_watches_its_depth(queue: str) -> None:
    assert queue in watched("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName"), (
        f"{queue} ({dead_letter_queues()[queue]}) has no ApproximateNumberOfMessagesVisible alarm"
    )


def test_given_the_template_then_every_source_queue_has_a_backlog_age_alarm() -> None:
    queues = source_queues(RESOURCES)
    assert {"CdrQueue", "SessionStartQueue", "OrderQueue", "DriveOrderQueue"} <= set(queues)
    assert not queues_without_age_alarm(RESOURCES), {
        queue: queues[queue] for queue in queues_without_age_alarm(RESOURCES)
    }


def test_given_a_consumed_queue_without_an_age_alarm_then_the_rule_names_it() -> None:
    # The rule above must catch a queue added later: a new queue, mapped to a function by an
    # event source mapping (not a SAM event), with only a depth alarm.
    resources = {
        **RESOURCES,
        "AuditQueue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "AuditMapping": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "EventSourceArn": {"Fn::GetAtt": ["AuditQueue", "Arn"]},
                "FunctionName": {"Ref": "CdrIngestFunction"},
            },
        },
    }
    without_cdr_alarm = {name: r for name, r in RESOURCES.items() if name != "CdrBacklogAlarm"}

    assert queues_without_age_alarm(resources) == {"AuditQueue"}
    assert queues_without_age_alarm(without_cdr_alarm) == {"CdrQueue"}


@pytest.mark.parametrize("function", sorted(of_type(*FUNCTION_TYPES)))
@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_given_a_function_then_an_alarm_watches_its_errors_and_throttles(function: str, metric: str) -> None:
    assert function in watched("AWS/Lambda", metric, "FunctionName"), f"no {metric} alarm for {function}"


@pytest.mark.parametrize("alarm", sorted(of_type("AWS::CloudWatch::Alarm")))
def test_given_an_alarm_then_it_notifies_the_alarm_topic_on_alarm_and_on_ok(alarm: str) -> None:
    properties = props(RESOURCES[alarm])
    assert properties.get("AlarmActions") == [ALARM_TOPIC], f"{alarm}: AlarmActions"
    assert properties.get("OKActions") == [ALARM_TOPIC], f"{alarm}: OKActions"
    assert properties.get("AlarmDescription"), f"{alarm}: say what to look at"


def test_given_no_topic_passed_then_the_stack_creates_one_encrypted_with_a_key_cloudwatch_may_use() -> None:
    assert TEMPLATE["Parameters"]["AlarmTopicArn"]["Default"] == ""
    assert TEMPLATE["Conditions"]["CreateAlarmTopic"] == {"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}
    topic = RESOURCES["AlarmTopic"]
    assert topic["Condition"] == "CreateAlarmTopic"
    key = props(topic)["KmsMasterKeyId"]
    # The AWS managed key (alias/aws/sns) cannot be used by CloudWatch: alarms would never arrive.
    assert key == {"Ref": "AlarmTopicKey"}
    policy = props(RESOURCES["AlarmTopicKey"])["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in policy if s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"]
    assert cloudwatch
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(as_list(cloudwatch[0]["Action"]))
    assert props(RESOURCES["AlarmTopicKey"])["EnableKeyRotation"] is True


# --- logs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("function", sorted(of_type(*FUNCTION_TYPES)))
def test_given_a_function_then_its_log_group_is_declared_with_retention(function: str) -> None:
    expected = {"Fn::Sub": f"/aws/lambda/${{{function}}}"}
    groups = [g for g in of_type("AWS::Logs::LogGroup").values() if props(g).get("LogGroupName") == expected]
    assert groups, f"no AWS::Logs::LogGroup named /aws/lambda/${{{function}}}"
    assert props(groups[0]).get("RetentionInDays") == {"Ref": "LogRetentionDays"}


@pytest.mark.parametrize("group", sorted(of_type("AWS::Logs::LogGroup")))
def test_given_a_log_group_then_it_has_a_retention(group: str) -> None:
    assert props(RESOURCES[group]).get("RetentionInDays"), f"{group} keeps logs forever"


# --- data ------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", sorted(of_type(*TABLE_TYPES)))
def test_given_a_table_then_it_is_encrypted_recoverable_and_protected_in_production(table: str) -> None:
    resource = RESOURCES[table]
    properties = props(resource)
    assert properties.get("SSESpecification", {}).get("SSEEnabled") is True, f"{table}: SSE"
    pitr = properties.get("PointInTimeRecoverySpecification", {})
    assert pitr.get("PointInTimeRecoveryEnabled") is True, f"{table}: PITR"
    assert properties.get("DeletionProtectionEnabled") in (
        True,
        {"Fn::If": ["IsProduction", True, False]},
    ), f"{table}: deletion protection in production"
    assert (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")) == ("Retain", "Retain"), (
        f"{table}: a stack change must never delete its data"
    )


# --- IAM -------------------------------------------------------------------------------------


def test_given_any_policy_statement_then_it_grants_no_wildcard_resource_unless_justified() -> None:
    found = {
        (name, str(as_list(statement.get("Action"))[0]))
        for name, statement in policy_statements()
        if statement.get("Effect") == "Allow" and "*" in as_list(statement.get("Resource"))
    }
    unjustified = found - set(WILDCARD_RESOURCE_ALLOWED)
    assert not unjustified, f'Resource "*" needs a reason in WILDCARD_RESOURCE_ALLOWED: {sorted(unjustified)}'
    # The allow list only names statements that still exist.
    assert set(WILDCARD_RESOURCE_ALLOWED) <= found, sorted(set(WILDCARD_RESOURCE_ALLOWED) - found)


@pytest.mark.parametrize("function", sorted(of_type(*FUNCTION_TYPES)))
def test_given_a_function_then_its_policies_name_each_action_and_each_resource(function: str) -> None:
    # SAM's policy templates (DynamoDBCrudPolicy...) grant far more than the code calls: delete
    # and batch-write on a billing table, Scan of every RFID UID. Statements name what is used;
    # tests/e2e/test_iam_e2e.py runs the functions under exactly these.
    for policy in props(RESOURCES[function]).get("Policies", []):
        assert isinstance(policy, dict), f"{function}: managed policy {policy}"
        assert set(policy) == {"Statement"}, f"{function}: policy template {sorted(policy)}"
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            assert all("*" not in action for action in as_list(statement["Action"])), statement
            assert "*" not in as_list(statement["Resource"]), statement


def test_given_the_internal_api_then_every_route_needs_iam_credentials() -> None:
    auth = props(RESOURCES["InternalApi"])["Auth"]
    assert auth["DefaultAuthorizer"] == "AWS_IAM"
    for name, function in of_type(*FUNCTION_TYPES).items():
        for event in props(function).get("Events", {}).values():
            api = event.get("Properties", {}).get("RestApiId")
            if logical_id(api) == "InternalApi":
                override = event["Properties"].get("Auth", {}).get("Authorizer")
                assert override in (None, "AWS_IAM"), f"{name}: an internal route without IAM auth"
