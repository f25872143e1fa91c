"""Typed configuration: each function declares one pydantic model for its environment.

Logic never reads `os.environ`; the handler loads its settings once (cached) and passes them on.
Field names map to upper-case environment variable names (`cdr_table` <- `CDR_TABLE`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from backbone.privacy.retention import (
    DEFAULT_ACCOUNTING_YEARS,
    DEFAULT_ACTIVITY_DAYS,
    DEFAULT_CDR_IDENTITY_DAYS,
    DEFAULT_ORDER_ADDRESS_DAYS,
    RetentionPolicy,
)

SettingsT = TypeVar("SettingsT", bound="FunctionSettings")


class FunctionSettings(BaseModel):
    """Common environment of every function (template Globals)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    stage: Literal["local", "dev", "staging", "production"] = "dev"
    partner_mode: Literal["emp", "drive"] = "emp"


class PlugsurfingApiSettings(FunctionSettings):
    """Mixin for functions that call the Drive/EMP REST APIs."""

    drive_api_base_url: HttpUrl
    emp_api_base_url: HttpUrl | None = None
    """The EMP API's base, paths `/charging-keys`, `/orders`... below it. None (or empty): the
    Drive base URL + `/emp/v1`, an assumption (`backbone.partners.plugsurfing.emp_base_under`)."""
    plugsurfing_api_key_secret: str = Field(min_length=1)

    @field_validator("emp_api_base_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def emp_base_url(self) -> str | None:
        return None if self.emp_api_base_url is None else str(self.emp_api_base_url).rstrip("/")


class RetentionSettings(FunctionSettings):
    """Mixin: the stage's retention periods (template Globals, parameters ActivityRetentionDays,
    CdrIdentityRetentionDays, OrderAddressRetentionDays, AccountingRetentionYears;
    docs/privacy.md, "Retention")."""

    activity_retention_days: int = Field(default=DEFAULT_ACTIVITY_DAYS, ge=1)
    cdr_identity_retention_days: int = Field(default=DEFAULT_CDR_IDENTITY_DAYS, ge=1)
    order_address_retention_days: int = Field(default=DEFAULT_ORDER_ADDRESS_DAYS, ge=1)
    accounting_retention_years: int = Field(default=DEFAULT_ACCOUNTING_YEARS, ge=1)

    def retention_policy(self) -> RetentionPolicy:
        return RetentionPolicy(
            activity_days=self.activity_retention_days,
            cdr_identity_days=self.cdr_identity_retention_days,
            order_address_days=self.order_address_retention_days,
            accounting_years=self.accounting_retention_years,
        )


class OioiClientSettings(FunctionSettings):
    """Mixin for functions that send OIOI messages to Plugsurfing."""

    oioi_endpoint_url: HttpUrl
    oioi_api_key_secret: str = Field(min_length=1)


def settings_from(model: type[SettingsT], environ: Mapping[str, str]) -> SettingsT:
    """Validate `model` against an environment mapping (upper-case names)."""
    values = {name: environ[name.upper()] for name in model.model_fields if name.upper() in environ}
    return model.model_validate(values)


@cache
def load_settings(model: type[SettingsT]) -> SettingsT:
    """The process environment as `model`, validated once per cold start."""
    return settings_from(model, os.environ)
