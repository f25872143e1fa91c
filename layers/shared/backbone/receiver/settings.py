"""Environment of the OIOI authorizer and receiver functions (template.yaml, "OIOI receivers")."""

from __future__ import annotations

from pydantic import Field

from backbone.settings import BaseSettings


class OioiAuthorizerSettings(BaseSettings):
    partners_table: str = Field(min_length=1)


class OioiReceiverSettings(BaseSettings):
    charging_keys_table: str = Field(min_length=1)
    stations_table: str = Field(min_length=1)
    cdr_queue_url: str = Field(min_length=1)
