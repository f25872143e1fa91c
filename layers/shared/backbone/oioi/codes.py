"""OIOI result codes (the newer, longer table of "Sending a Message via OIOI") and the rule that
a more general code must always be accepted in parallel to a more specific one.

Codes form a three-level tree by their digits: `145` is a kind of `140`, which is a kind of
`100` (the family base). `011` has no `010` above it, so its general code is `000`. The tree is
computed from the numbers, so a code a partner adds later (say `147`) still finds its place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

_MAX_CODE = 999


class CodeFamily(Enum):
    """The hundreds digit of a code says who failed (or that nothing did)."""

    SUCCESS = "0xx"
    PLUGSURFING = "1xx"
    CLIENT = "2xx"
    OPERATOR = "3xx"
    HUB = "4xx"
    PAYMENT = "8xx"
    UNKNOWN = "?xx"

    @property
    def title(self) -> str:
        return _FAMILY_TITLES[self]


_FAMILY_TITLES = {
    CodeFamily.SUCCESS: "Success",
    CodeFamily.PLUGSURFING: "PlugSurfing Errors",
    CodeFamily.CLIENT: "Client Error",
    CodeFamily.OPERATOR: "Operator and EVSE Errors",
    CodeFamily.HUB: "Hub Errors",
    CodeFamily.PAYMENT: "Payment Provider Errors",
    CodeFamily.UNKNOWN: "Unknown",
}
_FAMILY_BY_DIGIT = {0: CodeFamily.SUCCESS, 1: CodeFamily.PLUGSURFING, 2: CodeFamily.CLIENT}
_FAMILY_BY_DIGIT |= {3: CodeFamily.OPERATOR, 4: CodeFamily.HUB, 8: CodeFamily.PAYMENT}


class ResultCode(IntEnum):
    """Every code of the OIOI table; `.message` is the table's text ("Success." for 0, as the
    spec's example responses write it)."""

    message: str

    def __new__(cls, value: int, message: str) -> ResultCode:
        member = int.__new__(cls, value)
        member._value_ = value
        member.message = message
        return member

    # 0xx Success
    SUCCESS = 0, "Success."
    SESSION_STARTED = 11, "Successfully started a charging session"
    SESSION_AUTHORIZED = 12, "Successfully authorized a charging session"
    # 1xx PlugSurfing errors
    SYSTEM_ERROR = 100, "System error"
    DATABASE_ERROR = 101, "Database error"
    SYSTEM_TIMEOUT = 102, "System timeout"
    AUTHENTICATION_FAILED = 140, "Authentication failed: No positive authentication response"
    AUTH_INVALID_EMAIL_OR_PASSWORD = 141, "Authentication failed: Invalid email or password"
    AUTH_INVALID_EMAIL = 142, "Authentication failed: Invalid email"
    AUTH_EMAIL_EXISTS = 143, "Authentication failed: Email already exists"
    AUTH_EMAIL_NOT_FOUND = 144, "Authentication failed: Email does not exist"
    AUTH_USER_TOKEN_INVALID = 145, "Authentication failed: User token not valid"
    ENTITY_NOT_FOUND = 180, "Entity not found"
    EVSE_NOT_FOUND = 181, "EVSE not found"
    SESSION_NOT_FOUND = 182, "Session not found"
    COMPANY_NOT_FOUND = 183, "Company not found"
    VEHICLE_NOT_FOUND = 184, "Vehicle not found"
    SUBSCRIPTION_PLAN_NOT_FOUND = 185, "Subscription plan not found"
    GROUP_NOT_FOUND = 186, "Group not found"
    EVSE_NO_DIRECT_PAY = 187, "EVSE ID does not support direct pay"
    EVSE_NO_REMOTE_STOP = 188, "EVSE ID does not support remote stop"
    RESERVATION_NOT_FOUND = 189, "Reservation not found"
    EVCO_ID_ERROR = 190, "EVCO ID error"
    EVCO_ID_NOT_FOUND = 191, "EVCO ID not found"
    EVCO_ID_LOCKED = 192, "EVCO ID locked"
    EVCO_ID_NO_PAYMENT_METHOD = 193, "EVCO ID has no valid payment method"
    EVCO_ID_HAS_ACTIVE_RESERVATION = 194, "EVCO ID has another active reservation"
    # 2xx Client errors
    CLIENT_REQUEST_ERROR = 200, "Client request error"
    INVALID_API_KEY = 210, "Invalid API key"
    INVALID_PARTNER_IDENTIFIER = 211, "Invalid partner identifier"
    API_KEY_NOT_ALLOWED = 220, "API key not allowed to access the requested resource"
    INVALID_REQUEST_FORMAT = 230, "Invalid request format"
    # 3xx Operator and EVSE errors
    OPERATOR_SYSTEM_ERROR = 300, "System error"
    OPERATOR_TIMEOUT = 302, "System timeout"
    EVSE_ERROR = 310, "EVSE error"
    EVSE_TIMEOUT = 312, "EVSE timeout"
    EVSE_IN_USE = 320, "EVSE already in use"
    NO_EV_CONNECTED = 321, "No EV connected to EVSE"
    EVSE_ID_LOCATION_CONFLICT = (
        322,
        ("Connector with the same EVSE ID, but with different latitude/longitude exists"),
    )
    EVSE_ALREADY_RESERVED = 323, "EVSE already reserved"
    EVSE_RESERVATION_NOT_SUPPORTED = 330, "EVSE does not support reservation"
    # 4xx Hub errors
    HUB_SYSTEM_ERROR = 400, "System error"
    HUB_TIMEOUT = 402, "System timeout"
    # 8xx Payment provider errors
    PAYMENT_SYSTEM_ERROR = 800, "System error"
    PAYMENT_TIMEOUT = 802, "System timeout"
    PAYMENT_METHOD_NOT_ALLOWED = 805, "This user is not allowed to use this method"
    PAYMENT_INVALID_FORMAT = 830, "Invalid format"
    INVALID_PAYMENT_METHOD = 850, "Invalid payment method"
    BANK_TRANSFER_ERROR = 860, "Bank transfer error"
    BANK_ACCOUNT_INVALID = 861, "Bank account not valid"
    INVALID_NAME = 862, "Invalid name"
    INVALID_IBAN = 863, "Invalid IBAN"
    INVALID_BIC = 864, "Invalid BIC"
    CREDIT_CARD_ERROR = 870, "Credit card error"
    CREDIT_CARD_INVALID = 871, "Credit card not valid"
    INVALID_CARD_HOLDER_NAME = 872, "Invalid card holder name"
    INVALID_CARD_NUMBER = 874, "Invalid credit card number"
    INVALID_EXPIRATION_DATE = 875, "Invalid expiration date"
    INVALID_CVC = 876, "Invalid CVC"
    PAYPAL_ERROR = 880, "PayPal error"

    @property
    def family(self) -> CodeFamily:
        return family_of(self)

    @property
    def is_success(self) -> bool:
        return is_success(self)

    @property
    def general(self) -> ResultCode | None:
        """The next more general code (`145` → `140` → `100` → None)."""
        return general_of(self)

    def accepts(self, received: int) -> bool:
        """True if `received` is an acceptable answer where this code is expected."""
        return accepts(self, received)


@dataclass(frozen=True)
class UnknownResultCode:
    """A code a partner sent that our table does not know. Kept as the raw number so parsing
    never fails on a code added to the protocol later; its family and general code still work."""

    value: int

    @property
    def family(self) -> CodeFamily:
        return family_of(self.value)

    @property
    def is_success(self) -> bool:
        return is_success(self.value)

    @property
    def general(self) -> ResultCode | None:
        return general_of(self.value)

    @property
    def message(self) -> str:
        return f"Unknown result code {self.value:03d} ({self.family.title})"

    def __int__(self) -> int:
        return self.value


AnyResultCode = ResultCode | UnknownResultCode


def parse_code(raw: object) -> AnyResultCode:
    """Read a `result.code` from a partner: a known member, or the raw number kept as
    `UnknownResultCode`. Digit strings ("011") are tolerated; anything else is a format error."""
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(f"OIOI result code must be an integer, got {raw!r}")
    if not 0 <= raw <= _MAX_CODE:
        raise ValueError(f"OIOI result code must be between 0 and {_MAX_CODE}, got {raw}")
    known = _BY_VALUE.get(raw)
    return UnknownResultCode(raw) if known is None else known  # not `or`: SUCCESS is falsy


def family_of(code: int | UnknownResultCode) -> CodeFamily:
    return _FAMILY_BY_DIGIT.get(int(code) // 100, CodeFamily.UNKNOWN)


def is_success(code: int | UnknownResultCode) -> bool:
    """Any 0xx code means success, including ones we do not know yet."""
    return family_of(code) is CodeFamily.SUCCESS


def general_of(code: int | UnknownResultCode) -> ResultCode | None:
    """The nearest defined code above `code` in the tree: its tens base (`145` → `140`), else
    its family base (`011` → `000`, `330` → `300`); None for a family base itself."""
    value = int(code)
    for base in (value - value % 10, value - value % 100):
        if base != value and base in _BY_VALUE:
            return _BY_VALUE[base]
    return None


def generalisations(code: int | UnknownResultCode) -> tuple[ResultCode, ...]:
    """All defined codes above `code`, nearest first (`145` → (140, 100))."""
    chain: list[ResultCode] = []
    parent = general_of(code)
    while parent is not None:
        chain.append(parent)
        parent = general_of(parent)
    return tuple(chain)


def accepts(expected: int | UnknownResultCode, received: int | UnknownResultCode) -> bool:
    """The spec's rule: a more general code is always valid in parallel to a specific one.

    `received` is acceptable where `expected` was asked for if it is the same code, a more
    general one (000 for 011, 100 for 14x) or a more specific one (any 14x where 140 is
    expected). Siblings (141 where 145 is expected) are not.
    """
    want, got = int(expected), int(received)
    return want == got or got in generalisations(want) or want in generalisations(got)


# Looked up by value here rather than `ResultCode(n)`, whose signature is the (value, message) of
# the member definitions.
_BY_VALUE: dict[int, ResultCode] = {int(member): member for member in ResultCode}
