"""Operator tools for data-subject requests (`bbctl privacy`, docs/privacy.md "Data-subject
requests"): read what the stack holds about a driver, apply an erasure plan, keep the erasure
ledger and replay it onto a table restored from point-in-time recovery. The decisions are
`bbctl.privacy_plan`'s; this module only reads and writes. Not shipped in the Lambda layer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from backbone.aws.attributes import from_attributes, to_attributes
from backbone.aws.errors import is_condition_failed
from backbone.aws.pages import items
from backbone.cdr.models import DriverType
from backbone.privacy.pseudonym import is_pseudonym
from backbone.whitelist.aws import AuditStore
from bbctl.privacy_plan import (
    CDRS,
    DRIVE_ORDERS,
    KEYS,
    ORDERS,
    SESSIONS,
    WHITELIST_AUDIT,
    Operation,
    Step,
    Subject,
    driver_key,
    key_holds,
    key_identities,
    plan_audit_attempt,
    plan_audit_list,
    plan_cdr,
    plan_drive_order,
    plan_emp_order,
    plan_key,
    plan_session,
    plugsurfing_requests,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LEDGER = "ErasureLedgerTable"
# Applied in this order: a run cut short leaves the key records (how a UID is found from a user
# or contract id) for last, so a re-run still finds everything.
APPLY_ORDER = (CDRS, SESSIONS, DRIVE_ORDERS, ORDERS, WHITELIST_AUDIT, KEYS)
CDR_DRIVER_TYPES = tuple(DriverType)
# Dead-letter queues whose messages can name a driver (stack output, logical id, what they carry).
DEAD_LETTER_QUEUES = (
    ("CdrDeadLetterQueueUrl", "CdrDeadLetterQueue", "CDR payloads with driver identifiers"),
    ("KeySyncDeadLetterQueueUrl", "KeySyncDeadLetterQueue", "charging-key stream records (UIDs, names)"),
    ("SessionStartDeadLetterQueueUrl", "SessionStartDeadLetterQueue", "session starts (user id or key)"),
    ("OrderDeadLetterQueueUrl", "OrderDeadLetterQueue", "EMP order ids"),
    ("DriveOrderDeadLetterQueueUrl", "DriveOrderDeadLetterQueue", "Drive key orders (user id, address)"),
)


@dataclass(frozen=True)
class Request:
    """What the operator named: UIDs, contract ids, Drive user ids (any spelling)."""

    uids: tuple[str, ...] = ()
    contract_ids: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()

    def driver_keys(self) -> list[str]:
        return (
            [driver_key(DriverType.RFID, uid) for uid in self.uids]
            + [driver_key(DriverType.EVCO_ID, contract) for contract in self.contract_ids]
            + [driver_key(DriverType.DRIVE_USER, user) for user in self.user_ids]
        )


@dataclass
class Findings:
    """Everything held about one driver, and the plan to erase it."""

    subject: Subject
    ledger_key: str
    steps: list[Step] = field(default_factory=list)
    keys: list[dict[str, Any]] = field(default_factory=list)
    user_ids: set[str] = field(default_factory=set)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changes(self) -> list[Step]:
        return [step for step in self.steps if step.changes]

    def plugsurfing(self) -> list[str]:
        return plugsurfing_requests(self.steps, self.keys, self.user_ids)

    def view(self) -> dict[str, Any]:
        return {
            "subject": self.ledger_key,
            "records": [step.view() for step in self.steps],
            "deadLetters": self.dead_letters,
            "partnerActivity": "PartnerActivityTable holds per-partner times only: nothing about a driver",
            "plugsurfing": self.plugsurfing(),
        }


@dataclass
class Outcome:
    applied: Counter[tuple[str, str]] = field(default_factory=Counter)
    changed_meanwhile: list[Step] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = {}
        for (table, action), count in sorted(self.applied.items()):
            result.setdefault(table, {})[action] = count
        return result


class PrivacyTables:
    """The stack's tables a driver can be in (logical id -> physical name), read and written
    with one low-level DynamoDB client (and the resource API for the whitelist audit)."""

    def __init__(self, client: DynamoDBClient, resource: Any, names: Mapping[str, str]) -> None:
        self.client, self.resource, self.names = client, resource, dict(names)

    # --- find ------------------------------------------------------------------------------------

    def find(self, request: Request, pepper: str, at: str) -> Findings:
        requested = request.driver_keys()
        subject = Subject.of(pepper, requested)
        ledger_key = subject.pseudonym(requested[0])
        subject = Subject(pepper, subject.pseudonyms | self._ledger_pseudonyms(subject.pseudonyms))
        keys, subject = self._keys(request, subject)
        findings = Findings(subject, ledger_key, keys=keys)
        findings.user_ids = set(request.user_ids) | {
            str(key["ownerId"]) for key in keys if key.get("ownerType") == "user" and key.get("ownerId")
        }
        raw_keys = set(requested) | {identity for key in keys for identity in key_identities(key)}
        findings.steps += [
            step for item in self._cdrs(subject, raw_keys) if (step := plan_cdr(item, subject, at))
        ]
        findings.steps += [step for item in self._scan(SESSIONS) if (step := plan_session(item, subject))]
        drive_orders = self._drive_orders(subject, findings.user_ids)
        findings.steps += [step for item in drive_orders if (step := plan_drive_order(item, subject, at))]
        findings.steps += [step for item in self._emp_orders() if (step := plan_emp_order(item, subject, at))]
        findings.steps += self.audit_steps(self.names[WHITELIST_AUDIT], subject)
        findings.steps += [step for key in keys if (step := plan_key(key, subject))]
        return findings

    def _ledger_pseudonyms(self, pseudonyms: frozenset[str]) -> set[str]:
        """Pseudonyms of earlier erasures of the same driver: a re-run after key records were
        deleted still finds the CDRs of the driver's UIDs."""
        found: set[str] = set()
        for entry in self.ledger():
            theirs = set(entry.get("pseudonyms", ()))
            if theirs & pseudonyms:
                found |= theirs
        return found

    def _keys(self, request: Request, subject: Subject) -> tuple[list[dict[str, Any]], Subject]:
        """The driver's key records, and the subject grown by what they name (a UID's contract
        id and user owner, a user's other keys)."""
        found: dict[str, dict[str, Any]] = {}
        candidates = [
            item
            for uid in request.uids
            if (item := self._get(KEYS, {"uid": driver_key(DriverType.RFID, uid).partition("#")[2]}))
        ]
        if request.contract_ids:
            candidates += list(self._scan(KEYS))
        users = set(request.user_ids)
        for _ in range(5):  # a key names a user, the user other keys: a fixed point within hops
            candidates += [item for user in users for item in self._query(KEYS, "ByOwner", "ownerId", user)]
            new = [item for item in candidates if str(item["uid"]) not in found and key_holds(item, subject)]
            if not new:
                break
            for item in new:
                found[str(item["uid"])] = item
                subject = subject.with_keys(key_identities(item))
            users = {
                str(item["ownerId"])
                for item in new
                if item.get("ownerType") == "user" and item.get("ownerId")
            }
            candidates = []
        return list(found.values()), subject

    def _cdrs(self, subject: Subject, raw_keys: Iterable[str]) -> Iterator[dict[str, Any]]:
        """CDRs by ByDriver (`<type>#<pseudonym>`, and the raw key of records stored before
        pseudonymisation at write), read whole from the table (the index may project less)."""
        index_keys = {f"{kind.value}#{alias}" for kind in CDR_DRIVER_TYPES for alias in subject.pseudonyms}
        index_keys |= set(raw_keys)
        seen: set[tuple[str, str]] = set()
        for index_key in sorted(index_keys):
            for hit in self._query(CDRS, "ByDriver", "driverKey", index_key):
                key = (str(hit["pk"]), str(hit["sk"]))
                if key in seen:
                    continue
                seen.add(key)
                item = self._get(CDRS, {"pk": key[0], "sk": key[1]})
                if item is not None:
                    yield item

    def _drive_orders(self, subject: Subject, user_ids: Iterable[str]) -> list[dict[str, Any]]:
        users = set(user_ids) | set(subject.pseudonyms)
        found = {
            str(item["requestId"]): item
            for user in sorted(users)
            for item in self._query(DRIVE_ORDERS, "ByUser", "userId", user)
        }
        return [self._get(DRIVE_ORDERS, {"requestId": request}) or item for request, item in found.items()]

    def _emp_orders(self) -> Iterator[dict[str, Any]]:
        """Every EMP order (an order names keys by UID; a key record may be gone already)."""
        found = items(
            self.client.scan,
            TableName=self.names[ORDERS],
            FilterExpression="begins_with(pk, :order)",
            ExpressionAttributeValues={":order": {"S": "ORDER#"}},
        )
        return (from_attributes(item) for item in found)

    def audit_steps(self, table: str, subject: Subject) -> list[Step]:
        store = AuditStore(self.resource.Table(table))
        steps: list[Step] = []
        for item in store.attempts():
            if step := plan_audit_attempt(item, subject):
                steps.append(step)
            if int(item.get("listChunks", 0)) > 0:
                data = store.list_of(str(item["sk"]))
                if step := plan_audit_list(str(item["sk"]), data, subject):
                    steps.append(step)
        return steps

    # --- erase -----------------------------------------------------------------------------------

    def apply(self, steps: Iterable[Step], names: Mapping[str, str] | None = None) -> Outcome:
        """Apply the changing steps, table by table in `APPLY_ORDER`. A step whose record changed
        since it was read (its condition fails) is left for a re-run, which plans it again."""
        names = dict(names or self.names)
        outcome = Outcome()
        pending = [step for step in steps if step.changes]
        for table in APPLY_ORDER:
            for step in (step for step in pending if step.table == table):
                if self._apply(step, names[table]):
                    outcome.applied[(step.table, step.action.value)] += 1
                else:
                    outcome.changed_meanwhile.append(step)
        return outcome

    def _apply(self, step: Step, table: str) -> bool:
        key = to_attributes(step.key)
        try:
            if step.operation is Operation.UPDATE:
                self.client.update_item(TableName=table, Key=key, **(step.update or {}))
            elif step.operation is Operation.DELETE:
                self.client.delete_item(TableName=table, Key=key, **(step.condition or {}))
            elif step.operation is Operation.REWRITE_LIST:
                attempt_key = str(step.key["pk"]).removeprefix("LIST#")
                AuditStore(self.resource.Table(table)).rewrite_list(attempt_key, step.uids)
        except ClientError as error:
            if is_condition_failed(error):
                return step.operation is Operation.DELETE  # already gone: what a delete wants
            raise
        return True

    # --- ledger ----------------------------------------------------------------------------------

    def ledger(self) -> Iterator[dict[str, Any]]:
        for item in items(self.client.scan, TableName=self.names[LEDGER], ConsistentRead=True):
            yield from_attributes(item)

    def ledger_entry(self, ledger_key: str) -> dict[str, Any] | None:
        return self._get(LEDGER, {"subject": ledger_key})

    def record_started(self, findings: Findings, at: str) -> None:
        """Written before anything is changed: a run cut short is still replayed after a restore."""
        self.client.update_item(
            TableName=self.names[LEDGER],
            Key={"subject": {"S": findings.ledger_key}},
            UpdateExpression=(
                "ADD #pseudonyms :pseudonyms "
                "SET #requested = if_not_exists(#requested, :at), #status = :status, #started = :at"
            ),
            ExpressionAttributeNames={
                "#pseudonyms": "pseudonyms",
                "#requested": "requestedAt",
                "#status": "status",
                "#started": "startedAt",
            },
            ExpressionAttributeValues={
                ":pseudonyms": {"SS": sorted(findings.subject.pseudonyms)},
                ":at": {"S": at},
                ":status": {"S": "IN_PROGRESS"},
            },
        )

    def record_done(self, findings: Findings, outcome: Outcome, at: str) -> None:
        run = {"at": at, "done": outcome.counts(), "leftForRerun": len(outcome.changed_meanwhile)}
        self.client.update_item(
            TableName=self.names[LEDGER],
            Key={"subject": {"S": findings.ledger_key}},
            UpdateExpression=(
                "SET #status = :status, #completed = :at, "
                "#runs = list_append(if_not_exists(#runs, :none), :run)"
            ),
            ExpressionAttributeNames={"#status": "status", "#completed": "completedAt", "#runs": "runs"},
            ExpressionAttributeValues=to_attributes(
                {
                    ":status": "DONE" if not outcome.changed_meanwhile else "IN_PROGRESS",
                    ":at": at,
                    ":run": [run],
                    ":none": [],
                }
            ),
        )

    def needs_ledger(self, findings: Findings) -> bool:
        """False when nothing is left to change and the ledger already covers the driver (a
        second erase changes nothing, the ledger included)."""
        entry = self.ledger_entry(findings.ledger_key)
        if entry is None or entry.get("status") != "DONE":
            return True
        return bool(findings.changes) or not findings.subject.pseudonyms <= set(entry.get("pseudonyms", ()))

    # --- replay ----------------------------------------------------------------------------------

    def replay_plan(self, logical_id: str, table: str, subject: Subject, at: str) -> list[Step]:
        """Every record of a restored table (`table`, restored from `logical_id`) that the ledger
        says was erased, planned as erase plans it."""
        if logical_id == WHITELIST_AUDIT:
            return self.audit_steps(table, subject)
        planners = {
            CDRS: lambda item: plan_cdr(item, subject, at),
            KEYS: lambda item: plan_key(item, subject),
            SESSIONS: lambda item: plan_session(item, subject),
            DRIVE_ORDERS: lambda item: plan_drive_order(item, subject, at),
            ORDERS: lambda item: plan_emp_order(item, subject, at),
        }
        plan = planners[logical_id]
        scanned = (from_attributes(item) for item in items(self.client.scan, TableName=table))
        return [step for item in scanned if (step := plan(item))]

    # --- reads -----------------------------------------------------------------------------------

    def _get(self, logical_id: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.names[logical_id], Key=to_attributes(key), ConsistentRead=True
        ).get("Item")
        return from_attributes(item) if item else None

    def _query(self, logical_id: str, index: str, attribute: str, value: str) -> Iterator[dict[str, Any]]:
        found = items(
            self.client.query,
            TableName=self.names[logical_id],
            IndexName=index,
            KeyConditionExpression="#h = :v",
            ExpressionAttributeNames={"#h": attribute},
            ExpressionAttributeValues={":v": {"S": value}},
        )
        return (from_attributes(item) for item in found)

    def _scan(self, logical_id: str) -> Iterator[dict[str, Any]]:
        return (from_attributes(item) for item in items(self.client.scan, TableName=self.names[logical_id]))


def replay_subject(pepper: str, ledger: Iterable[Mapping[str, Any]]) -> Subject:
    """Every pseudonym of every ledger entry: a replay re-applies them all."""
    return Subject(
        pepper, frozenset(p for entry in ledger for p in entry.get("pseudonyms", ()) if is_pseudonym(str(p)))
    )


def dead_letters(sqs: Any, queues: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """(queue URL, what it may carry) -> how many messages wait there. Never read nor consumed:
    they are named in the report so the operator can look (`bbctl cdr dlq`) or let them expire."""
    found = []
    for url, carries in queues:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        waiting = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
        found.append({"queue": url.rsplit("/", 1)[-1], "messages": waiting, "mayCarry": carries})
    return found
