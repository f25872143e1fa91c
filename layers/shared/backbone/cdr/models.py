"""The CDR as ingestion stores it, and its DynamoDB item (schema: docs/cdr-ingestion.md).

One session has one current record (`sk = "CDR"`): an ONGOING update until the final CDR
arrives, then FINAL and never changed again. A different final payload for a finished session
is kept beside it as a correction (`sk = "CORRECTION#<payloadHash>"`).

The `progress` key orders updates of one session so that DynamoDB can compare them in a
ConditionExpression (`#progress < :progress`): a fixed-width string whose text order is the
order "which update describes the session further along". See `Cdr.progress`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Json, model_validator

from backbone.cdr.envelope import CdrEnvelope, CdrSource
from backbone.sqs import SqsRecordModel
from backbone.timeutil import from_storage, to_storage, to_utc

CURRENT_SK = "CDR"
CORRECTION_PREFIX = "CORRECTION#"
MAX_ENERGY_KWH = Decimal(10) ** 9
"""Far above any charge (a TWh); bounds the fixed-width energy part of the progress key."""

_NO_TIME = "0000-00-00T00:00:00.000Z"  # sorts before every real storage time
_NO_ENERGY = "-" * 18  # sorts before every energy ("-" < "0")
_ENERGY_SCALE = Decimal(10) ** 6  # the progress key compares energy to the Wh/1000 (1 mWh)

# Global secondary indexes (template.yaml, CdrTable): name -> (hash attribute, range attribute).
# Each projects only what its queries read (docs/cdr-ingestion.md, "Access patterns"); a reader
# that needs the whole record gets it from the table by key (BatchGetItem).
INDEXES: dict[str, tuple[str, str]] = {
    "BySession": ("sessionId", "receivedAt"),
    "ByDriver": ("driverKey", "startedAt"),
    "NeedsReview": ("needsReview", "receivedAt"),
    "ByBillingDay": ("billingDay", "partnerId"),
}
BILLING_DAY = "billingDay"
"""Sparse: the UTC date (YYYY-MM-DD) of `receivedAt`, only on records billing exports: FINAL
current records and corrections (docs/billing-feed.md, "Export")."""
BILLING_DAY_PROJECTION = (
    "kind",
    "status",
    "sessionId",
    "source",
    "startedAt",
    "stoppedAt",
    "chargingStartedAt",
    "chargingStoppedAt",
    "receivedAt",
    "payloadHash",
    "energyKwh",
    "costAmount",
    "costCurrency",
    "costAmountExclVat",
    "vatPercent",
    "evseId",
    "driverType",
    "driverHash",
    "anomalies",
    "needsReview",
    "reviewedAt",
)
"""ByBillingDay's non-key attributes (template.yaml): what the export reads, never `raw` or
`driverId` (the export carries the driver's pseudonym only)."""
BY_SESSION_PROJECTION = ("kind", "status")
"""BySession's non-key attributes: reconciliation's "is there a final current record"."""
REVIEW_ATTRIBUTE = "needsReview"
REVIEW_OPEN = "OPEN"
REVIEWED_AT = "reviewedAt"
REVIEW_NOTE = "reviewNote"
"""Sparse: present (`OPEN`) exactly while a flagged record awaits an operator's review."""

# Message attributes of a dead letter (CdrDeadLetterQueue): why, when and which message.
REJECT_REASON = "cdrRejectReason"
REJECTED_AT = "cdrRejectedAt"
REJECTED_MESSAGE_ID = "cdrRejectedMessageId"
REJECT_ATTRIBUTES = frozenset({REJECT_REASON, REJECTED_AT, REJECTED_MESSAGE_ID})

# One atomic batch of writes (`CdrStore.write_all`, a DynamoDB TransactWriteItems): at most 100
# items and 4 MB. Ingestion packs whole sessions below both (item size estimated from `raw`).
MAX_BATCH_WRITES = 100
MAX_BATCH_BYTES = 3_000_000

PartnerMode = Literal["drive", "emp"]


class CdrStatus(StrEnum):
    ONGOING = "ONGOING"  # no session stop time yet (OIOI) / Drive session STARTED
    FINAL = "FINAL"  # session stop time present (OIOI) / Drive session COMPLETE


class RecordKind(StrEnum):
    CDR = "CDR"  # the current record of the session
    CORRECTION = "CORRECTION"  # a different final CDR received after the first one


class DriverType(StrEnum):
    """OIOI `identifier-type`, plus the Drive API's user id."""

    RFID = "rfid"
    EVCO_ID = "evco-id"
    USERNAME = "username"
    DRIVE_USER = "drive-user"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Driver(_Frozen):
    type: DriverType
    id: str
    pseudonym: str | None = None
    """`backbone.privacy.pseudonym` of `key` (stored as `driverHash`): what stays of the driver
    once the identifier is pseudonymised or erased (docs/privacy.md)."""

    @property
    def key(self) -> str:
        """The driver's canonical identity, e.g. `rfid#04523022AA4881`: what the pseudonym hashes."""
        return f"{self.type.value}#{self.id}"

    @property
    def index_key(self) -> str | None:
        """The ByDriver index key `<type>#<pseudonym>` (no raw identifier in any index); None
        while the driver has no pseudonym, and such a record stays out of the index."""
        return None if self.pseudonym is None else driver_index_key(self.type, self.pseudonym)


def driver_index_key(driver_type: DriverType, value: str) -> str:
    """`<type>#<value>`: a ByDriver key. Written with the pseudonym; items stored before
    pseudonymisation at write hold the raw id here until the retention purge rewrites them."""
    return f"{driver_type.value}#{value}"


class Cost(_Frozen):
    """What the session costs, exactly: `amount` as sent (OIOI) or incl. VAT (Drive/EMP)."""

    amount: Decimal
    currency: str | None  # None only for a flagged CDR whose currency could not be read
    amount_excl_vat: Decimal | None = None
    vat_percent: Decimal | None = None


class Cdr(_Frozen):
    """One CDR payload, validated and normalised. Times are UTC; the partner's own text (with
    its offsets and number spelling) is `raw`."""

    partner_id: str
    session_id: str
    source: CdrSource
    status: CdrStatus
    started_at: datetime | None  # None only for a flagged CDR whose start could not be read
    stopped_at: datetime | None = None
    charging_started_at: datetime | None = None
    charging_stopped_at: datetime | None = None
    energy_kwh: Decimal | None = None
    cost: Cost | None = None
    driver: Driver | None = None
    evse_id: str | None = None
    received_at: datetime
    payload_hash: str
    raw: str
    partner_identifier: str | None = None  # OIOI partner-identifier of the session-post
    balance_status: str | None = None  # Drive/EMP payment state when the CDR was taken
    anomalies: tuple[str, ...] = ()
    """What intake could not read with certainty (docs/cdr-ingestion.md, "Intake policy"): the
    record is stored with `needsReview` until an operator resolves it."""

    @property
    def needs_review(self) -> bool:
        return bool(self.anomalies)

    @property
    def pk(self) -> str:
        return f"{self.partner_id}#{self.session_id}"

    @property
    def is_final(self) -> bool:
        return self.status is CdrStatus.FINAL

    @property
    def progress(self) -> str:
        """`rank|chargingStop|chargingStarted|energy|receivedAt|payloadHash`, fixed width.

        A final CDR (rank 1) is beyond every ongoing update (rank 0). Between ongoing updates:
        a later charging stop, then charging having started, then more energy is further along;
        `receivedAt` breaks ties and the hash makes the order total, so every permutation of the
        same updates ends with the same record.
        """
        return "|".join(
            (
                "1" if self.is_final else "0",
                _time_key(self.charging_stopped_at),
                "1" if self.charging_started_at else "0",
                _energy_key(self.energy_kwh),
                to_storage(self.received_at),
                self.payload_hash,
            )
        )

    def to_item(self, kind: RecordKind = RecordKind.CDR) -> dict[str, Any]:
        """The DynamoDB item (plain values: str and Decimal; absent values left out)."""
        item: dict[str, Any] = {
            "pk": self.pk,
            "sk": CURRENT_SK if kind is RecordKind.CDR else f"{CORRECTION_PREFIX}{self.payload_hash}",
            "kind": kind.value,
            "status": self.status.value,
            "progress": self.progress,
            "partnerId": self.partner_id,
            "sessionId": self.session_id,
            "source": self.source,
            "receivedAt": to_storage(self.received_at),
            "payloadHash": self.payload_hash,
            "raw": self.raw,
        }
        optional: dict[str, Any] = {
            "startedAt": self.started_at and to_storage(self.started_at),
            "stoppedAt": self.stopped_at and to_storage(self.stopped_at),
            "chargingStartedAt": self.charging_started_at and to_storage(self.charging_started_at),
            "chargingStoppedAt": self.charging_stopped_at and to_storage(self.charging_stopped_at),
            "energyKwh": self.energy_kwh,
            "evseId": self.evse_id,
            "partnerIdentifier": self.partner_identifier,
            "balanceStatus": self.balance_status,
        }
        if self.is_final:
            optional[BILLING_DAY] = billing_day(self.received_at)
        if self.anomalies:
            optional |= {"anomalies": list(self.anomalies), REVIEW_ATTRIBUTE: REVIEW_OPEN}
        if self.driver is not None:
            optional |= {
                "driverType": self.driver.type.value,
                "driverId": self.driver.id,
                "driverKey": self.driver.index_key,
                "driverHash": self.driver.pseudonym,
            }
        if self.cost is not None:
            optional |= {
                "costAmount": self.cost.amount,
                "costCurrency": self.cost.currency,
                "costAmountExclVat": self.cost.amount_excl_vat,
                "vatPercent": self.cost.vat_percent,
            }
        return item | {name: value for name, value in optional.items() if value is not None}


@dataclass(frozen=True)
class Review:
    """An operator's resolution of a flagged record (`bbctl cdr review resolve`)."""

    at: str
    note: str


@dataclass(frozen=True)
class StoredCdr:
    """An item of CdrTable: the current record or a correction; `review` once resolved."""

    kind: RecordKind
    cdr: Cdr
    review: Review | None = None

    @property
    def sk(self) -> str:
        return CURRENT_SK if self.kind is RecordKind.CDR else f"{CORRECTION_PREFIX}{self.cdr.payload_hash}"

    @property
    def awaiting_review(self) -> bool:
        return self.cdr.needs_review and self.review is None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> StoredCdr:
        """The stored record; also from an index projection without `raw` and `driverId`
        (ByBillingDay): `raw` is then empty and the driver known by its pseudonym only."""

        def time(name: str) -> datetime | None:
            return from_storage(item[name]) if name in item else None

        driver = None
        if "driverType" in item:
            identifier = item.get("driverId", item.get("driverHash", ""))
            driver = Driver(type=item["driverType"], id=identifier, pseudonym=item.get("driverHash"))
        cost = None
        if "costAmount" in item:
            cost = Cost(
                amount=item["costAmount"],
                currency=item.get("costCurrency"),
                amount_excl_vat=item.get("costAmountExclVat"),
                vat_percent=item.get("vatPercent"),
            )
        cdr = Cdr(
            partner_id=item["partnerId"],
            session_id=item["sessionId"],
            source=item["source"],
            status=item["status"],
            started_at=time("startedAt"),
            stopped_at=time("stoppedAt"),
            charging_started_at=time("chargingStartedAt"),
            charging_stopped_at=time("chargingStoppedAt"),
            energy_kwh=item.get("energyKwh"),
            cost=cost,
            driver=driver,
            evse_id=item.get("evseId"),
            received_at=from_storage(item["receivedAt"]),
            payload_hash=item["payloadHash"],
            raw=item.get("raw", ""),
            partner_identifier=item.get("partnerIdentifier"),
            balance_status=item.get("balanceStatus"),
            anomalies=tuple(item.get("anomalies", ())),
        )
        review = Review(item[REVIEWED_AT], item.get(REVIEW_NOTE, "")) if REVIEWED_AT in item else None
        return cls(RecordKind(item["kind"]), cdr, review)

    def view(self) -> dict[str, Any]:
        """A JSON-ready summary for operators (`bbctl cdr show`); amounts as exact strings."""
        item = self.cdr.to_item(self.kind)
        item.pop("progress")
        if self.review is not None:
            item.pop(REVIEW_ATTRIBUTE, None)
            item |= {REVIEWED_AT: self.review.at, REVIEW_NOTE: self.review.note}
        return {name: str(value) if isinstance(value, Decimal) else value for name, value in item.items()}


@dataclass(frozen=True)
class StoredState:
    """What the merge rules need to know about the current record of a session."""

    status: CdrStatus
    progress: str
    payload_hash: str

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> StoredState:
        return cls(CdrStatus(item["status"]), str(item["progress"]), str(item["payloadHash"]))


@dataclass(frozen=True)
class PutResult:
    """`written`: the record is now the session's current record; `previous` is the one it
    replaced (None: the session is new). Not written: `previous` is the current record, which
    is final or further along."""

    written: bool
    previous: StoredState | None


@dataclass(frozen=True)
class RecordWrite:
    """One conditional write of a batch (`CdrStore.write_all`): `cdr` as the session's current
    record (kind CDR) if the record is still `replaces` (None: the session has none; else an
    ONGOING record with a lower progress), or as a correction if that correction is not stored."""

    cdr: Cdr
    kind: RecordKind
    replaces: StoredState | None = None

    @property
    def key(self) -> tuple[str, str]:
        sk = CURRENT_SK if self.kind is RecordKind.CDR else f"{CORRECTION_PREFIX}{self.cdr.payload_hash}"
        return (self.cdr.pk, sk)


@dataclass(frozen=True)
class Refused:
    """A write of a batch whose condition failed: `current` is the session's current record
    DynamoDB returned (for a correction: None, the correction is stored already)."""

    write: RecordWrite
    current: StoredState | None


class WriteConflict(Exception):
    """A batch of writes was cancelled with nothing refused (another transaction held one of
    its items): nothing was written, trying again may succeed."""


@dataclass(frozen=True)
class PollerSession:
    """A SessionsTable record the poller saw COMPLETE."""

    session_id: str
    mode: PartnerMode
    user_id: str | None
    completed_at: datetime


class SessionUnavailable(Exception):
    """Plugsurfing could not give a session (or a user's session history): reconciliation counts
    it as an error and tries again on its next run."""


class CdrQueueRecord(SqsRecordModel):
    """An SQS record of CdrQueue, its body parsed as the CdrEnvelope contract. `body_text` keeps
    the body as sent, so a dead letter is the very message that arrived."""

    body: Json[CdrEnvelope]
    body_text: str = ""

    @model_validator(mode="before")
    @classmethod
    def _keep_body_text(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("body"), str):
            return {**data, "body_text": data["body"]}
        return data


def billing_day(received_at: datetime) -> str:
    """The day a record is exported for: the UTC date of its `receivedAt`."""
    return to_utc(received_at).date().isoformat()


def _time_key(value: datetime | None) -> str:
    return _NO_TIME if value is None else to_storage(value)


def _energy_key(value: Decimal | None) -> str:
    if value is None:
        return _NO_ENERGY
    return f"{int((value * _ENERGY_SCALE).to_integral_value(ROUND_FLOOR)):018d}"
