"""`AuditLog` on WhitelistAuditTable (template: WhitelistAuditTable, pk/sk strings, TTL on `expiresAt`).

Items:
- `PUSH` / `<time>#<attempt>`: one per attempt (`PushAttempt`), newest last; `bbctl whitelist
  history` queries them backwards.
- `LAST` / `SENT`: the last success (`LastSuccess`), written in one transaction with its attempt.
- `LIST#<attempt sk>` / `0000`, `0001`...: the UIDs of a SENT attempt, newline-joined, zlib,
  cut into chunks below DynamoDB's 400 KB item limit, so any list size stays recoverable.
- `LOCK` / `PUSH`: the push lock (conditional put; `expiresAt` in epoch seconds, also the TTL).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import Binary
from botocore.exceptions import ClientError

from backbone.aws import clients
from backbone.aws.attributes import plain
from backbone.aws.clients import Latency
from backbone.aws.errors import is_condition_failed
from backbone.aws.pages import items
from backbone.privacy.retention import DEFAULT_ACTIVITY_DAYS, expires_after, ttl_attribute
from backbone.timeutil import from_storage, to_storage
from backbone.whitelist.models import LastSuccess, LockHolder, PushAttempt

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

PUSH_PARTITION = "PUSH"
LAST_KEY = {"pk": "LAST", "sk": "SENT"}
LOCK_KEY = {"pk": "LOCK", "sk": "PUSH"}
LIST_PREFIX = "LIST#"
CHUNK_BYTES = 350_000
_TIME_FIELDS = ("at", "previousAt")


class AuditStore:
    """`AuditLog` on a DynamoDB `Table` (`backbone.aws.clients.table`)."""

    def __init__(self, table: Table, retention_days: int = DEFAULT_ACTIVITY_DAYS) -> None:
        self.table = table
        self.retention_days = retention_days

    @classmethod
    def for_table(
        cls, table_name: str, latency: Latency = "batch", retention_days: int = DEFAULT_ACTIVITY_DAYS
    ) -> AuditStore:
        return cls(clients.table(table_name, latency), retention_days)

    def _expiry(self, attempt: PushAttempt) -> dict[str, int]:
        """An attempt and its UID list are kept `retention_days` (docs/privacy.md); the last
        success (LAST/SENT) has no TTL: the guards compare every push with it."""
        return ttl_attribute(expires_after(attempt.at, self.retention_days))

    # --- lock ------------------------------------------------------------------------------------

    def acquire_lock(self, owner: str, trigger: str, now: datetime, ttl: timedelta) -> LockHolder | None:
        """Conditional put: succeeds when there is no lock or it has expired (TTL deletion is
        lazy, so expiry is checked here, not left to DynamoDB)."""
        expires = now + ttl
        try:
            self.table.put_item(
                Item={
                    **LOCK_KEY,
                    "owner": owner,
                    "trigger": trigger,
                    "acquiredAt": to_storage(now),
                    "expiresAt": int(expires.timestamp()),
                },
                ConditionExpression="attribute_not_exists(pk) OR expiresAt < :now",
                ExpressionAttributeValues={":now": int(now.timestamp())},
            )
        except ClientError as error:
            if not is_condition_failed(error):
                raise
            item = self.table.get_item(Key=LOCK_KEY, ConsistentRead=True).get("Item") or {}
            return LockHolder(
                owner=str(item.get("owner", "?")),
                trigger=str(item.get("trigger", "?")),
                acquired_at=from_storage(str(item.get("acquiredAt") or to_storage(now))),
                expires_at=datetime.fromtimestamp(int(str(item.get("expiresAt", 0))), tz=UTC),
            )
        return None

    def release_lock(self, owner: str) -> None:
        """Delete the lock if it is still ours (an expired one may have been taken over)."""
        try:
            self.table.delete_item(
                Key=LOCK_KEY,
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": owner},
            )
        except ClientError as error:
            if not is_condition_failed(error):
                raise

    # --- attempts --------------------------------------------------------------------------------

    def last_success(self) -> LastSuccess | None:
        item = self.table.get_item(Key=LAST_KEY, ConsistentRead=True).get("Item")
        if item is None:
            return None
        return LastSuccess.model_validate(_from_item(item))

    def record(self, attempt: PushAttempt) -> None:
        self.table.put_item(Item=_attempt_item(attempt) | self._expiry(attempt))

    def record_sent(self, attempt: PushAttempt, uids: Iterable[str]) -> PushAttempt:
        """Store the UID list (chunks first: a crash leaves only unreferenced chunks), then the
        attempt and the new last success in one transaction."""
        chunks = self._store_list(attempt.key, uids, self._expiry(attempt))
        stored = attempt.model_copy(update={"list_chunks": chunks})
        last = LastSuccess(
            at=stored.at,
            count=stored.count or 0,
            sha256=stored.sha256 or "",
            audit_key=stored.key,
            list_chunks=chunks,
        )
        items = (
            _attempt_item(stored) | self._expiry(stored),
            {**LAST_KEY, **_to_item(last.model_dump(by_alias=True, mode="json"))},
        )
        # The resource's client serialises plain values itself (boto3's transformation).
        self.table.meta.client.transact_write_items(
            TransactItems=[{"Put": {"TableName": self.table.name, "Item": item}} for item in items]
        )
        return stored

    def history(self, limit: int = 20) -> list[PushAttempt]:
        """The newest `limit` attempts, newest first."""
        page = self.table.query(
            KeyConditionExpression=Key("pk").eq(PUSH_PARTITION), ScanIndexForward=False, Limit=limit
        )
        return [_attempt(item) for item in page.get("Items", [])]

    def find(self, time_prefix: str) -> list[PushAttempt]:
        """Attempts whose sort key starts with `time_prefix` (e.g. `2026-01-02T03:00`), oldest first."""
        condition = Key("pk").eq(PUSH_PARTITION) & Key("sk").begins_with(time_prefix)
        return [_attempt(item) for item in self._query(condition)]

    def sent_uids(self, attempt: PushAttempt) -> list[str] | None:
        """The UIDs a SENT attempt pushed (None: not stored for this attempt)."""
        if attempt.list_chunks == 0:
            return None
        return self.list_of(attempt.key)

    def list_of(self, attempt_key: str) -> list[str]:
        """The stored UID list of the attempt with sort key `attempt_key` (empty: none stored)."""
        data = b"".join(
            bytes(item["data"].value) for item in self._query(Key("pk").eq(LIST_PREFIX + attempt_key))
        )
        if not data:
            return []
        # decompressobj stops at the end of the stream: chunks left behind by a rewrite cut
        # short (`rewrite_list`) are ignored.
        text = zlib.decompressobj().decompress(data).decode("ascii")
        return text.split("\n") if text else []

    def attempts(self) -> Iterator[dict[str, Any]]:
        """Every attempt item as stored (oldest first): `bbctl privacy` looks for a driver's UID
        in the sent lists and the skipped UIDs."""
        return self._query(Key("pk").eq(PUSH_PARTITION))

    def rewrite_list(self, attempt_key: str, uids: Iterable[str]) -> int:
        """Store `uids` as the sent list of an attempt (an erasure: the list without a driver's
        UID). Chunks past the new count are deleted after the new ones are written; reading stops
        at the end of the compressed stream, so a rewrite cut short is still readable and a re-run
        finishes it. The attempt's and the last success's `listChunks` follow; the chunks keep
        the attempt's expiry."""
        attempt = self.table.get_item(Key={"pk": PUSH_PARTITION, "sk": attempt_key}).get("Item", {})
        expiry = {"expiresAt": int(str(attempt["expiresAt"]))} if "expiresAt" in attempt else {}
        chunks = self._store_list(attempt_key, uids, expiry)
        pk = LIST_PREFIX + attempt_key
        for item in list(self._query(Key("pk").eq(pk))):
            if int(str(item["sk"])) >= chunks:
                self.table.delete_item(Key={"pk": pk, "sk": item["sk"]})
        names = {"#chunks": "listChunks"}
        self.table.update_item(
            Key={"pk": PUSH_PARTITION, "sk": attempt_key},
            UpdateExpression="SET #chunks = :chunks",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={":chunks": chunks},
        )
        try:
            self.table.update_item(
                Key=LAST_KEY,
                UpdateExpression="SET #chunks = :chunks",
                ConditionExpression="auditKey = :key",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={":chunks": chunks, ":key": attempt_key},
            )
        except ClientError as error:
            if not is_condition_failed(error):
                raise
        return chunks

    # --- internals -------------------------------------------------------------------------------

    def _store_list(self, key: str, uids: Iterable[str], expiry: dict[str, int]) -> int:
        """Newline-joined UIDs, zlib-compressed while streaming, in chunks of `CHUNK_BYTES`."""
        compressor = zlib.compressobj(level=6)
        compressed = bytearray()
        for index, uid in enumerate(uids):
            compressed += compressor.compress(("\n" if index else "").encode() + uid.encode())
        compressed += compressor.flush()
        count = max(1, -(-len(compressed) // CHUNK_BYTES))
        with self.table.batch_writer() as batch:
            for number in range(count):
                chunk = bytes(compressed[number * CHUNK_BYTES : (number + 1) * CHUNK_BYTES])
                item = {"pk": LIST_PREFIX + key, "sk": f"{number:04d}", "data": Binary(chunk)}
                batch.put_item(Item=item | expiry)
        return count

    def _query(self, condition: Any) -> Iterator[dict[str, Any]]:
        return items(self.table.query, KeyConditionExpression=condition)


def _attempt_item(attempt: PushAttempt) -> dict[str, Any]:
    data = attempt.model_dump(by_alias=True, mode="json", exclude_none=True)
    data.pop("key")
    return {"pk": PUSH_PARTITION, "sk": attempt.key, **_to_item(data)}


def _attempt(item: dict[str, Any]) -> PushAttempt:
    data = _from_item(item)
    data["key"] = data.pop("sk")
    return PushAttempt.model_validate(data)


def _to_item(data: dict[str, Any]) -> dict[str, Any]:
    """JSON-mode dump -> DynamoDB values: times in the storage format, floats as Decimal."""
    for name in _TIME_FIELDS:
        if isinstance(data.get(name), str):
            data[name] = to_storage(from_storage(data[name]))
    converted: dict[str, Any] = json.loads(json.dumps(data), parse_float=Decimal)
    return converted


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB values -> model input: Decimals back to int/float."""
    data: dict[str, Any] = plain(item)
    data.pop("pk", None)
    return data
