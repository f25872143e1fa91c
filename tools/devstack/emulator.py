"""The local AWS: moto's server over real HTTP, and the template's resources created in it.

Resources are created generically by type through `CREATORS`, a table of small functions; a
type without a creator gets a placeholder physical id (so `!Ref`/`!GetAtt` still resolve) and a
debug line, never an error. Adding an emulated type is adding one function to the table.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import secrets
import string
import threading
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import boto3
import yaml
from botocore.config import Config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from devstack.template import Physical, Template

log = logging.getLogger("devstack.aws")

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
LAMBDA_ROLE_NAME = "devstack-lambda-role"
DEFAULT_LOCAL_VALUES = Path(__file__).with_name("local_values.yaml")


class AwsClients(Protocol):
    """Where resources are created: boto3 clients by service name. `AwsEmulator` here; the
    integration tests adapt a boto3 session under moto's in-process `mock_aws`."""

    def client(self, service: str) -> Any: ...


class AwsEmulator:
    """moto's threaded server on a real port, and boto3 clients pointed at it."""

    def __init__(self, host: str, port: int, region: str) -> None:
        self.region = region
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self._session = boto3.session.Session()
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.endpoint = ""

    def start(self) -> str:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per poll is noise
        self._server.start()
        host, port = self._server.get_host_and_port()
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - a bind address, not a url
        self.endpoint = f"http://{host}:{port}"
        # moto's Step Functions interpreter calls Lambda at http://localhost:$MOTO_PORT.
        os.environ["MOTO_PORT"] = str(port)
        return self.endpoint

    def stop(self) -> None:
        self._server.stop()

    def client(self, service: str) -> Any:
        """A boto3 client for the emulator (clients are thread-safe; creating them is not)."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(
                    service,  # type: ignore[call-overload]
                    endpoint_url=self.endpoint,
                    region_name=self.region,
                    config=Config(retries={"max_attempts": 2}, read_timeout=60),
                    **CREDENTIALS,
                )
            return self._clients[service]


@dataclass
class CreateContext:
    """What a creator needs: the template (paths, pseudo parameters), clients and local values."""

    template: Template
    aws: AwsClients
    local_values: dict[str, Any]
    lambda_role_arn: str = ""

    def physical_name(self, logical_id: str, max_length: int = 64, suffix: str = "") -> str:
        """A CloudFormation-like generated name: <stack>-<LogicalId>, shortened if needed."""
        name = f"{self.template.pseudo.stack_name}-{logical_id}"
        return name[: max_length - len(suffix)] + suffix

    def arn(self, service: str, resource: str) -> str:
        pseudo = self.template.pseudo
        return f"arn:{pseudo.partition}:{service}:{pseudo.region}:{pseudo.account_id}:{resource}"


Creator = Callable[[CreateContext, str, dict[str, Any]], Physical]


# -- DynamoDB ------------------------------------------------------------------------------------


def _table_arguments(props: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation table properties -> CreateTable arguments."""
    args: dict[str, Any] = {
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    throughput = props.get("ProvisionedThroughput")
    if args["BillingMode"] == "PROVISIONED":
        args["ProvisionedThroughput"] = throughput or {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(key):
            args[key] = [
                {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
                | (
                    {
                        "ProvisionedThroughput": index.get("ProvisionedThroughput")
                        or args["ProvisionedThroughput"]
                    }
                    if key == "GlobalSecondaryIndexes" and args["BillingMode"] == "PROVISIONED"
                    else {}
                )
                for index in props[key]
            ]
    stream = props.get("StreamSpecification")
    if stream:
        args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    sse = props.get("SSESpecification")
    if sse:
        args["SSESpecification"] = {"Enabled": bool(sse.get("SSEEnabled", False))}
    if "DeletionProtectionEnabled" in props:
        args["DeletionProtectionEnabled"] = str(props["DeletionProtectionEnabled"]).lower() == "true"
    return args


def _create_table_from_arguments(ctx: CreateContext, name: str, args: dict[str, Any]) -> Physical:
    client = ctx.aws.client("dynamodb")
    table = client.create_table(TableName=name, **args)["TableDescription"]
    attrs = {"Arn": table["TableArn"]}
    if table.get("LatestStreamArn"):
        attrs["StreamArn"] = table["LatestStreamArn"]
    return Physical(name, attrs)


def create_table(ctx: CreateContext, logical_id: str, props: dict[str, Any]) -> Physical:
    name = props.get("TableName") or ctx.physical_name(logical_id, 255)
    physical = _create_table_from_arguments(ctx, name, _table_arguments(props))
    ttl = props.get("TimeToLiveSpecification")
    if ttl and str(ttl.get("Enabled")).lower() == "true":
        ctx.aws.client("dynamodb").update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )
    return physical


def create_simple_table(ctx: CreateContext, logical_id: str, props: dict[str, Any]) -> Physical:
    key = props.get("PrimaryKey") or {"Name": "id", "Type": "String"}
    key_type = {"String": "S", "Number": "N", "Binary": "B"}[key.get("Type", "String")]
    args: dict[str, Any] = {
        "AttributeDefinitions": [{"AttributeName": key["Name"], "AttributeType": key_type}],
        "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
        "BillingMode": "PROVISIONED" if props.get("ProvisionedThroughput") else "PAY_PER_REQUEST",
    }
    if props.get("ProvisionedThroughput"):
        args["ProvisionedThroughput"] = props["ProvisionedThroughput"]
    name = props.get("TableName") or ctx.physical_name(logical_id, 255)
    return _create_table_from_arguments(ctx, name, args)


# -- messaging -----------------------------------------------------------------------------------

_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
)


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def create_queue(ctx: CreateContext, logical_id: str, props: dict[str, Any]) -> Physical:
    fifo = str(props.get("FifoQueue", "false")).lower() == "true"
    name = props.get("QueueName") or ctx.physical_name(logical_id, 80, ".fifo" if fifo else "")
    attributes = {key: _attribute_text(props[key]) for key in _QUEUE_ATTRIBUTES if key in props}
    client = ctx.aws.client("sqs")
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Physical(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})


def create_topic(ctx: CreateContext, logical_id: str, props: dict[str, Any]) -> Physical:
    fifo = str(props.get("FifoTopic", "false")).lower() == "true"
    name = props.get("TopicName") or ctx.physical_name(logical_id, 256, ".fifo" if fifo else "")
    attributes = {
        key: _attribute_text(props[key])
        for key in ("DisplayName", "FifoTopic", "ContentBasedDeduplication")
        if key in props
    }
    client = ctx.aws.client("sns")
    arn = client.create_topic(Name=name, Attributes=attributes)["TopicArn"]
    for subscription in props.get("Subscription") or []:
        _subscribe(ctx, arn, subscription["Protocol"], subscription["Endpoint"], {})
    return Physical(arn, {"TopicArn": arn, "TopicName": name})


def _subscribe(
    ctx: CreateContext, topic_arn: str, protocol: str, endpoint: str, attrs: dict[str, str]
) -> str:
    if protocol == "lambda":
        log.warning("SNS -> Lambda subscription to %s is not emulated; skipped", endpoint)
        return f"{topic_arn}:not-emulated"
    response = ctx.aws.client("sns").subscribe(
        TopicArn=topic_arn, Protocol=protocol, Endpoint=endpoint, Attributes=attrs, ReturnSubscriptionArn=True
    )
    return str(response["SubscriptionArn"])


def create_subscription(ctx: CreateContext, logical_id: str, props: dict[str, Any]) -> Physical:
    attrs: dict[str, str] = {
        key: _attribute_text(props[key])
        for key in ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy")
        if key in props
    }
    arn = _subscribe(ctx, props["TopicArn"], props["Protocol"], props["Endpoint"], attrs)
    return Physical(arn, {"Arn": arn})


def create_event_bus(ctx: CreateContext, logical_id: str, props: dict[str, Any]) -> Physical:
    name = props["Name"]
    arn = ctx.aws.client("events").create_event_bus(Name=name)["EventBusArn"]
    return Physical(name, {"Arn": arn, "Name": name})


# -- S3 ------------------------------------------------------------------------------------------


def create_bucket(ctx: CreateContext, logical_id: str, props: dict[str, Any]) -> Physical:
    """The bucket, versioned if the template says so (encryption, public access, lifecycle and
    policy are not emulated: nothing local reads them). S3 names are lower case."""
    name = props.get("BucketName") or ctx.physical_name(logical_id, 63).lower()
    client = ctx.aws.client("s3")
    pseudo = ctx.template.pseudo
    location = {} if pseudo.region == "us-east-1" else {"LocationConstraint": pseudo.region}
    client.create_bucket(Bucket=name, **({"CreateBucketConfiguration": location} if location else {}))
    if (props.get("VersioningConfiguration") or {}).get("Status") == "Enabled":
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    arn = f"arn:{pseudo.partition}:s3:::{name}"
    return Physical(name, {"Arn": arn, "DomainName": f"{name}.s3.amazonaws.com"})


# -- configuration -------------------------------------------------------------------------------


def _generated_secret(spec: dict[str, Any]) -> str:
    alphabet = string.ascii_letters + string.digits
    if str(spec.get("ExcludePunctuation", "false")).lower() != "true":
        alphabet += "!#$%&()*+,-.:;<=>?[]^_{|}~"
    excluded = set(str(spec.get("ExcludeCharacters", "")))
    alphabet = "".join(c for c in alphabet if c not in excluded)
    value = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    if spec.get("SecretStringTemplate") and spec.get("GenerateStringKey"):
        document = json.loads(spec["SecretStringTemplate"])
        document[spec["GenerateStringKey"]] = value
        return json.dumps(document)
    return value


def create_secret(ctx: CreateContext, logical_id: str, props: dict[str, Any]) -> Physical:
    name = props.get("Name") or ctx.physical_name(logical_id, 512)
    if logical_id in ctx.local_values:
        local = ctx.local_values[logical_id]
        value = local if isinstance(local, str) else json.dumps(local)
    elif "SecretString" in props:
        value = str(props["SecretString"])
    else:
        value = _generated_secret(props.get("GenerateSecretString") or {})
    arn = ctx.aws.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
    return Physical(arn, {"Id": arn})


def create_parameter(ctx: CreateContext, logical_id: str, props: dict[str, Any]) -> Physical:
    name = props.get("Name") or ctx.physical_name(logical_id, 1011)
    value = ctx.local_values.get(logical_id, props["Value"])
    ctx.aws.client("ssm").put_parameter(
        Name=name, Value=str(value), Type=props.get("Type", "String"), Overwrite=True
    )
    return Physical(name, {"Type": props.get("Type", "String"), "Value": str(value)})


# -- compute -------------------------------------------------------------------------------------


def _placeholder_zip() -> bytes:
    """moto wants a code package; the real code runs from CodeUri in our worker processes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("devstack_placeholder.py", "# code runs from CodeUri under devstack\n")
    return buffer.getvalue()


def ensure_lambda_role(ctx: CreateContext) -> str:
    """moto's Lambda checks that the execution role exists; IAM is not enforced otherwise."""
    if not ctx.lambda_role_arn:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        role = ctx.aws.client("iam").create_role(
            RoleName=LAMBDA_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust)
        )
        ctx.lambda_role_arn = role["Role"]["Arn"]
    return ctx.lambda_role_arn


def create_function(ctx: CreateContext, logical_id: str, props: dict[str, Any]) -> Physical:
    name = props.get("FunctionName") or ctx.physical_name(logical_id, 64)
    response = ctx.aws.client("lambda").create_function(
        FunctionName=name,
        Runtime=props.get("Runtime", "python3.13"),
        Role=ensure_lambda_role(ctx),
        Handler=props.get("Handler", "index.handler"),
        Code={"ZipFile": _placeholder_zip()},
        Timeout=int(props.get("Timeout", 3)),
        MemorySize=int(props.get("MemorySize", 128)),
    )
    return Physical(name, {"Arn": response["FunctionArn"]})


def _state_machine_definition(ctx: CreateContext, props: dict[str, Any]) -> str:
    if "Definition" in props:
        definition = json.dumps(props["Definition"])
    elif "DefinitionString" in props:
        definition = str(props["DefinitionString"])
    elif isinstance(props.get("DefinitionUri"), str):
        path = ctx.template.resolve_path(props["DefinitionUri"])
        definition = json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")))
    else:
        raise ValueError("state machine needs Definition, DefinitionString or a local DefinitionUri")
    for key, value in (props.get("DefinitionSubstitutions") or {}).items():
        definition = definition.replace("${" + key + "}", str(value))
    return definition


def create_state_machine(ctx: CreateContext, logical_id: str, props: dict[str, Any]) -> Physical:
    name = props.get("Name") or props.get("StateMachineName") or ctx.physical_name(logical_id, 80)
    response = ctx.aws.client("stepfunctions").create_state_machine(
        name=name,
        definition=_state_machine_definition(ctx, props),
        roleArn=ensure_lambda_role(ctx),
        type=props.get("Type") or props.get("StateMachineType") or "STANDARD",
    )
    arn = response["stateMachineArn"]
    return Physical(arn, {"Arn": arn, "Name": name})


def register_rest_api(ctx: CreateContext, logical_id: str, props: dict[str, Any]) -> Physical:
    """API Gateway itself is served by devstack.api; only the id is needed for ARNs and URLs."""
    api_id = hashlib.sha256(f"{ctx.template.pseudo.stack_name}/{logical_id}".encode()).hexdigest()[:10]
    return Physical(api_id, {"RootResourceId": api_id[:6]})


def create_usage_plan(ctx: CreateContext, logical_id: str, props: dict[str, Any]) -> Physical:
    """In moto, so `bbctl partners` can manage its keys and devstack.api throttle by them."""
    throttle = props.get("Throttle") or {}
    stages = [{"apiId": str(s["ApiId"]), "stage": str(s["Stage"])} for s in props.get("ApiStages") or []]
    response = ctx.aws.client("apigateway").create_usage_plan(
        name=props.get("UsagePlanName") or f"{ctx.template.pseudo.stack_name}-{logical_id}",
        description=props.get("Description", ""),
        apiStages=stages,
        throttle={
            "rateLimit": float(throttle.get("RateLimit", 10000)),
            "burstLimit": int(throttle.get("BurstLimit", 5000)),
        },
    )
    return Physical(response["id"], {})


CREATORS: dict[str, Creator] = {
    "AWS::DynamoDB::Table": create_table,
    "AWS::Serverless::SimpleTable": create_simple_table,
    "AWS::SQS::Queue": create_queue,
    "AWS::SNS::Topic": create_topic,
    "AWS::SNS::Subscription": create_subscription,
    "AWS::Events::EventBus": create_event_bus,
    "AWS::S3::Bucket": create_bucket,
    "AWS::SecretsManager::Secret": create_secret,
    "AWS::SSM::Parameter": create_parameter,
    "AWS::Serverless::Function": create_function,
    "AWS::Lambda::Function": create_function,
    "AWS::Serverless::StateMachine": create_state_machine,
    "AWS::StepFunctions::StateMachine": create_state_machine,
    "AWS::Serverless::Api": register_rest_api,
    "AWS::ApiGateway::UsagePlan": create_usage_plan,
}


def create_all(
    template: Template,
    aws: AwsClients,
    local_values: dict[str, Any],
    creators: Mapping[str, Creator] = CREATORS,
) -> dict[str, dict[str, Any]]:
    """Create every resource the template declares, in dependency order; describe them.
    A type missing from `creators` gets placeholder ids only."""
    ctx = CreateContext(template, aws, local_values)
    described: dict[str, dict[str, Any]] = {}
    for logical_id in template.creation_order():
        resource_type = template.resource_type(logical_id)
        creator = creators.get(resource_type)
        if creator is None:
            log.debug("%s (%s) is not emulated; placeholder ids only", logical_id, resource_type)
            physical = Physical(
                template.ref(logical_id), {"Arn": template.placeholder_arn(logical_id)}, emulated=False
            )
        else:
            try:
                physical = creator(ctx, logical_id, template.properties(logical_id))
            except Exception as exc:
                raise RuntimeError(f"creating {logical_id} ({resource_type}) failed: {exc}") from exc
            log.info("created %s (%s) %s", logical_id, resource_type, physical.ref)
        template.register(logical_id, physical)
        described[logical_id] = physical.describe(resource_type)
    return described


def load_local_values(path: Path) -> dict[str, Any]:
    """Checked-in local values (secret values for the simulator...) keyed by logical id."""
    if not path.exists():
        return {}
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return dict(loaded)
