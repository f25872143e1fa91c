"""Partner API keys: hashing, checking, and the caller identity the authorizer hands to the
receiver (issuing and revoking are operator code: `tools/bbctl/partner_keys.py`).

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
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeGuard

from backbone.errors import DomainError
from backbone.oioi.codes import ResultCode
from backbone.timeutil import from_storage, to_storage

# `key=` then the key: url-safe base64 (what we issue) or a UUID-like key; 16 to 256 characters.
_AUTHORIZATION = re.compile(r"\s*key\s*=\s*(?P<key>[A-Za-z0-9._~+/=-]{16,256})\s*", re.IGNORECASE)


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
