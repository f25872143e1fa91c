"""Environment of the OIOI authorizer and receiver functions (template.yaml, "OIOI receivers")."""

from __future__ import annotations

from pydantic import Field

from backbone.settings import FunctionSettings


class OioiAuthorizerSettings(FunctionSettings):
    partners_table: str = Field(min_length=1)


class OioiReceiverSettings(FunctionSettings):
    charging_keys_table: str = Field(min_length=1)
    stations_table: str = Field(min_length=1)
    cdr_queue_url: str = Field(min_length=1)
