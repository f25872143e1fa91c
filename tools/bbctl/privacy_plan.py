"""Data-subject requests (docs/privacy.md, "Data-subject requests"): which stored record holds
a driver, and what erasing the driver does to it. Pure: items in, steps out; `bbctl.ops_privacy`
reads the items and applies the steps.

A driver is named by the canonical keys ingestion gives drivers (`Driver.key`: `rfid#<UID>`,
`evco-id#<contract id>`, `drive-user#<user id>`), held only as pseudonyms (`Subject`). The same
rule decides for `find`, `erase` and `replay` (after a point-in-time restore, where the ledger
holds nothing but the pseudonyms): an item belongs to the driver when one of its identifiers,
spelled as ingestion spells it and pseudonymised, or one of its pseudonyms, is the subject's.

What erasing does, and why:
- CDRs are pseudonymised (`backbone.privacy.cdr.pseudonymise_update`): billing fields stay, they
  are accounting records. A record written before pseudonymisation at write (its `driverKey` or
  `raw` still holds the identifier) gets both rewritten with the pseudonym too.
- Sessions are deleted once settled (a running one is left to a re-run).
- Charging-key records are deleted: the UID is the identifier itself. Key sync, on the table
  stream, then disables the key at Plugsurfing.
- Drive key orders keep their accounting fields; address and payment option are blanked and the
  user id becomes the pseudonym, once the order is settled. EMP orders (an organisation's) get the
  driver's UIDs replaced; their address is blanked only when every key of the order is the driver's.
- Whitelist audit lists are rewritten without the driver's UIDs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from backbone.aws.attributes import to_attributes
from backbone.cdr.intake import driver_spelling
from backbone.cdr.models import DriverType
from backbone.oioi.identifiers import InvalidIdentifier, key_identifier_to_uid
from backbone.orders.models import DriveRequestState
from backbone.privacy.cdr import PSEUDONYMISED_AT, is_pseudonymised, pseudonymise_update
from backbone.privacy.pseudonym import is_pseudonym, pseudonym
from backbone.sessions.models import Status, is_settled

# Logical ids of the tables a driver can be in (template.yaml).
CDRS = "CdrTable"
KEYS = "ChargingKeysTable"
SESSIONS = "SessionsTable"
DRIVE_ORDERS = "DriveOrdersTable"
ORDERS = "OrdersTable"
WHITELIST_AUDIT = "WhitelistAuditTable"
TABLES = (CDRS, KEYS, SESSIONS, DRIVE_ORDERS, ORDERS, WHITELIST_AUDIT)

ERASED_AT = "erasedAt"
_OPEN_DRIVE_ORDERS = frozenset(
    {DriveRequestState.PENDING, DriveRequestState.ORDERING, DriveRequestState.ORDERED}
)


class Action(StrEnum):
    DELETE = "delete"
    PSEUDONYMISE = "pseudonymise"
    BLANK = "blank"
    REWRITE = "rewrite"
    DONE = "done"  # found, holds nothing to erase any more (erased before, or pseudonymised)
    WAIT = "wait"  # still in use: a re-run once it has settled erases it


class Operation(StrEnum):
    UPDATE = "update"  # UpdateItem with `update` (ConditionExpression included)
    DELETE = "delete"  # DeleteItem with `condition`
    REWRITE_LIST = "rewrite-list"  # store `uids` as the attempt's list (WhitelistAuditTable)


@dataclass(frozen=True)
class Subject:
    """A driver as pseudonyms of its canonical keys; `pepper` only to pseudonymise what is read."""

    pepper: str = field(repr=False)
    pseudonyms: frozenset[str]

    @classmethod
    def of(cls, pepper: str, driver_keys: Iterable[str]) -> Subject:
        return cls(pepper, frozenset(pseudonym(pepper, key) for key in driver_keys))

    def with_keys(self, driver_keys: Iterable[str]) -> Subject:
        return Subject(self.pepper, self.pseudonyms | {pseudonym(self.pepper, key) for key in driver_keys})

    def pseudonym(self, driver_key: str) -> str:
        return pseudonym(self.pepper, driver_key)

    def holds(self, kind: DriverType, value: str | None) -> bool:
        """`value` (raw, in any spelling ingestion accepts, or a pseudonym) is the subject's."""
        if not value:
            return False
        if is_pseudonym(value):
            return value in self.pseudonyms
        return self.pseudonym(driver_key(kind, value)) in self.pseudonyms


def driver_key(kind: DriverType, value: str) -> str:
    """The canonical key ingestion gives a driver (`Driver.key`), from any accepted spelling."""
    return f"{kind.value}#{driver_spelling(kind, value.strip())}"


@dataclass(frozen=True)
class Step:
    """One stored record of the driver and what erasing does to it (`why` says why)."""

    table: str
    key: dict[str, Any]
    what: str
    action: Action
    why: str
    operation: Operation | None = None
    update: dict[str, Any] | None = None
    condition: dict[str, Any] | None = None
    uids: tuple[str, ...] = ()

    @property
    def changes(self) -> bool:
        return self.operation is not None

    def view(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "key": {name: str(value) for name, value in self.key.items()},
            "what": self.what,
            "action": self.action.value,
            "why": self.why,
        }


# --- CDRs ----------------------------------------------------------------------------------------


def plan_cdr(item: Mapping[str, Any], subject: Subject, at: str) -> Step | None:
    """A CdrTable item (current record or correction)."""
    kind = _driver_type(item.get("driverType"))
    if kind is None:
        return None
    driver_id, driver_hash = str(item.get("driverId", "")), str(item.get("driverHash", ""))
    index_key = str(item.get("driverKey", ""))
    indexed = index_key.partition("#")[2]
    if not (
        subject.holds(kind, driver_id) or subject.holds(kind, driver_hash) or subject.holds(kind, indexed)
    ):
        return None
    raw_id = next((value for value in (driver_id, indexed) if value and not is_pseudonym(value)), None)
    alias = driver_hash if is_pseudonym(driver_hash) else subject.pseudonym(driver_key(kind, raw_id or ""))
    key = {"pk": item["pk"], "sk": item["sk"]}
    what = (
        f"CDR {item.get('kind', '')} {item.get('status', '')} "
        f"partner {item.get('partnerId')} session {item.get('sessionId')}"
    )
    raw = str(item.get("raw", ""))
    legacy: dict[str, str] = {}
    if not is_pseudonym(indexed):
        legacy["driverKey"] = f"{kind.value}#{alias}"
    if raw_id is not None:
        redacted = redact(raw, kind, raw_id, alias)
        if redacted != raw:
            legacy["raw"] = redacted
    if is_pseudonymised(item) and not legacy:
        return Step(CDRS, key, what, Action.DONE, "pseudonymised; billing fields kept (accounting record)")
    why = "driver identifier replaced by its pseudonym; billing fields and payload hash kept (accounting)"
    if legacy:
        why += "; index key and stored payload too (stored before pseudonymisation at write)"
    return Step(
        CDRS, key, what, Action.PSEUDONYMISE, why, Operation.UPDATE, _cdr_update(item, alias, at, legacy)
    )


def _cdr_update(item: Mapping[str, Any], alias: str, at: str, legacy: Mapping[str, str]) -> dict[str, Any]:
    if not is_pseudonymised(item):
        update = pseudonymise_update(alias, at)
    else:  # pseudonymised by the retention purge, but an old record: only its index key and payload
        update = {
            "UpdateExpression": "SET #at = if_not_exists(#at, :at)",
            "ConditionExpression": "#driverId = :pseudonym",
            "ExpressionAttributeNames": {"#at": PSEUDONYMISED_AT, "#driverId": "driverId"},
            "ExpressionAttributeValues": {":pseudonym": {"S": alias}, ":at": {"S": at}},
        }
    for number, (name, value) in enumerate(sorted(legacy.items())):
        update["UpdateExpression"] += f", #legacy{number} = :legacy{number}"
        update["ExpressionAttributeNames"][f"#legacy{number}"] = name
        update["ExpressionAttributeValues"][f":legacy{number}"] = {"S": value}
    return update


def redact(text: str, kind: DriverType, identifier: str, alias: str) -> str:
    """`text` (a stored partner payload) with `identifier` in any spelling ingestion reads as the
    same driver (UIDs in any case and without leading zeros, contract ids with or without
    separators) replaced by `alias`."""
    if kind is DriverType.RFID:
        body = identifier.lstrip("0") or "0"
        pattern = rf"(?<![0-9A-Fa-f])0*{re.escape(body)}(?![0-9A-Fa-f])"
    elif kind is DriverType.EVCO_ID:
        pattern = r"[*-]?".join(re.escape(char) for char in identifier)
    else:  # free text (user names, user ids): only where it is a whole JSON string
        return text.replace(json.dumps(identifier), json.dumps(alias))
    return re.sub(pattern, alias, text, flags=re.IGNORECASE)


# --- charging keys -------------------------------------------------------------------------------


def key_holds(item: Mapping[str, Any], subject: Subject) -> bool:
    partner = item.get("partner") or {}
    owner = item.get("ownerId") if item.get("ownerType") == "user" else None
    return (
        subject.holds(DriverType.RFID, str(item.get("uid", "")))
        or subject.holds(DriverType.EVCO_ID, item.get("contractId"))
        or subject.holds(DriverType.DRIVE_USER, owner)
        or subject.holds(DriverType.DRIVE_USER, partner.get("userId"))
    )


def key_identities(item: Mapping[str, Any]) -> list[str]:
    """The driver keys a key record names: the key itself, its contract, its user owner."""
    found = [driver_key(DriverType.RFID, str(item["uid"]))]
    if item.get("contractId"):
        found.append(driver_key(DriverType.EVCO_ID, str(item["contractId"])))
    if item.get("ownerType") == "user" and item.get("ownerId"):
        found.append(driver_key(DriverType.DRIVE_USER, str(item["ownerId"])))
    return found


def plan_key(item: Mapping[str, Any], subject: Subject) -> Step | None:
    if not key_holds(item, subject):
        return None
    return Step(
        KEYS,
        {"uid": item["uid"]},
        f"charging key {item['uid']} ({item.get('state', '?')}, visual {item.get('visualNumber', '-')})",
        Action.DELETE,
        "the UID is the driver's identifier; key sync then disables the key at Plugsurfing",
        Operation.DELETE,
        condition={"ConditionExpression": "attribute_exists(uid)"},
    )


# --- sessions ------------------------------------------------------------------------------------


def plan_session(item: Mapping[str, Any], subject: Subject) -> Step | None:
    uid = _uid_of_key_identifier(item.get("keyIdentifier"))
    if not (subject.holds(DriverType.DRIVE_USER, item.get("userId")) or subject.holds(DriverType.RFID, uid)):
        return None
    key = {"requestId": item["requestId"]}
    where = item.get("evseId") or item.get("connectorId", "-")
    what = f"session {item.get('sessionId') or item['requestId']} ({item.get('status', '?')}, EVSE {where})"
    if not _settled(item):
        return Step(SESSIONS, key, what, Action.WAIT, "still running: erase again once it has settled")
    return Step(
        SESSIONS,
        key,
        what,
        Action.DELETE,
        "who charged where and when; the CDR keeps what billing needs",
        Operation.DELETE,
        condition={"ConditionExpression": "attribute_exists(requestId)"},
    )


def _settled(item: Mapping[str, Any]) -> bool:
    try:
        status = Status(str(item.get("status")))
    except ValueError:
        return False
    balance = item.get("balanceStatus")
    return (
        is_settled(status, str(balance) if balance is not None else None) or status is Status.FAILED_TO_START
    )


def _uid_of_key_identifier(value: Any) -> str | None:
    if not value:
        return None
    try:
        return key_identifier_to_uid(str(value))
    except InvalidIdentifier:
        return None


# --- key orders ----------------------------------------------------------------------------------


def plan_drive_order(item: Mapping[str, Any], subject: Subject, at: str) -> Step | None:
    user = str(item.get("userId", ""))
    if not subject.holds(DriverType.DRIVE_USER, user):
        return None
    key = {"requestId": item["requestId"]}
    what = f"Drive key order {item['requestId']} ({item.get('state', '?')}, order {item.get('orderId', '-')})"
    if is_pseudonym(user) and not item.get("address") and "paymentOptionId" not in item:
        return Step(DRIVE_ORDERS, key, what, Action.DONE, "name and address blanked; kept for accounting")
    if item.get("state") in _OPEN_DRIVE_ORDERS:
        return Step(
            DRIVE_ORDERS, key, what, Action.WAIT, "still being ordered or tracked: erase again once settled"
        )
    alias = user if is_pseudonym(user) else subject.pseudonym(driver_key(DriverType.DRIVE_USER, user))
    update = {
        "UpdateExpression": "SET #user = :alias, #address = :blank, #at = :at REMOVE #payment",
        "ConditionExpression": "#user = :user",
        "ExpressionAttributeNames": {
            "#user": "userId",
            "#address": "address",
            "#at": ERASED_AT,
            "#payment": "paymentOptionId",
        },
        "ExpressionAttributeValues": to_attributes({":alias": alias, ":blank": {}, ":at": at, ":user": user}),
    }
    why = "name and address blanked, user id pseudonymised; the order is kept for accounting"
    return Step(DRIVE_ORDERS, key, what, Action.BLANK, why, Operation.UPDATE, update)


def plan_emp_order(item: Mapping[str, Any], subject: Subject, at: str) -> Step | None:
    if not str(item.get("pk", "")).startswith("ORDER#"):
        return None
    keys = [dict(key) for key in item.get("keys") or []]
    theirs = [key for key in keys if subject.holds(DriverType.RFID, str(key.get("uid", "")))]
    if not theirs:
        return None
    what = f"EMP key order {item.get('orderId', item['pk'])} ({item.get('state', '?')}, {len(keys)} key(s))"
    everything = len(theirs) == len(keys)
    raw = [key for key in theirs if not is_pseudonym(str(key["uid"]))]
    if not raw and (not everything or not item.get("address")):
        return Step(
            ORDERS,
            {"pk": item["pk"]},
            what,
            Action.DONE,
            "the driver's UIDs pseudonymised; kept for accounting",
        )
    rewritten = [
        {**key, "uid": subject.pseudonym(driver_key(DriverType.RFID, str(key["uid"])))} if key in raw else key
        for key in keys
    ]
    sets = ["#keys = :keys", "#at = :at"]
    values: dict[str, Any] = {":keys": rewritten, ":at": at, ":old": item.get("keys") or []}
    why = "the driver's UIDs replaced by their pseudonym"
    if everything:
        sets.append("#address = :blank")
        values[":blank"] = {}
        why += ", address blanked (every key of the order is the driver's)"
    else:
        why += "; the address is the organisation's (other keys on the order): kept"
    update = {
        "UpdateExpression": "SET " + ", ".join(sets),
        "ConditionExpression": "#keys = :old",
        "ExpressionAttributeNames": {"#keys": "keys", "#at": ERASED_AT}
        | ({"#address": "address"} if everything else {}),
        "ExpressionAttributeValues": to_attributes(values),
    }
    action = Action.BLANK if everything else Action.PSEUDONYMISE
    return Step(
        ORDERS,
        {"pk": item["pk"]},
        what,
        action,
        why + "; the order is kept for accounting",
        Operation.UPDATE,
        update,
    )


# --- whitelist audit -----------------------------------------------------------------------------


def plan_audit_list(attempt_key: str, uids: list[str], subject: Subject) -> Step | None:
    """A sent UID list of the whitelist audit (`AuditStore.sent_uids`)."""
    kept = tuple(uid for uid in uids if not subject.holds(DriverType.RFID, uid))
    if len(kept) == len(uids):
        return None
    return Step(
        WHITELIST_AUDIT,
        {"pk": f"LIST#{attempt_key}"},
        f"whitelist list sent at {attempt_key.partition('#')[0]} ({len(uids)} UIDs)",
        Action.REWRITE,
        "the audit keeps the list without the driver's UID (its count and checksum stay as sent)",
        Operation.REWRITE_LIST,
        uids=kept,
    )


def plan_audit_attempt(item: Mapping[str, Any], subject: Subject) -> Step | None:
    """A push attempt whose skipped UIDs (invalid or duplicate) name the driver."""
    skipped = [dict(entry) for entry in item.get("skipped") or []]
    kept = [entry for entry in skipped if not _uid_text_held(str(entry.get("uid", "")), subject)]
    if len(kept) == len(skipped):
        return None
    update = {
        "UpdateExpression": "SET #skipped = :kept",
        "ConditionExpression": "#skipped = :old",
        "ExpressionAttributeNames": {"#skipped": "skipped"},
        "ExpressionAttributeValues": to_attributes({":kept": kept, ":old": item["skipped"]}),
    }
    return Step(
        WHITELIST_AUDIT,
        {"pk": item["pk"], "sk": item["sk"]},
        f"whitelist push attempt {item['sk']} (skipped UIDs)",
        Action.REWRITE,
        "the driver's UID removed from the skipped list",
        Operation.UPDATE,
        update,
    )


def _uid_text_held(text: str, subject: Subject) -> bool:
    try:
        return subject.holds(DriverType.RFID, text)
    except (InvalidIdentifier, ValueError):
        return False


def _driver_type(value: Any) -> DriverType | None:
    try:
        return DriverType(str(value))
    except ValueError:
        return None


# --- what Plugsurfing must be asked ----------------------------------------------------------------


def plugsurfing_requests(
    steps: Iterable[Step], keys: Iterable[Mapping[str, Any]], user_ids: Iterable[str]
) -> list[str]:
    """What we cannot erase ourselves: Plugsurfing holds the user, the keys and its own CDRs."""
    requests = [
        f"Drive: delete user {user} (their charging keys, sessions and order history with it)"
        for user in sorted(set(user_ids))
        if not is_pseudonym(user)
    ]
    for key in keys:
        requests.append(
            f"EMP/Drive: delete charging key {key.get('keyIdentifier') or key['uid']} "
            f"(UID {key['uid']}, visual number {key.get('visualNumber', '-')}); our key sync only disables it"
        )
    cdrs = sorted({f"{s.key['pk']}" for s in steps if s.table == CDRS})
    if cdrs:
        requests.append(
            f"Plugsurfing's own copies of {len(cdrs)} CDR session(s) ({', '.join(cdrs[:20])}"
            f"{', ...' if len(cdrs) > 20 else ''}): erase or pseudonymise the driver identifier"
        )
    orders = sorted(
        {str(s.key.get("requestId") or s.key.get("pk")) for s in steps if s.table in {DRIVE_ORDERS, ORDERS}}
    )
    if orders:
        requests.append(f"key orders {', '.join(orders)}: the shipping name and address Plugsurfing holds")
    return requests
