"""Pseudonyms: driver identifiers as a keyed hash (docs/privacy.md, "Pseudonymisation").

A pseudonym is HMAC-SHA256 of the identifier under a secret pepper (`PrivacyPepperSecret`,
read through `backbone.aws.secrets.get_pepper`), so the same driver always gets the same
pseudonym (billing, dedupe and `bbctl privacy find` keep working) while nobody without the pepper
can go back from it or confirm a guess. The value hashed is the driver's canonical index key
(`Driver.key`, e.g. `rfid#04523022AA4881`): the one spelling ingestion already gives every driver,
so `4523022aa4881` and `04523022AA4881` get one pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

PSEUDONYM_PREFIX = "h1:"
"""Version of the scheme: a later scheme (another hash, a rotated pepper) gets another prefix, so
stored pseudonyms say how they were made."""
PEPPER_MIN_LENGTH = 32


def pseudonym(pepper: str, identifier: str) -> str:
    """`h1:` + 32 hex digits (128 bits of HMAC-SHA256): stable per (pepper, identifier)."""
    if len(pepper) < PEPPER_MIN_LENGTH:
        raise ValueError(f"a pepper has at least {PEPPER_MIN_LENGTH} characters")
    # surrogatepass: a flagged identifier may hold a lone surrogate (JSON allows `\ud800`); it
    # still gets a pseudonym, so the CDR the receiver accepted is stored, never stuck.
    data = identifier.encode("utf-8", "surrogatepass")
    digest = hmac.new(pepper.encode("utf-8"), data, hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:32]


def is_pseudonym(value: str) -> bool:
    return value.startswith(PSEUDONYM_PREFIX) and len(value) == len(PSEUDONYM_PREFIX) + 32


Pseudonymiser = Callable[[str], str]
"""An identifier (a canonical driver key such as `rfid#04523022AA4881`) -> its pseudonym."""


def pseudonymiser(pepper: Callable[[], str]) -> Pseudonymiser:
    """`pseudonym` under the pepper `pepper()` gives at each call (the wiring passes the cached
    secret reader, so logic gets a pure callable and never sees the secret)."""

    def pseudonymise(identifier: str) -> str:
        return pseudonym(pepper(), identifier)

    return pseudonymise
