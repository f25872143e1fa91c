"""Partner API keys: issuing, hashing, checking, and the caller identity the authorizer hands to
the receiver.

A partner sends `Authorization: key=<api-key>`. We store only the SHA-256 of each key, one item
per key in the partners table, with the partner it is bound to, the messages it may send and the
partner identifiers it may act for. Standard library only: the authorizer imports this on its
cold start, in front of every request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeGuard

from backbone.errors import DomainError
from backbone.oioi.codes import ResultCode
from backbone.timeutil import from_storage, to_storage

API_KEY_BYTES = 32  # 256 bits of entropy
KEY_ID_BYTES = 6

# `key=` then the key: url-safe base64 (what we issue) or a UUID-like key; 16 to 256 characters.
_AUTHORIZATION = re.compile(r"\s*key\s*=\s*(?P<key>[A-Za-z0-9._~+/=-]{16,256})\s*", re.IGNORECASE)
_SLUG_SEPARATORS = re.compile(r"[^a-z0-9]+")


class AccessStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class MalformedCredentials(Exception):
    """The Authorization header is missing or not `key=<api-key>` (HTTP 401, code 210)."""


class AccessDenied(Exception):
    """The key is unknown or revoked (HTTP 403, code 210)."""


class Unauthenticated(DomainError):
    """The receiver got no usable caller identity from the authorizer (HTTP 401, code 210).

    API Gateway always passes one when the authorizer allowed the request, so this means a
    misconfigured route or a direct invocation; we refuse rather than guess."""

    http_status = 401
    code = ResultCode.INVALID_API_KEY


def generate_api_key() -> str:
    """A new random 256-bit key, url-safe base64 (43 characters)."""
    return secrets.token_urlsafe(API_KEY_BYTES)


def generate_key_id() -> str:
    """A short public id for a key: safe to print, log and type (`partners revoke <id>`)."""
    return secrets.token_hex(KEY_ID_BYTES)


def hash_api_key(api_key: str) -> str:
    """SHA-256 of the key, hex. A fast, unsalted hash is right here: our keys are 256 random bits,
    so there is nothing to brute-force or look up in a table (unlike a password, where a slow,
    salted hash such as scrypt or argon2 is needed); a slow hash would only add latency in front
    of every request."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def parse_authorization(header: str | None) -> str:
    """The API key from `Authorization: key=<api-key>` (OIOI, "Sending a Message")."""
    if not header:
        raise MalformedCredentials("missing Authorization header; expected 'Authorization: key=<api-key>'")
    match = _AUTHORIZATION.fullmatch(header)
    if match is None:
        raise MalformedCredentials("malformed Authorization header; expected 'Authorization: key=<api-key>'")
    return match.group("key")


def partner_id_for(name: str) -> str:
    """A stable partner id from a display name (`"ACME Charging GmbH"` -> `acme-charging-gmbh`):
    keys issued under the same name belong to the same partner, so rotating a key keeps
    ownership of the stations that partner pushed."""
    slug = _SLUG_SEPARATORS.sub("-", name.lower()).strip("-")
    if not slug:
        raise ValueError(f"partner name {name!r} has no letters or digits to build an id from")
    return slug


RESERVED_PARTNER_IDS = frozenset({"plugsurfing", "drive-api", "drive", "emp", "oioi", "internal", "local"})
"""Ids under which the product itself stores data (CDRs from the Drive/EMP APIs are stored under
`plugsurfing`, their source is `drive-api`): a partner named so would write into them."""
_PARTNER_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")


class PartnerIdRefused(ValueError):
    """A new key's partner id is malformed, reserved, or collides with another partner's."""


def fold_partner_id(partner_id: str) -> str:
    """What two ids must not share: `Demo-CPO`, `demo_cpo` and `democpo` are one partner to a human."""
    return _SLUG_SEPARATORS.sub("", partner_id.lower())


def check_new_key_owner(
    partner_id: str,
    partner_identifiers: frozenset[str],
    existing: Iterable[PartnerAccess],
    *,
    add_to_existing: bool,
    share_identifiers: bool,
) -> None:
    """Refuse a key whose owner is ambiguous: a malformed or reserved id, an id that differs from
    another partner's only in case or separators, an existing partner joined without saying so
    (or a new one claimed as existing), or partner identifiers another partner uses (unless
    `share_identifiers`). Existing keys are never re-checked: what is stored keeps working."""
    if not _PARTNER_ID.fullmatch(partner_id):
        raise PartnerIdRefused(
            f"partner id {partner_id[:80]!r} must be 1-64 lower-case letters, digits and inner '-'"
        )
    if fold_partner_id(partner_id) in {fold_partner_id(r) for r in RESERVED_PARTNER_IDS}:
        raise PartnerIdRefused(f"partner id {partner_id!r} is reserved for data the product stores itself")
    others = list(existing)
    same = [access for access in others if access.partner_id == partner_id]
    folded = fold_partner_id(partner_id)
    if lookalike := sorted(
        {
            a.partner_id
            for a in others
            if a.partner_id != partner_id and fold_partner_id(a.partner_id) == folded
        }
    ):
        raise PartnerIdRefused(
            f"partner id {partner_id!r} differs from existing partner {lookalike[0]!r} only in case or "
            f"separators; to add a key to it use --partner-id {lookalike[0]} --existing"
        )
    if same and not add_to_existing:
        raise PartnerIdRefused(
            f"partner {partner_id!r} exists already ({same[0].name}); to issue it another key (rotation) "
            "say so with --existing, or choose another --name/--partner-id"
        )
    if add_to_existing and not same:
        raise PartnerIdRefused(f"--existing given, but there is no partner {partner_id!r}")
    shared = {
        identifier: access.partner_id
        for access in others
        if access.partner_id != partner_id and access.active
        for identifier in access.partner_identifiers & partner_identifiers
    }
    if shared and not share_identifiers:
        [(identifier, owner), *_] = sorted(shared.items())
        raise PartnerIdRefused(
            f"partner identifier {identifier!r} is used by partner {owner!r}: two partners acting for one "
            "identifier can post each other's CDRs and stations; --force-shared-identifier if intended"
        )


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the authorizer established it: passed to the receiver in the
    authorizer `context`, whose values must be strings, numbers or booleans (lists are
    JSON-encoded)."""

    partner_id: str
    key_id: str
    messages: frozenset[str]
    partner_identifiers: frozenset[str]

    def may_send(self, message_name: str) -> bool:
        return message_name in self.messages

    def acts_for(self, partner_identifier: str) -> bool:
        return partner_identifier in self.partner_identifiers

    def to_context(self) -> dict[str, str]:
        return {
            "partnerId": self.partner_id,
            "keyId": self.key_id,
            "messages": json.dumps(sorted(self.messages)),
            "partnerIdentifiers": json.dumps(sorted(self.partner_identifiers)),
        }

    @classmethod
    def from_context(cls, context: Mapping[str, Any] | None) -> Caller:
        """Read back `to_context()`; anything else is `Unauthenticated` (never a partial caller)."""
        refused = Unauthenticated("no authenticated partner for this request")
        if context is None:
            raise refused
        try:
            partner_id, key_id = context["partnerId"], context["keyId"]
            messages, identifiers = json.loads(context["messages"]), json.loads(context["partnerIdentifiers"])
        except (KeyError, TypeError, ValueError) as exc:
            raise refused from exc
        if not (isinstance(partner_id, str) and partner_id and isinstance(key_id, str)):
            raise refused
        if not (_strings(messages) and _strings(identifiers)):
            raise refused
        return cls(partner_id, key_id, frozenset(messages), frozenset(identifiers))


def _strings(value: object) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


@dataclass(frozen=True)
class PartnerAccess:
    """One API key: an item of the partners table, keyed by the key's hash."""

    key_hash: str
    key_id: str
    partner_id: str
    name: str
    messages: frozenset[str]
    partner_identifiers: frozenset[str]
    status: AccessStatus
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status is AccessStatus.ACTIVE

    @property
    def usage_key(self) -> str:
        """The key's API Gateway usage identifier (per-key throttling, `usage_plan`): its hash,
        which identifies the key without being one."""
        return self.key_hash

    def caller(self) -> Caller:
        return Caller(self.partner_id, self.key_id, self.messages, self.partner_identifiers)

    def revoked(self, at: datetime) -> PartnerAccess:
        return replace(self, status=AccessStatus.REVOKED, revoked_at=at)

    def to_item(self) -> dict[str, Any]:
        """Plain values (lists, not sets: a DynamoDB set cannot be empty)."""
        item: dict[str, Any] = {
            "keyHash": self.key_hash,
            "keyId": self.key_id,
            "partnerId": self.partner_id,
            "name": self.name,
            "messages": sorted(self.messages),
            "partnerIdentifiers": sorted(self.partner_identifiers),
            "status": self.status.value,
            "createdAt": to_storage(self.created_at),
        }
        if self.revoked_at is not None:
            item["revokedAt"] = to_storage(self.revoked_at)
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> PartnerAccess:
        revoked_at = item.get("revokedAt")
        return cls(
            key_hash=str(item["keyHash"]),
            key_id=str(item["keyId"]),
            partner_id=str(item["partnerId"]),
            name=str(item["name"]),
            messages=frozenset(str(m) for m in item.get("messages") or ()),
            partner_identifiers=frozenset(str(i) for i in item.get("partnerIdentifiers") or ()),
            status=AccessStatus(item["status"]),
            created_at=from_storage(str(item["createdAt"])),
            revoked_at=from_storage(str(revoked_at)) if revoked_at else None,
        )


class AccessReader(Protocol):
    def get(self, key_hash: str) -> PartnerAccess | None: ...


class AccessStore(AccessReader, Protocol):
    def put_new(self, access: PartnerAccess) -> None:
        """Store a new key; never overwrites an existing item."""

    def list_all(self) -> list[PartnerAccess]: ...

    def find_by_key_id(self, key_id: str) -> list[PartnerAccess]: ...

    def save(self, access: PartnerAccess) -> None:
        """Replace an existing key's item."""


def authenticate(authorization: str | None, store: AccessReader) -> PartnerAccess:
    """The active key behind an Authorization header (`.caller()`: who is calling).

    Raises `MalformedCredentials` (answer 401) or `AccessDenied` (answer 403). The item is looked
    up by the key's hash; `compare_digest` then re-checks the stored hash in constant time so no
    code path compares key material with an early-exit `==`, whatever the store does.
    """
    digest = hash_api_key(parse_authorization(authorization))
    access = store.get(digest)
    if access is None or not hmac.compare_digest(access.key_hash, digest):
        raise AccessDenied("unknown API key")
    if not access.active:
        raise AccessDenied(f"API key {access.key_id} is revoked")
    return access


# --- Operator commands (bbctl partners) ----------------------------------------------------------


@dataclass(frozen=True)
class IssuedKey:
    """A new key: `api_key` is shown once to the operator and never stored."""

    api_key: str
    access: PartnerAccess


def issue_key(
    store: AccessStore,
    *,
    enrol: Callable[[PartnerAccess], None],
    name: str,
    partner_identifiers: Iterable[str],
    messages: Iterable[str],
    accepted_messages: frozenset[str],
    now: datetime,
    partner_id: str | None = None,
    add_to_existing: bool = False,
    share_identifiers: bool = False,
) -> IssuedKey:
    """Create a key for a partner, allowed `messages` (a subset of what the endpoint accepts) for
    the given partner identifiers. `enrol` (the usage plan) runs before the key is stored, so a
    stored key is always usable; a key enrolled but not stored is withdrawn by `sync-usage`.
    The owner is checked first (`check_new_key_owner`): raises `PartnerIdRefused`."""
    wanted, identifiers = frozenset(messages), frozenset(i.strip() for i in partner_identifiers)
    if not wanted:
        raise ValueError("at least one message type is required")
    if unknown := sorted(wanted - accepted_messages):
        raise ValueError(
            f"not accepted by this endpoint: {', '.join(unknown)}; choose from {sorted(accepted_messages)}"
        )
    if not identifiers or "" in identifiers:
        raise ValueError("at least one non-empty partner identifier is required")
    owner = partner_id or partner_id_for(name)
    check_new_key_owner(
        owner,
        identifiers,
        store.list_all(),
        add_to_existing=add_to_existing,
        share_identifiers=share_identifiers,
    )
    api_key = generate_api_key()
    access = PartnerAccess(
        key_hash=hash_api_key(api_key),
        key_id=generate_key_id(),
        partner_id=owner,
        name=name,
        messages=wanted,
        partner_identifiers=identifiers,
        status=AccessStatus.ACTIVE,
        created_at=now,
    )
    enrol(access)
    store.put_new(access)
    return IssuedKey(api_key, access)


def revoke_key(store: AccessStore, key_id: str, now: datetime) -> PartnerAccess:
    """Revoke a key by its public id. Idempotent: revoking a revoked key keeps its first time."""
    found = store.find_by_key_id(key_id)
    if len(found) != 1:
        raise LookupError(
            f"no API key with id {key_id!r}" if not found else f"key id {key_id!r} is ambiguous"
        )
    [access] = found
    if not access.active:
        return access
    revoked = access.revoked(now)
    store.save(revoked)
    return revoked
