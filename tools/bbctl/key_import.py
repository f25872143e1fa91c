"""Charging keys from a CSV file (`bbctl keys import`): parse, validate (also against the table)
and add them IN_STOCK, all or nothing. Operator code, handed the key table as an argument; no
Lambda runs it, so it is not in the layer."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from backbone.keys.lifecycle import new_key
from backbone.keys.models import ChargingKey, KeyType
from backbone.oioi.identifiers import InvalidIdentifier, is_contract_id, key_identifier_to_uid, normalise_uid
from backbone.timeutil import from_storage

if TYPE_CHECKING:
    from backbone.keys.ports import KeyRepository

UidOrder = Literal["big", "little"]

IMPORT_TYPES: tuple[KeyType, ...] = ("tag", "card")
_COLUMNS = {
    "uid": "uid",
    "visualnumber": "visual_number",
    "referenceid": "visual_number",
    "type": "type",
    "contractid": "contract_id",
    "evcoid": "contract_id",
    "validfrom": "valid_from",
    "validto": "valid_to",
    "name": "name",
}


@dataclass(frozen=True)
class RowError:
    """A rejected line of the file (1-based, the header is line 1)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ParsedImport:
    """Good rows as new keys (with their line numbers) and the bad rows."""

    keys: list[tuple[int, ChargingKey]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class ImportResult:
    """`imported` were written; `errors` were rejected. With errors and no `skip_bad`, nothing is
    written (`imported` is empty)."""

    imported: list[ChargingKey]
    errors: list[RowError]
    total_rows: int

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_keys_csv(text: str, now: datetime, *, uid_order: UidOrder = "big") -> ParsedImport:
    """Parse and validate a key file on its own (no table look-ups).

    Columns (header row, any case, `_`/`-`/spaces ignored): `uid` and `visual_number` required;
    `type` (tag|card, default tag), `contract_id`, `valid_from`, `valid_to`, `name` optional.
    `uid` is read as the reader prints it: big-endian (MSB first, the OIOI form) unless
    `uid_order="little"` says the reader printed the chip's bytes LSB first.
    """
    parsed = ParsedImport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), skipinitialspace=True)
    columns = {name: _COLUMNS.get(_header(name)) for name in reader.fieldnames or []}
    missing = {"uid", "visual_number"} - set(columns.values())
    if missing:
        found = ", ".join(reader.fieldnames or []) or "nothing"
        needed = " and ".join(sorted(missing))
        parsed.errors.append(RowError(1, f"header must name the columns {needed}; found {found}"))
        return parsed
    first_line: dict[tuple[str, str], int] = {}
    for row in reader:
        line = reader.line_num
        values: dict[str, str] = {}
        for header, raw in row.items():
            column = columns.get(header) if header is not None else None
            if column and isinstance(raw, str):
                values[column] = raw.strip()
        if not any(values.values()):
            continue  # blank line
        try:
            key = _key_from_row(values, now, uid_order)
        except ValueError as error:
            parsed.errors.append(RowError(line, str(error)))
            continue
        duplicate = _first_duplicate(first_line, key, line)
        if duplicate:
            parsed.errors.append(RowError(line, duplicate))
            continue
        parsed.keys.append((line, key))
    return parsed


def import_keys(
    text: str, store: KeyRepository, now: datetime, *, skip_bad: bool = False, uid_order: UidOrder = "big"
) -> ImportResult:
    """Validate a whole file (including against the table) and add its keys as IN_STOCK.

    All or nothing: one bad row and no key is written, unless `skip_bad`, which writes the good
    rows and still reports the bad ones.
    """
    parsed = parse_keys_csv(text, now, uid_order=uid_order)
    errors = list(parsed.errors)
    taken_uids = store.existing_uids([key.uid for _, key in parsed.keys])
    taken_numbers = store.visual_numbers_in_use([key.visual_number for _, key in parsed.keys])
    good: list[ChargingKey] = []
    for line, key in parsed.keys:
        if key.uid in taken_uids:
            errors.append(RowError(line, f"UID {key.uid} is already in the table"))
        elif key.visual_number in taken_numbers:
            owner = taken_numbers[key.visual_number]
            message = f"visual number {key.visual_number!r} already belongs to key {owner}"
            errors.append(RowError(line, message))
        else:
            good.append(key)
    errors.sort(key=lambda error: error.line)
    total = len(parsed.keys) + len(parsed.errors)
    if errors and not skip_bad:
        return ImportResult(imported=[], errors=errors, total_rows=total)
    store.put_new_many(good)
    return ImportResult(imported=good, errors=errors, total_rows=total)


def _header(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _key_from_row(values: dict[str, str], now: datetime, uid_order: UidOrder) -> ChargingKey:
    raw_uid = values.get("uid", "")
    try:
        uid = key_identifier_to_uid(raw_uid) if uid_order == "little" else normalise_uid(raw_uid)
    except InvalidIdentifier as error:
        raise ValueError(f"bad UID: {error}") from None
    visual_number = values.get("visual_number", "")
    if not visual_number:
        raise ValueError(f"visual number missing for UID {uid}")
    key_type = (values.get("type") or "tag").lower()
    if key_type not in IMPORT_TYPES:
        raise ValueError(f"type {values.get('type')!r} is not one of {', '.join(IMPORT_TYPES)}")
    contract_id = values.get("contract_id") or None
    if contract_id is not None and not is_contract_id(contract_id):
        raise ValueError(f"contract id {contract_id!r} is not an EVCO/eMI3 contract id")
    valid_from = _optional_time(values.get("valid_from"), "valid_from")
    valid_to = _optional_time(values.get("valid_to"), "valid_to")
    if valid_from and valid_to and valid_to <= valid_from:
        raise ValueError("valid_to must be after valid_from")
    return new_key(
        uid,
        visual_number,
        now,
        key_type=key_type,
        contract_id=contract_id,
        valid_from=valid_from,
        valid_to=valid_to,
        name=values.get("name") or None,
    )


def _optional_time(text: str | None, column: str) -> datetime | None:
    if not text:
        return None
    try:
        return from_storage(text)
    except ValueError:
        example = "e.g. 2030-01-01T00:00:00Z"
        raise ValueError(f"{column} {text!r} is not an ISO-8601 time with a zone, {example}") from None


def _first_duplicate(first_line: dict[tuple[str, str], int], key: ChargingKey, line: int) -> str | None:
    """Remember the key's UID and visual number; say which earlier line already had one."""
    for kind, value in (("UID", key.uid), ("visual number", key.visual_number)):
        earlier = first_line.get((kind, value))
        if earlier is not None:
            return f"duplicate {kind} {value} (already on line {earlier})"
    for kind, value in (("UID", key.uid), ("visual number", key.visual_number)):
        first_line[(kind, value)] = line
    return None
