"""Identifiers of the OIOI glossary (EVSE ID, EVCO ID), RFID UIDs, and the byte-order bridge
between OIOI UIDs and the little-endian key identifiers of Plugsurfing's EMP/Drive APIs.

UID rules (OIOI "RFID Post"/"RFID Verify"): hexadecimal, upper case, read left to right as
big-endian, 8, 14 or 20 characters, shorter ones zero-padded on the left.

Byte order: a physical chip id is N bytes. Its OIOI UID is the big-endian hex of those bytes,
left-padded with "0" to 8/14/20 characters; the partner APIs' key identifier (`keyIdentifier`,
reservation `uid`) is the same bytes in reverse order, lower case. Left padding in big-endian is
high-order zero bytes, which sit at the *end* of the little-endian form, so:

- `uid_to_key_identifier` always yields the UID's full width (4, 7 or 10 bytes) and
  `key_identifier_to_uid(uid_to_key_identifier(u)) == u` for every normalised UID;
- `uid_to_key_identifier(key_identifier_to_uid(k)) == k.lower()` for every key of 4, 7 or 10
  bytes (all ISO 14443 chip sizes). A key of another size comes back with the padding as trailing
  "00" bytes, so store the partner's key identifier as received rather than recomputing it.
"""

from __future__ import annotations

import re

UID_LENGTHS = (8, 14, 20)

_HEX = re.compile(r"[0-9A-Fa-f]+")
_EVSE_ID = re.compile(r"([A-Za-z]{2})\*?([A-Za-z0-9]{3})\*?[Ee]([A-Za-z0-9*]{1,30})")
# The glossary writes `[\*|-]?` and `[\d|X]`; inside a character class `|` is a literal, which
# its prose ("the literal * or the literal -", "a number or the literal X") does not mean.
_EVCO_ID = re.compile(r"[A-Za-z]{2}[*-]?[A-Za-z0-9]{3}[*-]?[A-Za-z0-9]{6}[*-]?[0-9X]")
# eMI3 / ISO 15118 contract id as the Drive and EMP APIs return it (`DE-8PS-C0CD0C002-Q`):
# 9-character instance and an alphanumeric check character.
_EMI3_CONTRACT_ID = re.compile(r"[A-Za-z]{2}[*-]?[A-Za-z0-9]{3}[*-]?[A-Za-z0-9]{9}[*-]?[A-Za-z0-9]")


class InvalidIdentifier(ValueError):
    """An identifier does not follow its OIOI or partner-API rule; the text says which."""


class InvalidUid(InvalidIdentifier):
    pass


class InvalidKeyIdentifier(InvalidIdentifier):
    pass


class InvalidEvseId(InvalidIdentifier):
    pass


# --- EVSE ID / EVCO ID -------------------------------------------------------------------------


def canonical_evse_id(value: str) -> str | None:
    """The one spelling of an EVSE ID, or None if `value` is not one.

    The glossary's pattern (`[A-Za-z]{2}\\*[A-Za-z0-9]{3}\\*?E[A-Za-z0-9\\*]{1,30}`) requires the
    first `*`, its prose calls both optional, and eMI3 EVSE IDs are case-insensitive. With fixed
    widths (country 2, operator 3, then `E`) every such spelling names one EVSE, so it is written
    one way: upper case, both `*` (`de8psE123` -> `DE*8PS*E123`). Keys and comparisons use this
    form, so another spelling can never claim or address somebody else's connector."""
    match = _EVSE_ID.fullmatch(value.strip())
    if match is None:
        return None
    country, operator, evse = match.groups()
    return f"{country}*{operator}*E{evse}".upper()


def is_evse_id(value: str) -> bool:
    return canonical_evse_id(value) is not None


def validate_evse_id(value: str) -> str:
    """The canonical EVSE ID (`canonical_evse_id`); raises `InvalidEvseId`."""
    canonical = canonical_evse_id(value)
    if canonical is None:
        raise InvalidEvseId(
            f"{value[:80]!r} is not an EVSE ID: expected country(2)[*]operator(3)[*]E<id of 1-30 letters, "
            "digits or '*'>, e.g. 'DE*8PS*E123456'"
        )
    return canonical


def is_evco_id(value: str) -> bool:
    """Glossary EVCO ID: country(2), EMP(3), id(6), check digit or X; `*` or `-` separators
    optional."""
    return _EVCO_ID.fullmatch(value) is not None


def is_contract_id(value: str) -> bool:
    """Lenient contract-id check: a glossary EVCO ID or the longer eMI3 form the Drive/EMP APIs
    use (`DE-8PS-C0CD0C002-Q`: 9-character instance, alphanumeric check), which the glossary
    pattern rejects."""
    return is_evco_id(value) or _EMI3_CONTRACT_ID.fullmatch(value) is not None


# --- RFID UIDs ---------------------------------------------------------------------------------


def normalise_uid(raw: str) -> str:
    """Canonical OIOI UID: surrounding whitespace stripped, upper case, left zero-padded to the
    next of 8/14/20 characters. Raises `InvalidUid` for empty, non-hex or over-long input."""
    value = raw.strip()
    if not value:
        raise InvalidUid(f"UID {raw!r} is empty; a UID is 1-20 hexadecimal characters")
    if _HEX.fullmatch(value) is None:
        raise InvalidUid(f"UID {raw!r} is not hexadecimal; only 0-9 and A-F are allowed, no separators")
    if len(value) > UID_LENGTHS[-1]:
        raise InvalidUid(f"UID {raw!r} has {len(value)} characters; at most {UID_LENGTHS[-1]} are allowed")
    width = next(length for length in UID_LENGTHS if length >= len(value))
    return value.upper().rjust(width, "0")


def is_normalised_uid(value: str) -> bool:
    """True if `value` is already exactly what `normalise_uid` would produce."""
    return len(value) in UID_LENGTHS and _HEX.fullmatch(value) is not None and value == value.upper()


# --- Byte order --------------------------------------------------------------------------------


def key_identifier_to_uid(le_hex: str) -> str:
    """Partner-API key identifier (little-endian hex) → OIOI UID (big-endian, normalised).

    `e0e03336` → `3633E0E0`; `7d009d67181896` → `961818679D007D`.
    """
    data = _key_bytes(le_hex)
    return normalise_uid(data[::-1].hex())


def uid_to_key_identifier(uid: str) -> str:
    """OIOI UID → partner-API key identifier (little-endian hex, lower case).

    The UID is normalised first, so its padding becomes trailing zero bytes: `3633E0E0` →
    `e0e03336`, `ABCDEF` → `efcdab00`.
    """
    return bytes.fromhex(normalise_uid(uid))[::-1].hex()


def _key_bytes(le_hex: str) -> bytes:
    value = le_hex.strip()
    if not value or _HEX.fullmatch(value) is None:
        raise InvalidKeyIdentifier(f"key identifier {le_hex!r} is not hexadecimal")
    if len(value) % 2:
        raise InvalidKeyIdentifier(
            f"key identifier {le_hex!r} has an odd number of hex digits; whole bytes are needed "
            "to reverse the byte order"
        )
    if len(value) > UID_LENGTHS[-1]:
        raise InvalidKeyIdentifier(f"key identifier {le_hex!r} is longer than {UID_LENGTHS[-1] // 2} bytes")
    return bytes.fromhex(value)
