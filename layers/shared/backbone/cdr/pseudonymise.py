"""Pseudonymisation at write (docs/privacy.md, "Pseudonymisation"): what ingestion stores about
the driver of a CDR.

- `driverHash`: the driver's pseudonym (`backbone.privacy.pseudonym` of `Driver.key`), so two
  spellings of one key (`4523022aa4881`, `04523022AA4881`) are one pseudonym;
- `driverKey` = `<type>#<pseudonym>`: the ByDriver index never holds a raw identifier;
- `raw`: the partner's JSON with every driver identifier replaced by the pseudonym (OIOI
  `user.identifier`; Drive/EMP user ids, key uids and identifiers, contract ids/EMAIDs, printed key
  numbers) and the OIOI `user.token` (a credential) left out. Numbers keep their spelling; a
  payload with nothing to redact is kept as sent.

`driverId` keeps the canonical raw id for billing until the retention purge pseudonymises it
(`backbone.privacy.cdr`). The payload hash is the parser's, computed from the original payload, so
a redelivery is a DUPLICATE whatever was redacted or purged since.

Pure: the pepper stays behind the `Pseudonymiser` (wired from `PrivacyPepperSecret`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any

from backbone.cdr.canonical import canonical_json
from backbone.cdr.models import Cdr, StoredCdr
from backbone.privacy.pseudonym import Pseudonymiser, is_pseudonym

DRIVER_FIELDS = frozenset(
    {
        "userid",
        "uid",
        "keyid",
        "keyidentifier",
        "contractid",
        "emaid",
        "evcoid",
        "referenceid",
        "visualnumber",
    }
)
"""Member names (lower case, without `-`/`_`) that name a driver or their key in the partner APIs
(seeds 000/001/003: `userId`, `uid`, `keyId`, `keyIdentifier`, `contractId`, `referenceId`,
`visualNumber`; EMAID/EVCO ID spellings). Replaced wherever they appear in `raw`."""
OIOI_USER = "user"
OIOI_IDENTIFIER = "identifier"
OIOI_TOKEN = "token"  # noqa: S105 - a member name; seed 002: it authenticates the user, never stored
_SEPARATORS = re.compile(r"[-_]")


def pseudonymised(cdr: Cdr, pseudonymise: Pseudonymiser) -> Cdr:
    """`cdr` as it is stored: the driver's pseudonym set, `raw` redacted."""
    driver = cdr.driver
    if driver is not None and driver.pseudonym is None:
        driver = driver.model_copy(update={"pseudonym": pseudonymise(driver.key)})

    def replacement(name: str, value: Any) -> str:
        if driver is not None and driver.pseudonym is not None:
            return driver.pseudonym
        if isinstance(value, str) and is_pseudonym(value):
            return value  # redacted already: redacting twice changes nothing
        # No readable driver (a flagged record): still no identifier, one stable pseudonym per value.
        return pseudonymise(f"{name}#{canonical_json(value)}")

    # `raw` passed parse_cdr (json_value: depth bounded, no NaN), so a plain parse reads it.
    payload = json.loads(cdr.raw, parse_float=Decimal)
    redacted = _redact(payload, replacement)
    # Nothing to redact (a Drive/EMP session names no driver): the partner's text as sent.
    raw = cdr.raw if redacted == payload else json_text(redacted)
    return cdr.model_copy(update={"driver": driver, "raw": raw})


REWRITTEN = ("driverHash", "driverKey", "raw")


def legacy_rewrite(item: dict[str, Any], pseudonymise: Pseudonymiser) -> dict[str, Any] | None:
    """UpdateItem arguments (without Key/TableName) that bring an item stored before
    pseudonymisation at write (raw id in `driverKey` and `raw`, no `driverHash`) to the layout
    above; None if it has it already. Only `driverHash`, `driverKey` and `raw` change (never a
    correction, never a billing event); conditional on the item being unchanged since it was read.
    For the retention purge, before `backbone.privacy.cdr.pseudonymise_update`."""
    stored = StoredCdr.from_item(item)
    current = pseudonymised(stored.cdr, pseudonymise).to_item(stored.kind)
    changed = [name for name in REWRITTEN if name in current and current[name] != item.get(name)]
    if not changed:
        return None
    names = {f"#{name}": name for name in changed} | {"#raw": "raw", "#hash": "payloadHash"}
    values = {f":{name}": {"S": current[name]} for name in changed}
    return {
        "UpdateExpression": "SET " + ", ".join(f"#{name} = :{name}" for name in changed),
        "ConditionExpression": "#hash = :hash AND #raw = :was",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values
        | {":hash": {"S": item["payloadHash"]}, ":was": {"S": item["raw"]}},
    }


def _redact(value: Any, replacement: Callable[[str, Any], str]) -> Any:
    if isinstance(value, list):
        return [_redact(item, replacement) for item in value]
    if not isinstance(value, dict):
        return value
    redacted: dict[str, Any] = {}
    for name, member in value.items():
        if member is None:
            redacted[name] = None
        elif name == OIOI_USER:
            redacted[name] = _redact_user(member, replacement)
        elif _SEPARATORS.sub("", name).lower() in DRIVER_FIELDS:
            redacted[name] = replacement(name, member)
        else:
            redacted[name] = _redact(member, replacement)
    return redacted


def _redact_user(user: Any, replacement: Callable[[str, Any], str]) -> Any:
    """OIOI `user`: the identifier becomes the pseudonym, the token goes; anything else that is
    not an object (a partner sending the bare identifier) is replaced whole."""
    if not isinstance(user, dict):
        return replacement(OIOI_USER, user)
    kept = {name: member for name, member in user.items() if name != OIOI_TOKEN}
    if kept.get(OIOI_IDENTIFIER) is not None:
        kept[OIOI_IDENTIFIER] = replacement(OIOI_IDENTIFIER, kept[OIOI_IDENTIFIER])
    return _redact(kept, replacement)


def json_text(value: Any) -> str:
    """Parsed JSON (numbers as int or Decimal) back to text: member order kept, numbers as
    written (`Decimal("16.50")` -> `16.50`), nulls kept; compact separators."""
    if isinstance(value, dict):
        members = ",".join(f"{json_text(str(key))}:{json_text(item)}" for key, item in value.items())
        return "{" + members + "}"
    if isinstance(value, list):
        return "[" + ",".join(json_text(item) for item in value) + "]"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (`"\\ud800"` as sent) stays escaped
            return encode_basestring_ascii(value)
        return encode_basestring(value)
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value)
