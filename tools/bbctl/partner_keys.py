"""Issuing and revoking partner API keys (`bbctl partners create|revoke`, `bbctl demo load`):
operator code, never in a Lambda. What the authorizer needs to check a key (`PartnerAccess`,
`hash_api_key`, `authenticate`) stays in `backbone.receiver.access`."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from backbone.receiver.access import AccessReader, AccessStatus, PartnerAccess, hash_api_key

API_KEY_BYTES = 32  # 256 bits of entropy
KEY_ID_BYTES = 6
_SLUG_SEPARATORS = re.compile(r"[^a-z0-9]+")


def generate_api_key() -> str:
    """A new random 256-bit key, url-safe base64 (43 characters)."""
    return secrets.token_urlsafe(API_KEY_BYTES)


def generate_key_id() -> str:
    """A short public id for a key: safe to print, log and type (`partners revoke <id>`)."""
    return secrets.token_hex(KEY_ID_BYTES)


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


class AccessStore(AccessReader, Protocol):
    def put_new(self, access: PartnerAccess) -> None:
        """Store a new key; never overwrites an existing item."""

    def list_all(self) -> list[PartnerAccess]: ...

    def find_by_key_id(self, key_id: str) -> list[PartnerAccess]: ...

    def save(self, access: PartnerAccess) -> None:
        """Replace an existing key's item."""


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
