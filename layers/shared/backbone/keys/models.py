"""The charging-key record: one per physical or virtual key, shared by rfid-verify, the whitelist
push, key sync and order fulfilment. The DynamoDB item layout is published in
docs/charging-keys.md and declared in template.yaml (ChargingKeysTable)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backbone.keys import rule
from backbone.oioi.codes import ResultCode
from backbone.oioi.identifiers import normalise_uid
from backbone.timeutil import FAR_FUTURE, from_storage, to_storage, to_utc

WHITELIST_PARTITION = "ENABLED"
KeyType = Literal["tag", "card", "virtual"]
OwnerType = Literal["user", "fleet"]


class KeyState(StrEnum):
    IN_STOCK = "IN_STOCK"
    RESERVED = "RESERVED"
    ASSIGNED = "ASSIGNED"
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"
    LOST = "LOST"


class SyncState(StrEnum):
    PENDING = "PENDING"
    SYNCED = "SYNCED"
    ERROR = "ERROR"


class PartnerView(BaseModel):
    """What Plugsurfing knows about the key, as its last answer showed. Written by key sync only,
    so a retried or repeated sync knows which calls already happened (e.g. create vs. enable)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    key_id: str | None = Field(default=None, alias="keyId")
    """Plugsurfing's identifier of the key once it exists there (EMP: the keyIdentifier we
    created it with; Drive: the keyId the activation returned). None: not created/activated."""
    enabled: bool | None = None
    reserved: bool = False
    """Drive: the reservation (uid + visual number) was accepted."""
    user_id: str | None = Field(default=None, alias="userId")
    """Drive: the user the key is activated for."""
    name: str | None = None

    @property
    def registered(self) -> bool:
        return self.key_id is not None


class ChargingKey(BaseModel):
    """A charging key. `uid` is the OIOI form (big-endian, upper case, zero-padded to 8/14/20)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", validate_assignment=True)

    uid: str
    key_identifier: str = Field(alias="keyIdentifier")
    visual_number: str = Field(alias="visualNumber")
    contract_id: str | None = Field(default=None, alias="contractId")
    type: KeyType = "tag"
    name: str | None = None
    owner_id: str | None = Field(default=None, alias="ownerId")
    owner_type: OwnerType | None = Field(default=None, alias="ownerType")
    order_id: str | None = Field(default=None, alias="orderId")
    enabled: bool = False
    valid_from: datetime | None = Field(default=None, alias="validFrom")
    valid_to: datetime | None = Field(default=None, alias="validTo")
    has_payment_method: bool = Field(default=True, alias="hasPaymentMethod")
    state: KeyState = KeyState.IN_STOCK
    sync_state: SyncState = Field(default=SyncState.PENDING, alias="syncState")
    sync_error: str | None = Field(default=None, alias="syncError")
    synced_at: datetime | None = Field(default=None, alias="syncedAt")
    sync_attempts: int = Field(default=0, alias="syncAttempts")
    partner: PartnerView = Field(default_factory=PartnerView)
    created_at: datetime | None = Field(default=None, alias="createdAt")
    updated_at: datetime | None = Field(default=None, alias="updatedAt")
    version: int = 0

    @field_validator("uid")
    @classmethod
    def _uid_is_oioi_form(cls, value: str) -> str:
        return normalise_uid(value)

    @field_validator("valid_from", "valid_to", "created_at", "updated_at", "synced_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else to_utc(value)

    @property
    def active(self) -> bool:
        """Enabled and ACTIVE: Plugsurfing should hold the key enabled (key sync)."""
        return rule.active(self)

    @property
    def whitelisted(self) -> bool:
        """Carries the sparse `whitelist` attribute: the time-independent part of the charging
        rule (keys/rule.py), payment method included; validity is checked when the push reads."""
        return rule.listed(self)

    def valid_at(self, now: datetime) -> bool:
        return rule.in_window(self.valid_from, self.valid_to, now)

    def authorisation(self, now: datetime) -> ResultCode:
        """The rfid-verify answer for this key (keys/rule.py): 0, 192 locked or 193 no payment."""
        return rule.authorisation(self, now)

    def to_item(self) -> dict[str, Any]:
        """The DynamoDB item (plain attribute values, for the resource/Table API)."""
        item: dict[str, Any] = self.model_dump(by_alias=True, exclude_none=True, mode="json")
        for name in _TIME_ATTRIBUTES:
            value = getattr(self, _FIELD_BY_ALIAS[name])
            if value is not None:
                item[name] = to_storage(value)
        item["validTo"] = to_storage(self.valid_to or FAR_FUTURE)
        if self.whitelisted:
            item["whitelist"] = WHITELIST_PARTITION
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ChargingKey:
        data = dict(item)
        for name in _TIME_ATTRIBUTES:
            if isinstance(data.get(name), str):
                data[name] = from_storage(data[name])
        if data.get("validTo") == FAR_FUTURE:
            data["validTo"] = None
        for name in ("version", "syncAttempts"):
            if name in data:
                data[name] = int(data[name])  # DynamoDB numbers arrive as Decimal
        return cls.model_validate(data)


_TIME_ATTRIBUTES = ("validFrom", "validTo", "createdAt", "updatedAt", "syncedAt")
_FIELD_BY_ALIAS = {field.alias: name for name, field in ChargingKey.model_fields.items() if field.alias}
