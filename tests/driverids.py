"""Driver identifiers the tests use (the OIOI seed's staging UIDs, the sample events' keys,
contract ids and users) and the check that a text holds none of them, in any spelling: as
written, upper or lower case, a UID as the partner APIs' little-endian key identifier, a contract
id with or without its separators. Shared by the unit, integration and e2e privacy tests
(docs/privacy.md, "Logs and traces")."""

from __future__ import annotations

import re
from collections.abc import Iterable

from backbone.oioi.identifiers import UID_LENGTHS, uid_to_key_identifier

UIDS = ("04523022AA4881", "0477BD22AA4880", "0477BD22AA4AAA", "3633E0E0")
"""The seed's active, inactive and unknown staging UIDs, and the sample events' 4-byte key."""
CONTRACT_IDS = ("DE*8PS*CD0C00*2", "DE-9FS-C045DS363-E", "DE-8PS-C0CD0C002-Q", "DE*8PS*123456*7")
USER_IDS = ("sample-user-1",)
NAMES = ("Erika Mustermann",)
ADDRESSES = ("Heidestraße 17",)
KNOWN = (*UIDS, *CONTRACT_IDS, *USER_IDS, *NAMES, *ADDRESSES)

_HEX = re.compile(r"[0-9A-Fa-f]+")


def spellings(identifier: str) -> set[str]:
    """Every way a log line could spell `identifier`."""
    forms = {identifier, identifier.upper(), identifier.lower()}
    if _HEX.fullmatch(identifier) and len(identifier) in UID_LENGTHS:
        key_identifier = uid_to_key_identifier(identifier.upper())
        forms |= {key_identifier, key_identifier.upper()}
    bare = re.sub(r"[*-]", "", identifier)
    if bare != identifier and " " not in identifier:
        forms |= {
            bare,
            bare.upper(),
            bare.lower(),
            identifier.replace("*", "-"),
            identifier.replace("-", "*"),
        }
    return forms


def leaks(text: str, identifiers: Iterable[str] = KNOWN) -> list[str]:
    """The lines of `text` that hold one of `identifiers` in some spelling."""
    forms = {form for identifier in identifiers for form in spellings(identifier)}
    return [line for line in text.splitlines() if any(form in line for form in forms)]
