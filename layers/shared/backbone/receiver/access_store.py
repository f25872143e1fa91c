"""The partners table: one item per API key, keyed by the key's SHA-256 (see `access`).

Used by the authorizer (one GetItem per uncached request) and the `bbctl partners` commands.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from backbone.receiver.access import PartnerAccess
from backbone.receiver.dynamo import from_attributes, to_attributes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

KEY_ID_INDEX = "ByKeyId"


class DynamoPartnerAccess:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client, self._table = client, table

    def get(self, key_hash: str) -> PartnerAccess | None:
        # Errors propagate: the authorizer then fails, and API Gateway answers 500 (fail closed).
        response = self._client.get_item(TableName=self._table, Key={"keyHash": {"S": key_hash}})
        item = response.get("Item")
        return None if item is None else PartnerAccess.from_item(from_attributes(item))

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

    def list_all(self) -> list[PartnerAccess]:
        return sorted(self._scan(), key=lambda access: (access.partner_id, access.created_at))

    def _scan(self) -> Iterator[PartnerAccess]:
        for page in self._client.get_paginator("scan").paginate(TableName=self._table):
            for item in page.get("Items", []):
                yield PartnerAccess.from_item(from_attributes(item))

    def find_by_key_id(self, key_id: str) -> list[PartnerAccess]:
        response = self._client.query(
            TableName=self._table,
            IndexName=KEY_ID_INDEX,
            KeyConditionExpression="keyId = :id",
            ExpressionAttributeValues={":id": {"S": key_id}},
        )
        return [PartnerAccess.from_item(from_attributes(item)) for item in response.get("Items", [])]
