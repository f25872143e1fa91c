"""Typed configuration: each function declares one pydantic model for its environment.

Logic never reads `os.environ`; the handler loads its settings once (cached) and passes them on.
Field names map to upper-case environment variable names (`cdr_table` <- `CDR_TABLE`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

SettingsT = TypeVar("SettingsT", bound="BaseSettings")


class BaseSettings(BaseModel):
    """Common environment of every function (template Globals)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    stage: Literal["local", "dev", "staging", "production"] = "dev"
    partner_mode: Literal["emp", "drive"] = "emp"


class PlugsurfingApiSettings(BaseSettings):
    """Mixin for functions that call the Drive/EMP REST APIs."""

    drive_api_base_url: HttpUrl
    plugsurfing_api_key_secret: str = Field(min_length=1)


class OioiClientSettings(BaseSettings):
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
