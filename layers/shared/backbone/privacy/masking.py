"""Personal data kept out of log lines, exception texts and traces (docs/privacy.md, "Logs and
traces").

Call sites log record ids (session id, order id, request id), never a driver's identifiers; this
is the second line: `RedactingFormatter` applies `mask_field` to every value whose field name
says it is personal (at any depth) and `mask_text` to all free text, and the partner client
applies `scrub_path` to every URL it logs, raises or traces.

A masked value says what was there and how long it was (`[uid:14]`), never any of its
characters: enough to tell "a 7-byte UID" from "empty" when reading a log, nothing to find a
driver by. Text is masked only where the shape is certain (a key or user id in a partner path, a
personal member of a JSON or repr snippet, pydantic's `input_value`, an e-mail address, a
separated EVCO/contract id, a 7- or 10-byte UID, a `<type>#<id>` driver key), so ordinary log
text stays readable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from backbone.oioi.identifiers import is_evse_id

# Normalised field name (lower case, letters and digits only) -> what the mask calls it.
_LABELS: dict[str, tuple[str, ...]] = {
    "uid": ("uid", "uids", "keyuid", "rfid", "rfiduid", "chipuid"),
    "key": ("keyidentifier", "keyidentifiers", "identifier", "visualnumber", "printednumber"),
    "contract": ("contractid", "contractids", "evcoid", "evco", "emaid"),
    "user": (
        "userid",
        "userids",
        "partneruser",
        "driveuser",
        "driveuserid",
        "ownerid",
        "driverid",
        "username",
    ),
    "driver": ("driverkey", "driver"),
    "name": (
        "name",
        "firstname",
        "lastname",
        "fullname",
        "givenname",
        "familyname",
        "surname",
        "recipient",
        "companyname",
    ),
    "address": (
        "address",
        "street",
        "streetname",
        "housenumber",
        "addressline1",
        "addressline2",
        "line1",
        "line2",
        "postalcode",
        "postcode",
        "zip",
        "zipcode",
        "city",
    ),
    "email": ("email", "emailaddress", "mail"),
    "phone": ("phone", "phonenumber", "mobile", "telephone"),
    "payment": ("paymentoptionid", "paymentreference", "iban"),
}
PERSONAL_FIELDS: dict[str, str] = {name: label for label, names in _LABELS.items() for name in names}
"""Every personal field name (normalised by `personal_label`) and its mask label."""

# Labels of identifiers: single tokens, so `name=value` in text is certainly one.
_TOKEN_LABELS = frozenset({"uid", "key", "contract", "user", "driver", "email", "phone", "payment"})
_NOT_WORD = re.compile(r"[^a-z0-9]")


def personal_label(field: str) -> str | None:
    """The mask label of a field name that holds personal data (`key_uid`, `userId`,
    `postal-code`...), or None for any other field."""
    return PERSONAL_FIELDS.get(_NOT_WORD.sub("", field.lower()))


def mask(label: str, value: Any) -> Any:
    """`value` of a personal field, masked: strings as `[label:length]`, other scalars as
    `[label]`, containers leaf by leaf; None stays None (absent is worth knowing)."""
    if value is None:
        return None
    if isinstance(value, str):
        return f"[{label}:{len(value)}]"
    if isinstance(value, Mapping):
        return {key: mask(label, item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [mask(label, item) for item in value]
    return f"[{label}]"


def mask_field(field: Any, value: Any) -> tuple[bool, Any]:
    """(True, masked value) if `field` names personal data, else (False, value)."""
    label = personal_label(field) if isinstance(field, str) else None
    return (False, value) if label is None else (True, mask(label, value))


# --- text --------------------------------------------------------------------------------------

# Plugsurfing paths that name a key or a user: `/charging-keys/<key id>`, `/users/<user id>`.
# Fixed words under /charging-keys (reservations, orders, order) are resources, not keys.
_SEGMENT_END = r"[^/?#\s\"',;]+"
_KEY_SEGMENT = re.compile(
    r"(/charging-keys/)(?!(?:reservations|orders?)(?:[/?#\s\"']|$))(" + _SEGMENT_END + ")"
)
_USER_SEGMENT = re.compile(r"(/users/)(" + _SEGMENT_END + ")")
# A member of a JSON or Python-repr snippet: "identifier": "..." / 'uid': '...'.
_QUOTED_MEMBER = re.compile(
    r"""(?P<q>["'])(?P<name>[A-Za-z0-9_-]{2,40})(?P=q)(?P<sep>\s*:\s*)"""
    r"""(?P<v>["'])(?P<value>(?:\\.|(?!(?P=v)).)*)(?P=v)"""
)
# `name=value` for identifier fields (uid=..., userId=...).
_ASSIGNED = re.compile(
    r"""(?<![A-Za-z0-9_-])(?P<name>[A-Za-z][A-Za-z0-9_-]{1,30})=(?P<value>[^\s,;)\]}"'&]+)"""
)
# pydantic's errors echo the input: `input_value='DE*8PS*123456*7', input_type=str`.
_INPUT_VALUE = re.compile(r"(input_value=)(.*?)(?=, input_type=|\]|$)", re.MULTILINE)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A driver key `<type>#<id>` (Driver.key); a pseudonym (`h1:...`) is left as it is.
_DRIVER_KEY = re.compile(r"""\b(rfid|evco-id|username|drive-user)#(?!h1:)([^\s"',;)\]}]+)""")
# EVCO / eMI3 contract ids written with separators (DE*8PS*123456*7, DE-8PS-C0CD0C002-Q).
_CONTRACT = re.compile(
    r"(?<![A-Za-z0-9*-])[A-Za-z]{2}[*-][A-Za-z0-9]{3}[*-][A-Za-z0-9]{6,9}[*-]?[0-9A-Za-z](?![A-Za-z0-9*-])"
)
# A 7- or 10-byte UID or key identifier (14 or 20 hex digits, at least one a digit and one a
# letter: a 14-digit number is more likely a timestamp); 4-byte ones are too common a shape.
_UID = re.compile(
    r"(?<![A-Za-z0-9_-])(?=[0-9A-Fa-f]*[0-9])(?=[0-9A-Fa-f]*[A-Fa-f])"
    r"(?:[0-9A-Fa-f]{20}|[0-9A-Fa-f]{14})(?![A-Za-z0-9_-])"
)


def scrub_path(text: str) -> str:
    """A URL or path with the key and user ids of Plugsurfing paths masked:
    `/v1/users/[user]/charging-keys/[key]/activate`. Session and order ids stay."""
    if "/charging-keys/" in text:
        text = _KEY_SEGMENT.sub(lambda m: f"{m.group(1)}[key]", text)
    if "/users/" in text:
        text = _USER_SEGMENT.sub(lambda m: f"{m.group(1)}[user]", text)
    return text


def mask_text(text: str) -> str:
    """Free text (a message, an exception, a partner's answer) with personal data masked where
    its shape is certain; see the module docstring. Every log value passes here: each pattern
    runs only when a character it needs is in the text."""
    if len(text) < 6:
        return text
    if "input_value=" in text:
        text = _INPUT_VALUE.sub(lambda m: f"{m.group(1)}[input:{len(m.group(2))}]", text)
    if ":" in text and ('"' in text or "'" in text):
        text = _QUOTED_MEMBER.sub(_masked_member, text)
    if "=" in text:
        text = _ASSIGNED.sub(_masked_assignment, text)
    text = scrub_path(text)
    if "#" in text:
        text = _DRIVER_KEY.sub(
            lambda m: f"{m.group(1)}#[{_driver_label(m.group(1))}:{len(m.group(2))}]", text
        )
    if "@" in text:
        text = _EMAIL.sub("[email]", text)
    if "*" in text or "-" in text:
        text = _CONTRACT.sub(_masked_contract, text)
    return _UID.sub(lambda m: f"[uid:{len(m.group(0))}]", text) if len(text) >= 14 else text


def _masked_member(match: re.Match[str]) -> str:
    label = personal_label(match.group("name"))
    if label is None:
        return match.group(0)
    name, quote = match.group("q") + match.group("name") + match.group("q"), match.group("v")
    return f"{name}{match.group('sep')}{quote}[{label}:{len(match.group('value'))}]{quote}"


def _masked_assignment(match: re.Match[str]) -> str:
    label = personal_label(match.group("name"))
    if label not in _TOKEN_LABELS or match.group("value").startswith("["):
        return match.group(0)
    return f"{match.group('name')}=[{label}:{len(match.group('value'))}]"


def _masked_contract(match: re.Match[str]) -> str:
    return match.group(0) if is_evse_id(match.group(0)) else f"[contract:{len(match.group(0))}]"


def _driver_label(kind: str) -> str:
    return {"rfid": "uid", "evco-id": "contract"}.get(kind, "user")
