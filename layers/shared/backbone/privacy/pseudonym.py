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
import time
from collections.abc import Callable
from typing import Any

PSEUDONYM_PREFIX = "h1:"
"""Version of the scheme: a later scheme (another hash, a rotated pepper) gets another prefix, so
stored pseudonyms say how they were made."""
PEPPER_MIN_LENGTH = 32


def pseudonym(pepper: str, identifier: str) -> str:
    """`h1:` + 32 hex digits (128 bits of HMAC-SHA256): stable per (pepper, identifier)."""
    return _digest(_keyed(pepper), identifier)


def _keyed(pepper: str) -> hmac.HMAC:
    if len(pepper) < PEPPER_MIN_LENGTH:
        raise ValueError(f"a pepper has at least {PEPPER_MIN_LENGTH} characters")
    return hmac.new(pepper.encode("utf-8"), digestmod=hashlib.sha256)


def _digest(keyed: hmac.HMAC, identifier: str) -> str:
    mac = keyed.copy()
    # surrogatepass: a flagged identifier may hold a lone surrogate (JSON allows `\ud800`); it
    # still gets a pseudonym, so the CDR the receiver accepted is stored, never stuck.
    mac.update(identifier.encode("utf-8", "surrogatepass"))
    return PSEUDONYM_PREFIX + mac.hexdigest()[:32]


def is_pseudonym(value: str) -> bool:
    return value.startswith(PSEUDONYM_PREFIX) and len(value) == len(PSEUDONYM_PREFIX) + 32


Pseudonymiser = Callable[[str], str]
"""An identifier (a canonical driver key such as `rfid#04523022AA4881`) -> its pseudonym."""


PEPPER_REFRESH_SECONDS = 60.0


def pseudonymiser(
    pepper: Callable[[], str],
    *,
    refresh_seconds: float = PEPPER_REFRESH_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> Pseudonymiser:
    """`pseudonym` under the pepper `pepper()` gives (the wiring passes the cached secret reader,
    so logic gets a pure callable and never sees the secret). The keyed hash is set up once and
    `pepper()` asked again every `refresh_seconds`: asking per identifier cost more than hashing
    it (benchmarks/cdr_ingest.py), and the secret is never rotated in place."""
    state: dict[str, Any] = {"keyed": None, "at": 0.0}

    def pseudonymise(identifier: str) -> str:
        now = clock()
        if state["keyed"] is None or now - state["at"] >= refresh_seconds:
            state["keyed"], state["at"] = _keyed(pepper()), now
        return _digest(state["keyed"], identifier)

    return pseudonymise
