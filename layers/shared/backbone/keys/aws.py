"""The charging-keys table (template: ChargingKeysTable) on DynamoDB: `KeyRepository` for key
logic, `WhitelistSource` for the whitelist push, the stock claims of order fulfilment.

Writes that must not race are conditional: new keys (`attribute_not_exists(uid)`), lifecycle
changes (optimistic lock on `version`), claims for orders (`state = IN_STOCK`). Key sync writes
only its own attributes (`syncState`, `syncError`, `syncedAt`, `syncAttempts`, `partner`) and never
bumps `version`, so it cannot clobber a lifecycle change made meanwhile, nor the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from backbone.aws import clients
from backbone.aws.clients import Latency
from backbone.aws.errors import error_code, is_condition_failed
from backbone.aws.pages import items, pages
from backbone.keys.errors import ConcurrentModification, DuplicateKey, OutOfStock
from backbone.keys.models import WHITELIST_PARTITION, ChargingKey, KeyState, PartnerView, SyncState
from backbone.oioi.identifiers import InvalidUid, normalise_uid
from backbone.timeutil import to_storage, utc_now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

BY_VISUAL_NUMBER = "ByVisualNumber"
BY_OWNER = "ByOwner"
BY_STATE = "ByState"
BY_ORDER = "ByOrder"
WHITELIST_INDEX = "Whitelist"

TRANSACTION_LIMIT = 100
BATCH_GET_LIMIT = 100
_VISUAL_NUMBER_QUERY_LIMIT = 25  # above this, one projected scan beats a query per number
# Written by key sync or set once at creation; a lifecycle save never touches them.
_NOT_SAVED = frozenset({"uid", "partner", "syncedAt", "syncAttempts", "version", "whitelist", "createdAt"})
# Optional attributes a lifecycle save removes when the record no longer has them.
_REMOVABLE = ("syncError", "name", "ownerId", "ownerType", "orderId", "validFrom")


class KeyStore:
    """`KeyRepository` and `WhitelistSource` on a DynamoDB `Table` (`backbone.aws.clients.table`)."""

    def __init__(self, table: Table) -> None:
        self.table = table

    @classmethod
    def for_table(cls, table_name: str, latency: Latency = "batch") -> KeyStore:
        return cls(clients.table(table_name, latency))

    # --- reads -----------------------------------------------------------------------------------

    def get(self, uid: str) -> ChargingKey | None:
        """Strongly consistent read by UID (any accepted spelling; it is normalised)."""
        item = self.table.get_item(Key={"uid": normalise_uid(uid)}, ConsistentRead=True).get("Item")
        return None if item is None else ChargingKey.from_item(item)

    def get_by_visual_number(self, visual_number: str) -> ChargingKey | None:
        """The key printed with `visual_number` (index look-up, then a consistent read)."""
        items = self._query(BY_VISUAL_NUMBER, Key("visualNumber").eq(visual_number), projection=("uid",))
        uids = sorted({str(item["uid"]) for item in items})
        if len(uids) > 1:
            raise DuplicateKey(f"visual number {visual_number!r} is on several keys: {', '.join(uids)}", uids)
        return self.get(uids[0]) if uids else None

    def find(self, identifier: str) -> ChargingKey | None:
        """By UID first, then by visual number (a visual number may look like hex)."""
        try:
            key = self.get(identifier)
        except InvalidUid:
            key = None
        return key or self.get_by_visual_number(identifier.strip())

    def list_by_owner(self, owner_id: str) -> list[ChargingKey]:
        return [ChargingKey.from_item(item) for item in self._query(BY_OWNER, Key("ownerId").eq(owner_id))]

    def keys_of_order(self, order_id: str) -> list[ChargingKey]:
        return [ChargingKey.from_item(item) for item in self._query(BY_ORDER, Key("orderId").eq(order_id))]

    def iter_keys(self, state: KeyState | None = None) -> Iterator[ChargingKey]:
        """Every key (a paginated scan), or those in `state` oldest first (ByState index)."""
        if state is not None:
            for item in self._query(BY_STATE, Key("state").eq(str(state))):
                yield ChargingKey.from_item(item)
            return
        for item in items(self.table.scan):
            yield ChargingKey.from_item(item)

    def existing_uids(self, uids: Sequence[str]) -> set[str]:
        """Which of `uids` are already in the table (batched consistent reads)."""
        wanted = sorted(set(uids))
        found: set[str] = set()
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self.table.name: {
                    "Keys": [{"uid": uid} for uid in wanted[start : start + BATCH_GET_LIMIT]],
                    "ProjectionExpression": "#uid",
                    "ExpressionAttributeNames": {"#uid": "uid"},
                    "ConsistentRead": True,
                }
            }
            while request:
                answer = self.table.meta.client.batch_get_item(RequestItems=request)
                found.update(str(item["uid"]) for item in answer["Responses"].get(self.table.name, []))
                request = dict(answer.get("UnprocessedKeys") or {})
        return found

    def visual_numbers_in_use(self, visual_numbers: Sequence[str]) -> dict[str, str]:
        """visual number -> UID, for those of `visual_numbers` some key already has."""
        wanted = set(visual_numbers)
        if not wanted:
            return {}
        if len(wanted) <= _VISUAL_NUMBER_QUERY_LIMIT:
            items = [
                item
                for number in sorted(wanted)
                for item in self._query(
                    BY_VISUAL_NUMBER, Key("visualNumber").eq(number), projection=("uid", "visualNumber")
                )
            ]
        else:
            items = list(self._scan(projection=("uid", "visualNumber")))
        return {
            str(item["visualNumber"]): str(item["uid"]) for item in items if item["visualNumber"] in wanted
        }

    def iter_whitelist_pages(self, now: datetime, page_size: int = 1000) -> Iterator[list[str]]:
        """UIDs of the keys to whitelist now, one index page at a time.

        Reads the sparse Whitelist index (only keys the charging rule lists carry `whitelist`:
        enabled, ACTIVE, with a payment method; keys/rule.py) with `validTo >= now`; `validFrom`
        (projected into the index) is checked here: the rule's validity window, compared on the
        stored timestamps. Empty pages are skipped. Eventually consistent, like every index read.
        """
        moment = to_storage(now)
        arguments: dict[str, Any] = {
            "IndexName": WHITELIST_INDEX,
            "KeyConditionExpression": Key("whitelist").eq(WHITELIST_PARTITION) & Key("validTo").gte(moment),
            "Limit": page_size,
        }
        for page in pages(self.table.query, **arguments):
            uids = [
                str(item["uid"])
                for item in page
                if str(item.get("validFrom") or "") <= moment  # absent: valid from the start
            ]
            if uids:
                yield uids

    # --- writes ----------------------------------------------------------------------------------

    def put_new(self, key: ChargingKey) -> ChargingKey:
        """Add a key; `DuplicateKey` if its UID exists."""
        try:
            self.table.put_item(Item=_new_item(key), ConditionExpression="attribute_not_exists(uid)")
        except ClientError as error:
            if is_condition_failed(error):
                raise DuplicateKey(f"UID {key.uid} is already in the table", [key.uid]) from None
            raise
        return key

    def put_new_many(self, keys: Sequence[ChargingKey]) -> None:
        """Add keys all or nothing: transactions of 100 conditional puts; if one fails (a UID
        appeared meanwhile), the keys this call already wrote are deleted again."""
        written: list[ChargingKey] = []
        for start in range(0, len(keys), TRANSACTION_LIMIT):
            chunk = list(keys[start : start + TRANSACTION_LIMIT])
            try:
                self._transact_put(chunk)
            except DuplicateKey:
                self._delete_fresh(written)
                raise
            written += chunk

    def save(self, key: ChargingKey, *, expected_version: int) -> ChargingKey:
        """Write a lifecycle change if the stored `version` is still `expected_version`.

        Sets the business attributes, adds or removes the sparse `whitelist` attribute (so a
        disabled key leaves the whitelist index at once) and bumps `version`. Raises
        `ConcurrentModification` if the key changed (or vanished) since it was read.
        """
        item = key.to_item()
        values = {name: value for name, value in item.items() if name not in _NOT_SAVED}
        values["version"] = expected_version + 1
        names: dict[str, str] = {}
        placeholders: dict[str, Any] = {}
        sets = []
        for index, (name, value) in enumerate(values.items()):
            names[f"#a{index}"] = name
            placeholders[f":v{index}"] = value
            sets.append(f"#a{index} = :v{index}")
        removes = [name for name in _REMOVABLE if name not in item]
        if key.whitelisted:
            names["#wl"], placeholders[":wl"] = "whitelist", WHITELIST_PARTITION
            sets.append("#wl = :wl")
        else:
            removes.append("whitelist")
        for index, name in enumerate(removes):
            names[f"#r{index}"] = name
        expression = "SET " + ", ".join(sets)
        if removes:
            expression += " REMOVE " + ", ".join(f"#r{index}" for index in range(len(removes)))
        names["#version"], placeholders[":expected"] = "version", expected_version
        condition = "#version = :expected"
        if expected_version == 0:
            condition = "(attribute_exists(uid) AND attribute_not_exists(#version)) OR " + condition
        try:
            self.table.update_item(
                Key={"uid": key.uid},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=placeholders,
            )
        except ClientError as error:
            if is_condition_failed(error):
                raise ConcurrentModification(
                    f"key {key.uid} changed since it was read (expected version {expected_version}); "
                    "read it again and retry"
                ) from None
            raise
        return key.model_copy(update={"version": expected_version + 1})

    def record_sync(
        self,
        uid: str,
        *,
        state: SyncState,
        error: str | None,
        partner: PartnerView,
        attempts: int,
        now: datetime,
        contract_id: str | None = None,
    ) -> None:
        """Store a sync outcome. Touches only sync attributes (plus `contractId` when Plugsurfing
        made one up and we had none), so it never triggers another sync nor races a change."""
        names = {
            "#s": "syncState",
            "#at": "syncedAt",
            "#n": "syncAttempts",
            "#p": "partner",
            "#e": "syncError",
        }
        values: dict[str, Any] = {
            ":s": str(state),
            ":at": to_storage(now),
            ":n": attempts,
            ":p": partner.model_dump(by_alias=True, exclude_none=True),
        }
        expression = "SET #s = :s, #at = :at, #n = :n, #p = :p"
        if contract_id:
            names["#c"], values[":c"] = "contractId", contract_id
            expression += ", #c = if_not_exists(#c, :c)"
        if error:
            values[":e"] = error[:1000]
            expression += ", #e = :e"
        else:
            expression += " REMOVE #e"
        try:
            self.table.update_item(
                Key={"uid": normalise_uid(uid)},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(uid)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as failure:
            if not is_condition_failed(failure):  # the key was deleted meanwhile: nothing to record
                raise

    def claim_in_stock(self, count: int, order_id: str, now: datetime | None = None) -> list[ChargingKey]:
        """Claim `count` IN_STOCK keys (oldest first) for `order_id`: state RESERVED, `orderId` set.

        Each claim is a conditional write (`state = IN_STOCK`), so concurrent claimers never get
        the same key: a loser just moves on to the next candidate. Idempotent per order: keys
        this order already holds are counted and returned first, so a processor that crashed
        half-way resumes without claiming more. Raises `OutOfStock` (keeping what was claimed)
        when the stock runs out.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        claimed = sorted(self.keys_of_order(order_id), key=lambda key: key.uid)
        moment = to_storage(now or utc_now())
        in_stock = Key("state").eq(str(KeyState.IN_STOCK))
        for item in self._query(BY_STATE, in_stock, page_size=max(count * 2, 25)):
            if len(claimed) >= count:
                break
            key = self._claim(str(item["uid"]), order_id, moment)
            if key is not None:
                claimed.append(key)
        if len(claimed) < count:
            raise OutOfStock(
                f"order {order_id} needs {count} keys, only {len(claimed)} could be claimed from stock",
                claimed,
                count - len(claimed),
            )
        return claimed

    # --- internals -------------------------------------------------------------------------------

    def _claim(self, uid: str, order_id: str, moment: str) -> ChargingKey | None:
        try:
            answer = self.table.update_item(
                Key={"uid": uid},
                UpdateExpression=(
                    "SET #state = :reserved, #order = :order, #updated = :now, #sync = :pending, "
                    "#version = if_not_exists(#version, :zero) + :one REMOVE #error, #whitelist"
                ),
                ConditionExpression="#state = :in_stock",
                ExpressionAttributeNames={
                    "#state": "state",
                    "#order": "orderId",
                    "#updated": "updatedAt",
                    "#sync": "syncState",
                    "#version": "version",
                    "#error": "syncError",
                    "#whitelist": "whitelist",
                },
                ExpressionAttributeValues={
                    ":reserved": str(KeyState.RESERVED),
                    ":in_stock": str(KeyState.IN_STOCK),
                    ":order": order_id,
                    ":now": moment,
                    ":pending": str(SyncState.PENDING),
                    ":zero": 0,
                    ":one": 1,
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if is_condition_failed(error):
                return None  # someone else got it first (or the index was stale)
            raise
        return ChargingKey.from_item(answer["Attributes"])

    def _transact_put(self, keys: list[ChargingKey]) -> None:
        # The resource's client serialises plain values itself (like batch_get_item above).
        operations: Any = [
            {
                "Put": {
                    "TableName": self.table.name,
                    "Item": _new_item(key),
                    "ConditionExpression": "attribute_not_exists(uid)",
                }
            }
            for key in keys
        ]
        try:
            self.table.meta.client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons") or []
            taken = [
                key.uid
                for key, reason in zip(keys, reasons, strict=False)
                if reason.get("Code") == "ConditionalCheckFailed"
            ]
            raise DuplicateKey(
                f"{len(taken)} UID(s) were added by someone else meanwhile: {', '.join(taken) or 'unknown'}; "
                "nothing was imported",
                taken,
            ) from None

    def _delete_fresh(self, keys: Iterable[ChargingKey]) -> None:
        """Undo our own just-written keys (untouched since: still version 0 and IN_STOCK)."""
        for key in keys:
            try:
                self.table.delete_item(
                    Key={"uid": key.uid},
                    ConditionExpression=Attr("version").eq(0) & Attr("state").eq(str(KeyState.IN_STOCK)),
                )
            except ClientError as error:
                if not is_condition_failed(error):
                    raise

    def _query(
        self,
        index: str,
        condition: Any,
        *,
        projection: tuple[str, ...] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        arguments: dict[str, Any] = {"IndexName": index, "KeyConditionExpression": condition}
        arguments |= _projection(projection)
        if page_size:
            arguments["Limit"] = page_size
        return items(self.table.query, **arguments)

    def _scan(self, *, projection: tuple[str, ...]) -> Iterator[dict[str, Any]]:
        return items(self.table.scan, **_projection(projection))


def _new_item(key: ChargingKey) -> dict[str, Any]:
    """The item of a brand-new key: version 0, with the createdAt the ByState index sorts on."""
    item = key.to_item()
    item["version"] = 0
    item.setdefault("createdAt", item.get("updatedAt") or to_storage(utc_now()))
    item.setdefault("updatedAt", item["createdAt"])
    return item


def _projection(names: tuple[str, ...]) -> dict[str, Any]:
    """ProjectionExpression with placeholders (DynamoDB reserves many plain words)."""
    if not names:
        return {}
    return {
        "ProjectionExpression": ", ".join(f"#p{index}" for index in range(len(names))),
        "ExpressionAttributeNames": {f"#p{index}": name for index, name in enumerate(names)},
    }
