"""IAM enforced locally (`devstack run --enforce-iam`): each function runs under credentials of a
role built from its own template policies, and moto checks every call it makes against them, so
a missing action fails here as `AccessDenied` instead of in AWS.

- Every function gets a role in moto with its `Policies` as inline policies: `Statement` blocks
  resolved like any property, SAM policy templates expanded with the SAM translator (as
  `sam deploy` would). Its worker gets the role's temporary credentials (STS AssumeRole).
- devstack itself (pollers, the admin API, the usage plans), the tests and the operator's tools
  keep the dummy credentials `testing`/`testing`, which become an administrator user's keys:
  they stand in for AWS services and the operator, whose permissions are not the functions'.
- moto checks the action of every request against the caller's policies (a transaction by the
  actions of its parts, as AWS does: `_with_transactions`). It knows the resource
  of a request for SQS only; `patch_resources` teaches it DynamoDB (table, or table/index/NAME),
  Secrets Manager, EventBridge and Step Functions, so `Resource` is checked too.

Not checked: SAM's managed policies (logs, X-Ray, the event source roles: devstack polls
itself), conditions other than moto's, resource policies, and batch or transactional calls
beyond their first table.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from devstack.emulator import CREDENTIALS
from devstack.template import Template

log = logging.getLogger("devstack.iam")

ADMIN_USER = "devstack-admin"
_ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def environment(self) -> dict[str, str]:
        env = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        return env


def policy_documents(template: Template, logical_id: str) -> list[dict[str, Any]]:
    """The function's `Policies` as IAM policy documents, intrinsics resolved."""
    declared = template.raw_properties(logical_id).get("Policies") or []
    if isinstance(declared, str | dict):
        declared = [declared]
    documents: list[dict[str, Any]] = []
    for policy in declared:
        if isinstance(policy, str):
            log.warning("%s: managed policy %s is not emulated with --enforce-iam", logical_id, policy)
            continue
        if "Statement" in policy:
            statements = template.resolve(policy["Statement"])
        else:
            ((name, parameters),) = policy.items()
            statements = template.resolve(_expand_sam_template(name, parameters)["Statement"])
        documents.append(
            {"Version": "2012-10-17", "Statement": [_with_transactions(st) for st in statements]}
        )
    return documents


_TRANSACT_WRITE_PARTS = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
}


def _with_transactions(statement: dict[str, Any]) -> dict[str, Any]:
    """AWS authorises a TransactWriteItems/TransactGetItems by the actions of its parts (PutItem,
    UpdateItem... on each table); moto checks one action named after the call. So a statement
    that grants a part grants the call's name here too."""
    actions = statement.get("Action")
    listed = [actions] if isinstance(actions, str) else list(actions or [])
    extra = []
    if _TRANSACT_WRITE_PARTS & set(listed):
        extra.append("dynamodb:TransactWriteItems")
    if "dynamodb:GetItem" in listed:
        extra.append("dynamodb:TransactGetItems")
    return {**statement, "Action": listed + extra} if extra else statement


def _expand_sam_template(name: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """A SAM policy template (DynamoDBCrudPolicy...) as the SAM translator expands it. The
    translator lives in the SAM CLI's virtualenv, not here: state the actions instead."""
    try:
        from samtranslator.policy_template_processor.processor import (  # noqa: PLC0415
            PolicyTemplatesProcessor,
        )
    except ImportError as exc:
        raise ValueError(
            f"SAM policy template {name} cannot be expanded here (no samtranslator): "
            "write its statements out, or run without --enforce-iam"
        ) from exc
    processor = PolicyTemplatesProcessor(PolicyTemplatesProcessor.get_default_policy_templates_json())
    expanded: dict[str, Any] = processor.convert(name, dict(parameters or {}))
    return expanded


def create_function_roles(
    template: Template, iam: Any, sts: Any, functions: Iterable[str], admin_arn: str
) -> dict[str, Credentials]:
    """A role per function with its template policies; its temporary credentials. The
    administrator may assume it (devstack does, for the worker; a test may, to check what a
    function may do). Not Lambda's service principal: moto cannot evaluate one in a trust policy."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "sts:AssumeRole"}],
    }
    credentials: dict[str, Credentials] = {}
    for logical_id in functions:
        role_name = role_name_of(template, logical_id)
        role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
        for index, document in enumerate(policy_documents(template, logical_id)):
            iam.put_role_policy(
                RoleName=role_name,
                PolicyName=f"{logical_id}Policy{index}",
                PolicyDocument=json.dumps(document),
            )
        answer = sts.assume_role(RoleArn=role["Arn"], RoleSessionName=logical_id[:64], DurationSeconds=43200)
        issued = answer["Credentials"]
        credentials[logical_id] = Credentials(
            issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"]
        )
    return credentials


def role_name_of(template: Template, logical_id: str) -> str:
    return f"{template.pseudo.stack_name}-{logical_id}"[:64]


def create_admin(iam: Any, account_id: str) -> str:
    """The user devstack, the tests and the operator's tools act as once IAM is enforced; its
    keys are the local stack's usual dummy credentials (`testing`/`testing`), so nothing but the
    functions changes. Returns its ARN."""
    from moto.iam.models import iam_backends  # noqa: PLC0415 - moto runs in this process

    user = iam.create_user(UserName=ADMIN_USER)["User"]
    iam.put_user_policy(
        UserName=ADMIN_USER, PolicyName="everything", PolicyDocument=json.dumps(_ADMIN_POLICY)
    )
    key = iam_backends[account_id]["aws"].users[ADMIN_USER].create_access_key(prefix="AKIA")
    key.access_key_id = CREDENTIALS["aws_access_key_id"]
    key.secret_access_key = CREDENTIALS["aws_secret_access_key"]
    return str(user["Arn"])


def enforce() -> None:
    """From now on moto authenticates and authorises every request (in this process's server)."""
    from moto import settings  # noqa: PLC0415
    from moto.core.authorization import ActionAuthenticatorMixin  # noqa: PLC0415
    from moto.iam.access_control import IAMRequestBase  # noqa: PLC0415

    patch_resources()
    # The access key names the principal; signatures stay unchecked, as without --enforce-iam
    # (moto's check disagrees with botocore's signing of some REST calls, API Gateway's).
    IAMRequestBase.check_signature = lambda self: None  # type: ignore[method-assign]
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0  # type: ignore[assignment]
    ActionAuthenticatorMixin.request_count = 0


# -- the resource of a request, for moto's policy check -------------------------------------------


def _arn(handler: Any, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{handler.region}:{handler.current_account}:{resource}"


def _dynamodb_resource(handler: Any) -> str:
    body = getattr(handler, "params", None) or {}
    table = body.get("TableName")
    if table is None:
        items = body.get("RequestItems") or {}
        table = next(iter(items), None)
    if table is None:
        for item in body.get("TransactItems") or []:
            table = next(iter(item.values())).get("TableName")
            break
    if not table:
        return "*"
    resource = table if str(table).startswith("arn:") else _arn(handler, "dynamodb", f"table/{table}")
    index = body.get("IndexName")
    return f"{resource}/index/{index}" if index else str(resource)


def _json_body(handler: Any) -> dict[str, Any]:
    try:
        loaded = json.loads(handler.body or "{}")
    except (TypeError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _secret_resource(handler: Any) -> str:
    secret_id = str(_json_body(handler).get("SecretId", ""))
    if not secret_id:
        return "*"
    if secret_id.startswith("arn:"):
        return secret_id
    try:
        return str(handler.backend.describe_secret(secret_id).arn)
    except Exception:  # an unknown secret: moto answers ResourceNotFound after the check
        return "*"


def _events_resource(handler: Any) -> str:
    entries = _json_body(handler).get("Entries") or []
    bus = str(entries[0].get("EventBusName") or "default") if entries else "default"
    return bus if bus.startswith("arn:") else _arn(handler, "events", f"event-bus/{bus}")


def _states_resource(handler: Any) -> str:
    body = _json_body(handler)
    return str(body.get("stateMachineArn") or body.get("executionArn") or "*")


def patch_resources() -> None:
    from moto.dynamodb.responses import DynamoHandler  # noqa: PLC0415
    from moto.events.responses import EventsHandler  # noqa: PLC0415
    from moto.secretsmanager.responses import SecretsManagerResponse  # noqa: PLC0415
    from moto.stepfunctions.responses import StepFunctionResponse  # noqa: PLC0415

    DynamoHandler._determine_resource = _dynamodb_resource  # type: ignore[attr-defined]
    SecretsManagerResponse._determine_resource = _secret_resource  # type: ignore[attr-defined]
    EventsHandler._determine_resource = _events_resource  # type: ignore[attr-defined]
    StepFunctionResponse._determine_resource = _states_resource  # type: ignore[attr-defined]
