"""Where our charging key meets the partner APIs' `keyIdentifier`, in one place.

We name a key by its UID (OIOI: big-endian hex, upper case, zero-padded to 8/14/20) or by its
key identifier. The EMP API documents exactly one form for `keyIdentifier` (charging keys, create,
enable, disable, session start): hexadecimal, little-endian. Drive's reservation `uid` is the
same. `partner_key_identifier` derives it from our UID; key sync and session start both call it,
so no path sends a form it was merely handed.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Protocol

from backbone.keys.models import ChargingKey
from backbone.oioi.identifiers import InvalidIdentifier, key_identifier_to_uid, uid_to_key_identifier


class KeyLookup(Protocol):
    """Reading a key by UID (KeyStore fits)."""

    def get(self, uid: str) -> ChargingKey | None: ...


def partner_key_identifier(key: ChargingKey) -> str:
    """The key's `keyIdentifier` for Plugsurfing: its UID's bytes reversed, lower-case hex."""
    return uid_to_key_identifier(key.uid)


def find_our_key(identifier: str, keys: KeyLookup) -> ChargingKey | None:
    """Our key named by its UID (any case, padding optional) or its key identifier (little-endian
    hex). A UID is tried first: the same hex can be read both ways, and the UID is how OIOI and
    the warehouse name a key. None when it names no key of ours (or is no identifier at all)."""
    text = identifier.strip()
    readings = [text]
    with suppress(InvalidIdentifier):
        readings.append(key_identifier_to_uid(text))
    for uid in readings:
        try:
            key = keys.get(uid)
        except InvalidIdentifier:
            continue
        if key is not None:
            return key
    return None


def identifier_forms(key: ChargingKey) -> set[str]:
    """The key identifier as we send it (little-endian) and byte-reversed (the OIOI UID, lower):
    Plugsurfing's lists echo either, so matching a listed key to ours accepts both."""
    return {partner_key_identifier(key), key.key_identifier.lower(), key.uid.lower()}
