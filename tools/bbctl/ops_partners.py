"""Operator tools for partner API keys (`bbctl partners`): the partners table as operators
write it, and the API Gateway usage plan. Not shipped in the Lambda layer.

Per-key throttling of the OIOI endpoint: one API Gateway API key per partner key, in the
stack's usage plan (OioiPartnerUsagePlan, template.yaml).

API Gateway throttles each API key of a usage plan on its own (rate and burst of the plan), so
one partner flooding the endpoint slows only itself. The OIOI API takes its usage key from the
authorizer (`ApiKeySourceType: AUTHORIZER`), never from the caller: the authorizer returns the
partner key's SHA-256 as `usageIdentifierKey`, and this module gives API Gateway a key with that
value. The hash is no credential (it cannot be sent to authenticate: partners send the key,
whose hash only the authorizer computes), and the partners table holds it already, so
nothing new is stored and existing keys need no migration.

A partner key without its API Gateway key is answered 403 (INVALID_API_KEY) by API Gateway:
`bbctl partners create` enrols each new key before storing it, `revoke` withdraws it, and
`sync-usage` repairs any drift (a restored table, a failed call) from the partners table.
Operator code: runs in `bbctl`, not in a Lambda function.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from backbone.aws.attributes import from_attributes, to_attributes
from backbone.receiver.access import PartnerAccess
from backbone.receiver.aws import DynamoPartnerAccess

KEY_ID_TAG = "backbone:keyId"
KEY_ID_INDEX = "ByKeyId"


class PartnerAccessTable(DynamoPartnerAccess):
    """The partners table (`bbctl.partner_keys.AccessStore`): the Lambdas' reads, and the writes and
    look-ups of `bbctl partners`."""

    def put_new(self, access: PartnerAccess) -> None:
        self._client.put_item(
            TableName=self._table,
            Item=to_attributes(access.to_item()),
            ConditionExpression="attribute_not_exists(keyHash)",
        )

    def save(self, access: PartnerAccess) -> None:
        self._client.put_item(
            TableName=self._table,
            Item=to_attributes(access.to_item()),
            ConditionExpression="attribute_exists(keyHash)",
        )

    def find_by_key_id(self, key_id: str) -> list[PartnerAccess]:
        response = self._client.query(
            TableName=self._table,
            IndexName=KEY_ID_INDEX,
            KeyConditionExpression="keyId = :id",
            ExpressionAttributeValues={":id": {"S": key_id}},
        )
        return [PartnerAccess.from_item(from_attributes(item)) for item in response.get("Items", [])]


class UsagePlanNotFound(LookupError):
    """No usage plan with this id or name (is the stack deployed?)."""


@dataclass(frozen=True)
class GatewayKey:
    """An API Gateway API key of the usage plan."""

    id: str
    name: str
    value: str
    enabled: bool


@dataclass
class SyncReport:
    """What `sync` changed: key ids enrolled, re-enabled, withdrawn (public ids only)."""

    enrolled: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.enrolled or self.withdrawn)


class PartnerUsagePlan:
    """The usage plan's API keys, one per active partner key (`apigateway` boto3 client)."""

    def __init__(self, client: Any, plan_id: str, stack_name: str) -> None:
        self._client, self.plan_id, self._prefix = client, plan_id, f"{stack_name}:"

    @classmethod
    def find(cls, client: Any, plan: str, stack_name: str) -> PartnerUsagePlan:
        """`plan` is the plan's id (stack output OioiUsagePlanId) or its name."""
        for page in client.get_paginator("get_usage_plans").paginate():
            for item in page.get("items", []):
                if plan in (item.get("id"), item.get("name")):
                    return cls(client, str(item["id"]), stack_name)
        raise UsagePlanNotFound(f"no API Gateway usage plan {plan!r}")

    def key_name(self, access: PartnerAccess) -> str:
        return f"{self._prefix}{access.partner_id}:{access.key_id}"

    def enrol(self, access: PartnerAccess) -> None:
        """Give API Gateway this partner key's usage key (idempotent)."""
        existing = self._keys_of(access)
        key = existing[0] if existing else self._create(access)
        if not key.enabled:
            self._client.update_api_key(
                apiKey=key.id, patchOperations=[{"op": "replace", "path": "/enabled", "value": "true"}]
            )
        if key.id not in self._plan_key_ids():
            self._client.create_usage_plan_key(usagePlanId=self.plan_id, keyId=key.id, keyType="API_KEY")

    def withdraw(self, access: PartnerAccess) -> None:
        """Remove this partner key's usage key from the plan and API Gateway (idempotent)."""
        for key in self._keys_of(access):
            self._delete(key)

    def sync(self, accesses: Iterable[PartnerAccess]) -> SyncReport:
        """Make the plan hold exactly the active partner keys' usage keys."""
        report = SyncReport()
        wanted = {self.key_name(access): access for access in accesses if access.active}
        in_plan = self._plan_key_ids()
        present: set[str] = set()
        for key in self._our_keys():
            access = wanted.get(key.name)
            if access is None or key.value != access.usage_key:
                self._delete(key)
                report.withdrawn.append(key.name.rsplit(":", 1)[-1])
            elif not key.enabled or key.id not in in_plan:
                self.enrol(access)
                report.enrolled.append(access.key_id)
                present.add(key.name)
            else:
                report.unchanged += 1
                present.add(key.name)
        for name, access in wanted.items():
            if name not in present:
                self.enrol(access)
                report.enrolled.append(access.key_id)
        return report

    # --- API Gateway ---------------------------------------------------------------------------

    def _create(self, access: PartnerAccess) -> GatewayKey:
        created = self._client.create_api_key(
            name=self.key_name(access),
            description=f"OIOI usage key of partner {access.partner_id}, key {access.key_id}",
            value=access.usage_key,
            enabled=True,
            tags={KEY_ID_TAG: access.key_id},
        )
        return _gateway_key(created)

    def _delete(self, key: GatewayKey) -> None:
        if key.id in self._plan_key_ids():
            self._client.delete_usage_plan_key(usagePlanId=self.plan_id, keyId=key.id)
        self._client.delete_api_key(apiKey=key.id)

    def _keys_of(self, access: PartnerAccess) -> list[GatewayKey]:
        name = self.key_name(access)
        return [key for key in self._our_keys(name) if key.name == name and key.value == access.usage_key]

    def _our_keys(self, name_query: str | None = None) -> Iterator[GatewayKey]:
        """API keys this stack created (named `<stack>:<partner>:<key id>`)."""
        pages = self._client.get_paginator("get_api_keys").paginate(
            nameQuery=name_query or self._prefix, includeValues=True
        )
        for page in pages:
            for item in page.get("items", []):
                if str(item.get("name", "")).startswith(self._prefix):
                    yield _gateway_key(item)

    def _plan_key_ids(self) -> set[str]:
        pages = self._client.get_paginator("get_usage_plan_keys").paginate(usagePlanId=self.plan_id)
        return {str(item["id"]) for page in pages for item in page.get("items", [])}


def _gateway_key(item: dict[str, Any]) -> GatewayKey:
    return GatewayKey(
        id=str(item["id"]),
        name=str(item["name"]),
        value=str(item.get("value", "")),
        enabled=bool(item.get("enabled")),
    )
