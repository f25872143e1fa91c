"""The facts `bbctl doctor` checks, read from a stack (`doctor_checks.StackProbe`).

A deployed stack: names from its CloudFormation outputs, its event source mappings and schedule
rules from its resources, the partner URLs and mode from a function's environment. The local
stack (`make run`) has no CloudFormation: resources are named as the local stack names them
(`<stack>-<LogicalId>`, secrets `<stack>/<name>`), partner calls go to the Plugsurfing simulator,
the OIOI endpoint is the local API, and its schedules are rules in the emulator's EventBridge
that the local scheduler honours.

Secrets are read with the layer's readers (`backbone.aws.secrets`), through a Powertools provider on
this stack's client: exactly the parsing and the rules the functions apply.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import Any

import httpx
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from backbone.aws.secrets import get_api_key, get_partner_identifier, get_pepper
from backbone.partners.oioi_client import OioiClient
from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.partners.retry import RetryPolicy
from backbone.receiver.aws import DynamoPartnerAccess
from backbone.whitelist.aws import AuditStore
from bbctl import Target
from bbctl.cmd_partners import partner_usage_plan
from bbctl.doctor_checks import (
    GatewayKey,
    SchedulesView,
    SecretMissing,
    SecretSpec,
    Subscription,
    Switch,
    UsagePlanView,
    WhitelistView,
)

# Secrets: stack output, and the name the template gives them (`${AWS::StackName}/<suffix>`).
SECRET_LOCATIONS = {
    "PlugsurfingApiKeySecret": ("PlugsurfingApiKeySecretArn", "plugsurfing-api-key"),
    "OioiApiKeySecret": ("OioiApiKeySecretArn", "oioi-api-key"),
    "OioiPartnerIdentifierSecret": ("OioiPartnerIdentifierSecretArn", "oioi-partner-identifier"),
    "PrivacyPepperSecret": ("PrivacyPepperSecretArn", "privacy-pepper"),
}
DEAD_LETTER_QUEUES = (
    "CdrDeadLetterQueue",
    "KeySyncDeadLetterQueue",
    "SessionStartDeadLetterQueue",
    "OrderDeadLetterQueue",
    "DriveOrderDeadLetterQueue",
    "BillingEventsDeadLetterQueue",
)
# A function whose environment carries the partner settings every function gets (Globals).
PARTNER_SETTINGS_FUNCTION = ("KeySyncFunctionName", "KeySyncFunction")
DRIVE_PROBE_USER = "bbctl-doctor-probe"  # no such user: a 404 says the key got past authentication
OIOI_PROBE_MESSAGE = ("station-get-by-ids", {"station-ids": [0]})  # read-only (seed 002)
WHITELIST_MAX_AGE_DEFAULT = "24"  # template.yaml, WhitelistMaxAgeHours
HTTP_TIMEOUT_S = 10.0


class AwsStackProbe:
    """`StackProbe` on a deployed stack or the local stack (`target.local`)."""

    def __init__(
        self,
        target: Target,
        *,
        api_url: str,
        sim_url: str,
        partner_mode: str | None = None,
    ) -> None:
        self.target = target
        self.local = target.local
        self.stack_name = str(target.stack_name)
        self._api_url = api_url.rstrip("/")
        self._sim_url = sim_url.rstrip("/")
        self._partner_mode = partner_mode

    # --- stack -----------------------------------------------------------------------------------

    @cached_property
    def _stack(self) -> dict[str, Any] | None:
        if self.local:
            return None
        stacks = self.target.client("cloudformation").describe_stacks(StackName=self.stack_name)["Stacks"]
        return dict(stacks[0])

    @cached_property
    def _resources(self) -> list[dict[str, Any]]:
        paginator = self.target.client("cloudformation").get_paginator("list_stack_resources")
        return [
            r
            for page in paginator.paginate(StackName=self.stack_name)
            for r in page["StackResourceSummaries"]
        ]

    def _of_type(self, resource_type: str) -> list[dict[str, Any]]:
        return [r for r in self._resources if r["ResourceType"] == resource_type]

    @cached_property
    def _partner_environment(self) -> dict[str, str]:
        """The partner settings the functions run with (Globals); the simulator's locally."""
        if self.local:
            return {
                "PARTNER_MODE": self._partner_mode or "emp",
                "DRIVE_API_BASE_URL": f"{self._sim_url}/drive",
                "EMP_API_BASE_URL": "",
                "OIOI_ENDPOINT_URL": f"{self._sim_url}/api/v4/request",
            }
        function = self.target.output(*PARTNER_SETTINGS_FUNCTION)
        config = self.target.client("lambda").get_function_configuration(FunctionName=function)
        return dict(config.get("Environment", {}).get("Variables", {}))

    # --- secrets ---------------------------------------------------------------------------------

    def secret_name(self, spec: SecretSpec) -> str:
        output, suffix = SECRET_LOCATIONS[spec.logical_id]
        if self.local:
            return f"{self.stack_name}/{suffix}"
        return self.target.output(output, spec.logical_id)

    def read_secret(self, spec: SecretSpec) -> str:
        DEFAULT_PROVIDERS["secrets"] = SecretsProvider(boto3_client=self.target.client("secretsmanager"))
        name = self.secret_name(spec)
        try:
            if spec.kind == "partner-identifier":
                return get_partner_identifier(name, max_age=0)
            if spec.kind == "pepper":
                return get_pepper(name, max_age=0)
            return get_api_key(name, max_age=0)
        except GetParameterError as exc:
            raise SecretMissing(f"secret {name!r} cannot be read: {str(exc).splitlines()[0][:200]}") from None

    # --- partner calls ---------------------------------------------------------------------------

    def partner_mode(self) -> str:
        return self._partner_mode or self._partner_environment.get("PARTNER_MODE", "emp")

    def call_plugsurfing(self, family: str, api_key: str) -> str:
        env = self._partner_environment
        with PlugsurfingClient(
            env["DRIVE_API_BASE_URL"],
            lambda: api_key,
            emp_base_url=env.get("EMP_API_BASE_URL") or None,
            retry_policy=RetryPolicy.no_retry(),
        ) as client:
            if family == "drive":
                client.list_user_charging_keys(DRIVE_PROBE_USER)
                return f"GET /v1/users/{DRIVE_PROBE_USER}/charging-keys answered"
            client.charging_keys_page(page_size=10)
            return "GET /charging-keys answered"

    def call_oioi(self, api_key: str) -> str:
        message, payload = OIOI_PROBE_MESSAGE
        with OioiClient(
            self._partner_environment["OIOI_ENDPOINT_URL"],
            lambda: api_key,
            retry_policy=RetryPolicy.no_retry(),
        ) as client:
            client.call(message, payload, idempotent=True)
        return f"{message} answered"

    def oioi_without_key(self) -> tuple[int, Any]:
        if self.local:
            url = f"{self._api_url}/api/v4/request"
        else:
            url = self.target.output("OioiEndpointUrl", "OioiApi")
        response = httpx.post(url, json={"rfid-verify": {"rfid": "04523022AA4881"}}, timeout=HTTP_TIMEOUT_S)
        try:
            body = response.json()
        except ValueError:
            body = None
        return response.status_code, body

    # --- usage plan ------------------------------------------------------------------------------

    def usage_plan(self) -> UsagePlanView:
        plan = partner_usage_plan(self.target, "doctor")
        store = DynamoPartnerAccess(
            self.target.client("dynamodb"), self.target.output("PartnersTableName", "PartnersTable")
        )
        wanted = {plan.key_name(access): access.usage_key for access in store.list_all() if access.active}
        apigateway = self.target.client("apigateway")
        prefix = f"{self.stack_name}:"
        in_plan = {
            str(item["id"])
            for page in apigateway.get_paginator("get_usage_plan_keys").paginate(usagePlanId=plan.plan_id)
            for item in page.get("items", [])
        }
        keys = tuple(
            GatewayKey(
                str(item["name"]),
                str(item.get("value", "")),
                bool(item.get("enabled")),
                item["id"] in in_plan,
            )
            for page in apigateway.get_paginator("get_api_keys").paginate(
                nameQuery=prefix, includeValues=True
            )
            for item in page.get("items", [])
            if str(item.get("name", "")).startswith(prefix)
        )
        return UsagePlanView(plan.plan_id, wanted, keys)

    # --- alarms ----------------------------------------------------------------------------------

    def alarm_subscriptions(self) -> list[Subscription] | None:
        if self.local:
            return None
        topic = self.target.output("AlarmsTopicArn", "AlarmTopic")
        paginator = self.target.client("sns").get_paginator("list_subscriptions_by_topic")
        return [
            Subscription(
                str(sub.get("Protocol")),
                str(sub.get("Endpoint")),
                str(sub.get("SubscriptionArn", "")).startswith("arn:"),
            )
            for page in paginator.paginate(TopicArn=topic)
            for sub in page.get("Subscriptions", [])
        ]

    # --- whitelist -------------------------------------------------------------------------------

    def whitelist(self) -> WhitelistView:
        table = self.target.output("WhitelistAuditTableName", "WhitelistAuditTable")
        store = AuditStore(self.target.resource("dynamodb").Table(table))
        history = store.history(limit=1)
        created = self._stack.get("CreationTime") if self._stack else None
        return WhitelistView(
            latest=history[0] if history else None,
            last_success=store.last_success(),
            max_age_hours=float(self.target.parameter("WhitelistMaxAgeHours", WHITELIST_MAX_AGE_DEFAULT)),
            stack_created=created if isinstance(created, datetime) else None,
        )

    # --- queues and switches ---------------------------------------------------------------------

    def dead_letter_depths(self) -> dict[str, int]:
        sqs = self.target.client("sqs")
        depths: dict[str, int] = {}
        for queue in DEAD_LETTER_QUEUES:
            where = self.target.output(f"{queue}Url", queue)
            url = where if where.startswith("http") else sqs.get_queue_url(QueueName=where)["QueueUrl"]
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            depths[queue] = int(attributes.get("ApproximateNumberOfMessages", 0)) + int(
                attributes.get("ApproximateNumberOfMessagesNotVisible", 0)
            )
        return depths

    def event_source_mappings(self) -> list[Switch] | None:
        if self.local:
            return None
        client = self.target.client("lambda")
        found = []
        for resource in self._of_type("AWS::Lambda::EventSourceMapping"):
            mapping = client.get_event_source_mapping(UUID=resource["PhysicalResourceId"])
            source = str(mapping.get("EventSourceArn", "")).rsplit(":", 1)[-1]
            function = str(mapping.get("FunctionArn", "")).rsplit(":", 1)[-1]
            found.append(
                Switch(resource["PhysicalResourceId"], str(mapping.get("State")), f"{source} -> {function}")
            )
        return found

    def schedules(self) -> SchedulesView:
        events = self.target.client("events")
        if self.local:
            paginator = events.get_paginator("list_rules")
            rules = [
                Switch(str(rule["Name"]), str(rule.get("State")), str(rule.get("ScheduleExpression", "")))
                for page in paginator.paginate(NamePrefix=f"{self.stack_name}-")
                for rule in page.get("Rules", [])
                if rule.get("ScheduleExpression")
            ]
            return SchedulesView(None, rules)
        rules = []
        for resource in self._of_type("AWS::Events::Rule"):
            rule = events.describe_rule(Name=resource["PhysicalResourceId"])
            if rule.get("ScheduleExpression"):
                rules.append(Switch(str(rule["Name"]), str(rule.get("State")), resource["LogicalResourceId"]))
        return SchedulesView(self.target.parameter("SchedulesEnabled", "false"), rules)
