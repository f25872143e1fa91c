"""Pydantic models of the OIOI v4 messages this product sends or receives, their responses, and
the registry a receiver uses to tell a message we handle from one we merely know.

A request body is `{"<message-name>": {...fields...}}`; the models describe the inner object and
`OioiMessage.to_request()` wraps it. Choices where the spec is loose are noted on the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Self

from pydantic import AfterValidator, BaseModel, Field, JsonValue, StringConstraints, model_validator

from backbone.oioi.codes import AnyResultCode, ResultCode, parse_code
from backbone.oioi.fields import EvseIdStr, ExactDecimal, NonEmptyStr, OioiDateTime, OioiModel
from backbone.oioi.identifiers import InvalidUid, is_normalised_uid, normalise_uid


class OioiMessage(OioiModel):
    """A request message; `message_name` is its key in the request body."""

    message_name: ClassVar[str]

    def to_request(self) -> dict[str, Any]:
        """The JSON-ready request body, e.g. `{"rfid-post": {...}}`."""
        return {self.message_name: self.model_dump(mode="json", by_alias=True, exclude_none=True)}


# --- Users -------------------------------------------------------------------------------------


class IdentifierType(StrEnum):
    EVCO_ID = "evco-id"
    RFID = "rfid"
    USERNAME = "username"


class User(OioiModel):
    """Who charges. The identifier is not pattern-checked here: Plugsurfing's contract ids come in
    a longer eMI3 form than the glossary's EVCO ID (see `identifiers.is_contract_id`)."""

    identifier_type: IdentifierType
    identifier: NonEmptyStr
    token: str | None = None


# --- RFID --------------------------------------------------------------------------------------


def _valid_uid(value: str) -> str:
    normalise_uid(value)  # raises InvalidUid with the reason; the raw text is kept
    return value


UidStr = Annotated[str, AfterValidator(_valid_uid)]


class RfidPost(OioiMessage):
    """Whitelist push: the complete set of active UIDs for one partner identifier.

    Parsing accepts any valid UID as written (the spec's own example has a lower-case one); use
    `for_sending` to build what we send, which requires the normalised form.
    """

    message_name: ClassVar[str] = "rfid-post"

    rfids: list[UidStr]
    partner_identifier: NonEmptyStr

    @classmethod
    def for_sending(cls, rfids: Iterable[str], partner_identifier: str) -> Self:
        uids = list(rfids)
        for uid in uids:
            if not is_normalised_uid(uid):
                raise InvalidUid(
                    f"UID {uid!r} is not normalised; rfid-post requires upper-case hex of 8, 14 or 20 "
                    "characters (use normalise_uid)"
                )
        return cls(rfids=uids, partner_identifier=partner_identifier)


class RfidVerify(OioiMessage):
    """Online authorisation of one UID. `rfid` is kept exactly as received."""

    message_name: ClassVar[str] = "rfid-verify"

    rfid: NonEmptyStr

    def normalised_uid(self) -> str:
        """The UID in OIOI canonical form; raises `InvalidUid` if it cannot be one."""
        return normalise_uid(self.rfid)


# --- Sessions ----------------------------------------------------------------------------------


def _check_order(start: datetime | None, stop: datetime | None) -> None:
    if start is not None and stop is not None and stop < start:
        raise ValueError(f"stop {stop.isoformat()} is before start {start.isoformat()}")


class SessionInterval(OioiModel):
    """Start is required; no stop means the session is still going on."""

    start: OioiDateTime
    stop: OioiDateTime | None = None

    @model_validator(mode="after")
    def _stop_not_before_start(self) -> Self:
        _check_order(self.start, self.stop)
        return self


class ChargingInterval(OioiModel):
    """When energy actually flowed; either end may be unknown."""

    start: OioiDateTime | None = None
    stop: OioiDateTime | None = None

    @model_validator(mode="after")
    def _stop_not_before_start(self) -> Self:
        _check_order(self.start, self.stop)
        return self


Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class CalculatedCost(OioiModel):
    amount: ExactDecimal
    currency: Currency


class SessionPost(OioiMessage):
    """A CDR, or a notice about a started/ongoing session when the stop time is missing."""

    message_name: ClassVar[str] = "session-post"

    user: User
    session_id: NonEmptyStr
    connector_id: EvseIdStr
    session_interval: SessionInterval
    charging_interval: ChargingInterval | None = None
    energy_consumed: Annotated[ExactDecimal, Field(ge=0)] | None = None
    calculated_cost: CalculatedCost | None = None
    partner_identifier: NonEmptyStr

    @property
    def is_final(self) -> bool:
        """A final CDR has a session stop time; without one the session is ongoing."""
        return self.session_interval.stop is not None


class SessionStart(OioiMessage):
    """Remote start. `connector_id` is not EVSE-checked: the spec's example sends "1356"."""

    message_name: ClassVar[str] = "session-start"

    user: User
    connector_id: NonEmptyStr
    payment_reference: str | None = None


class SessionStop(OioiMessage):
    message_name: ClassVar[str] = "session-stop"

    user: User
    connector_id: NonEmptyStr
    session_id: str | None = None


# --- Stations ----------------------------------------------------------------------------------


class ConnectorStatus(StrEnum):
    AVAILABLE = "Available"
    OCCUPIED = "Occupied"
    OFFLINE = "Offline"
    RESERVED = "Reserved"
    UNKNOWN = "Unknown"


class ConnectorPostStatus(OioiMessage):
    message_name: ClassVar[str] = "connector-post-status"

    connector_id: EvseIdStr
    status: ConnectorStatus
    partner_identifier: NonEmptyStr


class ConnectorType(StrEnum):
    TYPE2 = "Type2"
    COMBO = "Combo"
    CHADEMO = "Chademo"
    SCHUKO = "Schuko"
    TYPE3 = "Type3"
    CEE_BLUE = "CeeBlue"
    THREE_PIN_SQUARE = "3PinSquare"
    TYPE1 = "Type1"
    CEE_RED = "CeeRed"
    CEE_2_POLES = "Cee2Poles"
    TESLA = "Tesla"
    SCAME = "Scame"
    NEMA5 = "Nema5"
    CEE_PLUS = "CeePlus"
    T13 = "T13"
    T15 = "T15"
    T23 = "T23"
    MARECHAL = "Marechal"
    TYPE_E = "TypeE"


class Weekday(StrEnum):
    MONDAY = "Mo"
    TUESDAY = "Tu"
    WEDNESDAY = "We"
    THURSDAY = "Th"
    FRIDAY = "Fr"
    SATURDAY = "Sa"
    SUNDAY = "Su"


# "24:00" is accepted as a closing time (open until midnight).
ClockTime = Annotated[str, StringConstraints(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")]


class OpenHourNote(OioiModel):
    """Open from `times[0]` to `times[1]` on every day from `days[0]` to `days[1]`."""

    times: Annotated[list[ClockTime], Field(min_length=2, max_length=2)]
    days: Annotated[list[Weekday], Field(min_length=2, max_length=2)]


class Address(OioiModel):
    street: str
    street_number: str
    city: str
    zip: str
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]  # ISO 3166-1 alpha-2


class Contact(OioiModel):
    """The field list says `website`, the spec's example sends `web`: both are accepted and each
    is written back under the name it came with."""

    phone: str
    fax: str | None = None
    website: str | None = None
    web: str | None = None
    email: str | None = None

    @property
    def homepage(self) -> str | None:
        return self.website or self.web


class Connector(OioiModel):
    id: EvseIdStr
    name: ConnectorType
    speed: Annotated[float, Field(ge=0)]  # kW


class Station(OioiModel):
    """`cpo-id` is free text: the spec allows a CPO's own identifiers, not only `DE*8PS`.
    `deleted` is listed without "(optional)" but defaults to False, the only sensible reading
    of its absence."""

    id: NonEmptyStr
    name: str
    description: str | None = None
    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]
    address: Address
    contact: Contact
    cpo_id: NonEmptyStr
    is_open_24: bool
    connectors: list[Connector]
    open_hour_notes: list[OpenHourNote] | None = None
    notes: str | None = None
    is_reservable: bool | None = None
    floor_level: int | None = None
    is_free_charge: bool | None = None
    total_parking: Annotated[int, Field(ge=0)] | None = None
    is_green_power_available: bool | None = None
    is_plugin_charge: bool | None = None
    is_roofed: bool | None = None
    is_private: bool | None = None
    deleted: bool = False


class StationPost(OioiMessage):
    """One station per request; `partner-identifier` sits next to `station`, not inside it."""

    message_name: ClassVar[str] = "station-post"

    station: Station
    partner_identifier: NonEmptyStr


# --- Responses ---------------------------------------------------------------------------------


class Result(OioiModel):
    """`code` stays the raw number so an unknown code never breaks parsing; `result_code`
    interprets it."""

    code: int
    message: str | None = None

    @property
    def result_code(self) -> AnyResultCode:
        return parse_code(self.code)


class OioiResponse(OioiModel):
    """Every response: `result`, plus `error` with details on a 4xx."""

    result: Result
    error: JsonValue = None

    @property
    def is_success(self) -> bool:
        return self.result.result_code.is_success


class RfidProcessed(OioiModel):
    processed: Annotated[int, Field(ge=0)]


class RfidPostResponse(OioiResponse):
    rfid: RfidProcessed | None = None


class SessionStartResult(OioiModel):
    session_id: str | None = None
    is_stoppable: bool | None = None


class SessionStartResponse(OioiResponse):
    session_start: SessionStartResult | None = None

    @property
    def is_stoppable(self) -> bool:
        return bool(self.session_start and self.session_start.is_stoppable)


class SessionPostResponse(OioiResponse):
    reason: str | None = None  # "Will be null on success."


def result_body(
    code: ResultCode | int,
    message: str | None = None,
    *,
    error: JsonValue = None,
    **parts: BaseModel | JsonValue,
) -> dict[str, Any]:
    """A JSON-ready response body. Keyword parts are named in snake_case and written hyphenated:
    `result_body(ResultCode.SUCCESS, session_start=SessionStartResult(...))` gives
    `{"session-start": {...}, "result": {"code": 0, "message": "Success."}}`."""
    body: dict[str, Any] = {}
    for name, part in parts.items():
        dumped = (
            part.model_dump(mode="json", by_alias=True, exclude_none=True)
            if isinstance(part, BaseModel)
            else part
        )
        body[name.replace("_", "-")] = dumped
    body["result"] = {"code": int(code), "message": message or parse_code(int(code)).message}
    if error is not None:
        body["error"] = error
    return body


# --- Registry ----------------------------------------------------------------------------------

MESSAGE_MODELS: dict[str, type[OioiMessage]] = {
    model.message_name: model
    for model in (
        RfidPost,
        RfidVerify,
        SessionPost,
        SessionStart,
        SessionStop,
        StationPost,
        ConnectorPostStatus,
    )
}
"""Request messages this product sends or receives, by name."""

RESPONSE_MODELS: dict[str, type[OioiResponse]] = {
    "rfid-post": RfidPostResponse,
    "session-start": SessionStartResponse,
    "session-post": SessionPostResponse,
}
"""Responses with message-specific parts; every other message answers with `OioiResponse`."""

OIOI_MESSAGE_NAMES: frozenset[str] = frozenset(
    {
        "company-get-images",
        "connector-post-status",
        "rfid-post",
        "rfid-verify",
        "session-post",
        "session-start",
        "session-stop",
        "station-get-by-center-radius",  # only in the spec's "Sending a Message" example
        "station-get-by-ids",
        "station-get-surface",
        "station-get-usage",
        "station-post",
        "user-add-creditcard",
        "user-add-payment",
        "user-add-rfid",
        "user-block-rfid",
        "user-change-password",
        "user-charging-key-activate",
        "user-get-bills",
        "user-get-charging-keys",
        "user-get-details",
        "user-get-recent-sessions",
        "user-get-recent-stations",
        "user-logout",
        "user-post-details",
        "user-register",
        "user-reset",
        "user-unblock-rfid",
        "user-verify",
        "vehicle-get-all",
    }
)
"""Every message name OIOI v4 defines, including those we never accept."""


def response_model_for(message_name: str) -> type[OioiResponse]:
    return RESPONSE_MODELS.get(message_name, OioiResponse)
