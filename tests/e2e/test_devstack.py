"""The local stack runtime over real HTTP and boto3: API Gateway with a Lambda authorizer and
gateway responses, SQS partial batch failures and redrive, schedules, DynamoDB streams and a
state machine with a Lambda task and a (sped-up) Wait state."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from waiting import eventually

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e


def invocations_of(stack: RunningStack, function: str) -> list[dict[str, Any]]:
    return list(stack.admin("GET", f"invocations?function={function}"))


# -- API Gateway ---------------------------------------------------------------------------------


def test_given_allowed_caller_when_get_item_then_function_gets_proxy_event_with_authorizer_context(
    fixture_stack: RunningStack,
) -> None:
    response = httpx.get(f"{fixture_stack.api_url}/items/42?color=red", headers={"X-Caller": "alice"})

    assert response.status_code == 200
    echoed = response.json()
    assert echoed["resource"] == "/items/{id}"
    assert echoed["pathParameters"] == {"id": "42"}
    assert echoed["query"] == {"color": "red"}
    assert echoed["stage"] == "v1"
    assert echoed["authorizer"]["principalId"] == "alice"
    assert echoed["authorizer"]["tier"] == "gold"
    # Template parameters, conditions and !Sub resolved with Stage=local.
    assert echoed["greeting"] == "hello from fixture"
    assert 0 < echoed["remainingMs"] <= 10_000


def test_given_stage_prefix_when_get_item_then_the_same_route_answers(fixture_stack: RunningStack) -> None:
    response = httpx.get(f"{fixture_stack.api_url}/v1/items/7", headers={"X-Caller": "alice"})

    assert response.status_code == 200
    assert response.json()["pathParameters"] == {"id": "7"}


def test_given_no_identity_header_when_get_item_then_401_gateway_response_and_authorizer_not_called(
    fixture_stack: RunningStack,
) -> None:
    before = len(invocations_of(fixture_stack, "AuthorizerFunction"))

    response = httpx.get(f"{fixture_stack.api_url}/items/42")

    assert response.status_code == 401
    assert response.json() == {"result": {"code": 401, "message": "Unauthorized"}}
    assert response.headers["WWW-Authenticate"] == "Caller"
    assert len(invocations_of(fixture_stack, "AuthorizerFunction")) == before


def test_given_authorizer_denies_when_get_item_then_403(fixture_stack: RunningStack) -> None:
    response = httpx.get(f"{fixture_stack.api_url}/items/42", headers={"X-Caller": "deny-mallory"})

    assert response.status_code == 403
    assert response.json() == {
        "message": "User is not authorized to access this resource with an explicit deny"
    }


def test_given_authorizer_fails_when_get_item_then_500(fixture_stack: RunningStack) -> None:
    response = httpx.get(f"{fixture_stack.api_url}/items/42", headers={"X-Caller": "boom"})

    assert response.status_code == 500


def test_given_unknown_path_when_requested_then_403_missing_authentication_token(
    fixture_stack: RunningStack,
) -> None:
    response = httpx.get(f"{fixture_stack.api_url}/no/such/route")

    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}


def test_given_binary_body_on_open_route_when_posted_then_event_carries_base64(
    fixture_stack: RunningStack,
) -> None:
    response = httpx.post(f"{fixture_stack.api_url}/open", content=b"\xff\xfe\x00")

    assert response.status_code == 200
    assert response.json()["isBase64Encoded"] is True
    assert response.json()["body"] == "//4A"
    assert response.json()["authorizer"] is None


# -- SQS -----------------------------------------------------------------------------------------


def attempts(stack: RunningStack, body: str) -> int:
    item = (
        stack.boto3_client("dynamodb")
        .get_item(TableName=stack.ref("EventsTable"), Key={"pk": {"S": f"attempt#{body}"}})
        .get("Item")
    )
    return int(item["attempts"]["N"]) if item else 0


def test_given_batch_with_a_failing_record_when_processed_then_only_it_is_retried_and_dead_lettered(
    fixture_stack: RunningStack,
) -> None:
    sqs = fixture_stack.boto3_client("sqs")
    bodies = ["ok-batch-1", "fail-batch-2", "ok-batch-3"]
    sqs.send_message_batch(
        QueueUrl=fixture_stack.ref("WorkQueue"),
        Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies)],
    )

    def dead_letters() -> list[str]:
        messages = sqs.receive_message(
            QueueUrl=fixture_stack.ref("WorkDeadLetterQueue"), MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        return [m["Body"] for m in messages]

    assert eventually(dead_letters, timeout_s=20) == ["fail-batch-2"]
    assert attempts(fixture_stack, "fail-batch-2") == 2  # maxReceiveCount
    assert attempts(fixture_stack, "ok-batch-1") == 1
    assert attempts(fixture_stack, "ok-batch-3") == 1
    remaining = sqs.get_queue_attributes(
        QueueUrl=fixture_stack.ref("WorkQueue"),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert remaining == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


# -- schedules -----------------------------------------------------------------------------------


def test_given_schedule_when_fired_now_then_function_gets_scheduled_event(
    fixture_stack: RunningStack,
) -> None:
    fired = fixture_stack.fire("TickFunction", "Daily")

    assert fired["status"] == "ok"
    assert fired["result"] == {"ticked": True, "detailType": "Scheduled Event"}
    table = fixture_stack.boto3_client("dynamodb")
    ticks = table.scan(TableName=fixture_stack.ref("EventsTable"))["Items"]
    events = [json.loads(i["event"]["S"]) for i in ticks if i["pk"]["S"].startswith("tick#")]
    assert any(e["source"] == "aws.events" and e["region"] == "eu-west-1" for e in events)


def test_given_custom_input_when_schedule_fired_then_function_gets_that_input(
    fixture_stack: RunningStack,
) -> None:
    fired = fixture_stack.fire("TickFunction", payload={"id": "manual", "detail-type": "Manual"})

    assert fired["result"] == {"ticked": True, "detailType": "Manual"}


def test_given_unknown_schedule_when_fired_then_404(fixture_stack: RunningStack) -> None:
    response = httpx.post(f"{fixture_stack.api_url}/_local/schedules/TickFunction/Hourly")

    assert response.status_code == 404


# -- DynamoDB streams ----------------------------------------------------------------------------


def test_given_stream_consumer_when_item_written_then_consumer_sees_the_insert(
    fixture_stack: RunningStack,
) -> None:
    dynamodb = fixture_stack.boto3_client("dynamodb")
    dynamodb.put_item(TableName=fixture_stack.ref("EventsTable"), Item={"pk": {"S": "stream-probe"}})

    def seen() -> dict[str, Any] | None:
        return dynamodb.get_item(
            TableName=fixture_stack.ref("SeenTable"), Key={"pk": {"S": "stream-probe"}}
        ).get("Item")

    item = eventually(seen)
    assert item["eventName"] == {"S": "INSERT"}
    assert item["source"]["S"].startswith(fixture_stack.resources["EventsTable"]["Arn"] + "/stream/")


# -- Step Functions ------------------------------------------------------------------------------


def test_given_state_machine_when_started_then_lambda_task_runs_and_wait_is_recorded_unscaled(
    fixture_stack: RunningStack,
) -> None:
    sfn = fixture_stack.boto3_client("stepfunctions")
    started = time.monotonic()
    execution = sfn.start_execution(
        stateMachineArn=fixture_stack.ref("FlowStateMachine"), input=json.dumps({"waitSeconds": 300})
    )

    def finished() -> dict[str, Any] | None:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        return described if described["status"] != "RUNNING" else None

    described = eventually(finished)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"waitSeconds": 300, "preparedBy": "fixture-FlowFunction"}
    assert time.monotonic() - started < 10  # 300 s at --wait-speedup 1000
    waits = [w for w in fixture_stack.admin("GET", "waits") if w["executionArn"] == execution["executionArn"]]
    assert [(w["state"], w["seconds"]) for w in waits] == [("Pause", 300.0)]
    assert any(i["source"] == "lambda:Invoke" for i in invocations_of(fixture_stack, "FlowFunction"))


def test_given_two_unnamed_executions_with_same_input_then_both_run(fixture_stack: RunningStack) -> None:
    sfn = fixture_stack.boto3_client("stepfunctions")
    arn = fixture_stack.ref("FlowStateMachine")

    first = sfn.start_execution(stateMachineArn=arn, input='{"waitSeconds": 1}')
    second = sfn.start_execution(stateMachineArn=arn, input='{"waitSeconds": 1}')

    assert first["executionArn"] != second["executionArn"]


# -- admin ---------------------------------------------------------------------------------------


def test_given_failing_function_when_invoked_directly_then_error_type_and_message_reported(
    fixture_stack: RunningStack,
) -> None:
    result = fixture_stack.admin("POST", "invoke/FlowFunction", {"waitSeconds": "soon"})

    assert result["status"] == "error"
    assert result["error"]["errorType"] == "ValueError"
    assert "soon" in result["error"]["errorMessage"]


def test_given_running_stack_when_resources_listed_then_refs_match_cloudformation(
    fixture_stack: RunningStack,
) -> None:
    resources = fixture_stack.admin("GET", "resources")

    assert resources["EventsTable"]["ref"] == "fixture-EventsTable"
    assert resources["WorkQueue"]["ref"].endswith("/fixture-WorkQueue")
    assert resources["FlowStateMachine"]["Arn"].endswith(":stateMachine:fixture-FlowStateMachine")


# -- the product template ------------------------------------------------------------------------


def test_given_product_template_when_stack_runs_then_secrets_hold_the_simulator_keys(
    stack: RunningStack,
) -> None:
    secrets = stack.boto3_client("secretsmanager")

    value = secrets.get_secret_value(SecretId=stack.ref("PlugsurfingApiKeySecret"))["SecretString"]

    assert value == "sim-api-key"
    assert httpx.get(f"{stack.api_url}/_local/health").json() == {"status": "ok"}
    assert stack.sim_url.startswith("http://127.0.0.1:")
