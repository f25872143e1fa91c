"""Session records, start requests and status-change events (shared by logic, adapters and API).

Attribute names are camelCase on the wire and in DynamoDB (aliases), snake_case in Python.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from backbone.locations.models import ConnectorQuery, Latitude, Longitude, RadiusMeters, Text, evse_match_key
from backbone.timeutil import to_storage

PartnerMode = Literal["emp", "drive"]

# Execution names allow more, but a request id is also a DynamoDB key and part of a URL path; the
# stop hand-over execution is named `<requestId>.stop`, and `.` is not allowed here so the two
# name spaces cannot collide.
REQUEST_ID_PATTERN = r"^[A-Za-z0-9_-]{1,72}$"
RequestId = Annotated[str, Field(pattern=REQUEST_ID_PATTERN)]
# Every timestamp in the one storage format (sortable, millisecond, `Z`).
Timestamp = Annotated[datetime, PlainSerializer(to_storage, when_used="json")]
HISTORY_LIMIT = 200  # a session changes status a handful of times; this only bounds a runaway


class Status(StrEnum):
    """What the sessions table says about a session: the partner's status plus our own verdicts."""

    REQUESTED = "REQUESTED"  # accepted by the internal API, remote start not called yet
    STARTING = "STARTING"  # partner
    STARTED = "STARTED"  # partner
    FAILED = "FAILED"  # partner: the start failed
    COMPLETE = "COMPLETE"  # partner: charging ended; energy, price and balance known
    START_UNKNOWN = "START_UNKNOWN"  # ours: remote start may have started a session; looking for it
    FAILED_TO_START = "FAILED_TO_START"  # ours: STARTING for longer than the start timeout
    TIMED_OUT = "TIMED_OUT"  # ours: not finished within the maximum duration
    NOT_FOUND = "NOT_FOUND"  # ours: the partner answered 404 for the session
    ERROR = "ERROR"  # ours: the poller failed unexpectedly (details in `error`)
    UNKNOWN = "UNKNOWN"  # partner: a status the spec does not list


# Nothing more will change: the execution ends and a stop request has nothing to do.
FINAL_STATUSES = frozenset({Status.FAILED, Status.TIMED_OUT, Status.NOT_FOUND, Status.ERROR})
# The balance is settled (or not reported, e.g. External Clearing); PROCESSING is still moving.
FINAL_BALANCES = frozenset({None, "PAID", "DEBT", "REFUND", "UNKNOWN"})


def is_settled(status: Status, balance_status: str | None) -> bool:
    """Nothing more will be recorded: a final status, or COMPLETE with a settled balance."""
    return status in FINAL_STATUSES or (status == Status.COMPLETE and balance_status in FINAL_BALANCES)


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, frozen=True, extra="ignore"
    )


class StartRequest(BaseModel):
    """`POST /internal/sessions` body or SessionStartQueue message. `requestId` is the client's
    idempotency key: repeating a request returns the session it started the first time.

    The connector is named by Plugsurfing's `connectorId`, or by the `evseId` printed on the
    charger together with where to look for it (`latitude`+`longitude` [+`radiusMeters`] or
    `locationId`: Plugsurfing cannot search by EVSE id alone, docs/locations.md)."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, extra="forbid", frozen=True)

    request_id: RequestId
    connector_id: str | None = Field(default=None, min_length=1, max_length=512)
    evse_id: str | None = Field(default=None, min_length=1, max_length=64)
    latitude: Latitude | None = Field(default=None, exclude=True)
    longitude: Longitude | None = Field(default=None, exclude=True)
    radius_meters: RadiusMeters | None = Field(default=None, exclude=True)
    location_id: Text | None = Field(default=None, exclude=True)
    user_id: str | None = Field(default=None, min_length=1, max_length=256)  # Drive
    key_identifier: str | None = Field(default=None, min_length=1, max_length=128)  # EMP
    # Who asked (IAM principal or "sqs"); set by the handler, never by the body.
    requested_by: str | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _one_connector(self) -> StartRequest:
        if (self.connector_id is None) == (self.evse_id is None):
            raise ValueError("give exactly one of connectorId and evseId")
        hints = (self.latitude, self.longitude, self.radius_meters, self.location_id)
        if self.evse_id is None and any(hint is not None for hint in hints):
            raise ValueError(
                "latitude, longitude, radiusMeters and locationId locate an evseId: not with connectorId"
            )
        if self.evse_id is not None:
            self.connector_query()  # the lookup's own input rules, checked before anything is called
        return self

    def connector_query(self) -> ConnectorQuery:
        """What the locations lookup takes to find `evse_id` (only for a start naming one)."""
        fields = {
            "evse_id": self.evse_id,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "location_id": self.location_id,
        }
        if self.radius_meters is not None:
            fields["radius_meters"] = self.radius_meters
        try:
            return ConnectorQuery.model_validate(fields)
        except ValidationError as error:
            messages = (str(problem["msg"]).removeprefix("Value error, ") for problem in error.errors())
            raise ValueError("; ".join(messages)) from None


class HistoryEntry(_Model):
    """One change: a status or balance seen, a stop requested, a failure recorded."""

    at: Timestamp
    status: Status
    balance_status: str | None = None
    note: str | None = None


class SessionRecord(_Model):
    """One item of SessionsTable (key `requestId`); `version` is the optimistic lock."""

    request_id: RequestId
    mode: PartnerMode
    connector_id: str
    evse_id: str | None = None  # canonical, when the start named the EVSE (connector_id resolved from it)
    user_id: str | None = None
    key_identifier: str | None = None
    requested_by: str | None = None
    status: Status = Status.REQUESTED
    balance_status: str | None = None
    session_id: str | None = None  # the partner's, known once remote start answered
    execution_arn: str  # the execution following the session now
    created_at: Timestamp
    updated_at: Timestamp
    status_since: Timestamp  # when the current status was first seen
    start_requested_at: Timestamp | None = None  # when we called remote start
    completed_at: Timestamp | None = None  # when COMPLETE was first seen
    stop_requested_at: Timestamp | None = None
    start_outcome_unknown: bool = False  # remote start failed in a way that may have started one
    cdr_sent_at: Timestamp | None = None
    cdr_fingerprint: str | None = None
    error: str | None = None
    history: list[HistoryEntry] = Field(default_factory=list)
    version: int = 0

    def same_request(self, request: StartRequest) -> bool:
        """Whether `request` repeats the one that made this record. A start by EVSE id is the
        same when it names the same EVSE (any spelling), whichever connector it resolved to."""
        if (request.evse_id is None) != (self.evse_id is None):
            return False
        if request.evse_id is not None and self.evse_id is not None:
            same_place = evse_match_key(request.evse_id) == evse_match_key(self.evse_id)
        else:
            same_place = request.connector_id == self.connector_id
        return same_place and (request.user_id, request.key_identifier) == (self.user_id, self.key_identifier)

    def with_change(
        self,
        at: datetime,
        *,
        status: Status | None = None,
        balance_status: str | None = None,
        note: str | None = None,
        **fields: Any,
    ) -> SessionRecord:
        """A copy with `status`/`balance_status` changed (history entry appended, `status_since`
        moved when the status changes) and any other `fields` set."""
        new_status = status or self.status
        new_balance = balance_status if balance_status is not None else self.balance_status
        entry = HistoryEntry(at=at, status=new_status, balance_status=new_balance, note=note)
        update: dict[str, Any] = {
            "status": new_status,
            "balance_status": new_balance,
            "updated_at": at,
            "history": [*self.history, entry][-HISTORY_LIMIT:],
            **fields,
        }
        if new_status != self.status:
            update["status_since"] = at
        return self.model_copy(update=update)

    def to_item(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> SessionRecord:
        return cls.model_validate(item)

    def view(self) -> dict[str, Any]:
        """What `GET /internal/sessions/{id}` answers (everything but the lock)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"version"})


class StatusChanged(_Model):
    """Detail of the `SessionStatusChanged` event on SessionEventBus. `change_id` is the same
    for every copy of one change, so a consumer can drop the rare duplicate (at-least-once)."""

    change_id: str
    request_id: str
    session_id: str | None
    mode: PartnerMode
    connector_id: str
    evse_id: str | None = None
    user_id: str | None = None
    key_identifier: str | None = None
    status: Status
    previous_status: Status
    balance_status: str | None = None
    previous_balance_status: str | None = None
    at: Timestamp
    execution_arn: str
    note: str | None = None

    @classmethod
    def between(cls, before: SessionRecord, after: SessionRecord, note: str | None = None) -> StatusChanged:
        key = f"{after.request_id}|{after.status}|{after.balance_status}"
        return cls(
            change_id=hashlib.sha256(key.encode()).hexdigest()[:32],
            request_id=after.request_id,
            session_id=after.session_id,
            mode=after.mode,
            connector_id=after.connector_id,
            evse_id=after.evse_id,
            user_id=after.user_id,
            key_identifier=after.key_identifier,
            status=after.status,
            previous_status=before.status,
            balance_status=after.balance_status,
            previous_balance_status=before.balance_status,
            at=after.updated_at,
            execution_arn=after.execution_arn,
            note=note,
        )

    def detail(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)


# Payment state, not the charge: the same fields CDR ingestion leaves out of its payload hash.
PAYMENT_FIELDS = ("balanceStatus", "receiptAvailable")


def charge_fingerprint(session: dict[str, Any]) -> str:
    """The session without its payment state: when this changes after the CDR was sent, the CDR
    is sent again and ingestion stores it as a correction. A balance settling (PROCESSING ->
    PAID) is not a correction and sends nothing (docs/session-poller.md, "CDRs")."""
    charge = {key: value for key, value in session.items() if key not in PAYMENT_FIELDS}
    return hashlib.sha256(json.dumps(charge, sort_keys=True).encode()).hexdigest()[:32]
