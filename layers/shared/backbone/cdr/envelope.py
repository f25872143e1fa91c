"""The message on the CDR queue: the contract between producers (OIOI `session-post` receiver,
session poller) and the ingestion function."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CdrSource = Literal["oioi", "drive-api"]


class CdrEnvelope(BaseModel):
    """One CDR as received. `raw` is the message's JSON text exactly as the partner sent it
    (the `session-post` object, or the Drive/EMP session), so the original timestamp offsets and
    number formats survive; ingestion validates it again and never trusts the producer."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    source: CdrSource
    partner_id: str = Field(alias="partnerId", min_length=1)
    received_at: datetime = Field(alias="receivedAt")
    raw: str = Field(min_length=2)
    user_id: str | None = Field(default=None, alias="userId", min_length=1)
    """drive-api only, optional: the Drive user the session belongs to. A Drive/EMP session JSON
    does not name its user, so without it the CDR is not findable by driver (docs/cdr-ingestion.md)."""

    def to_message(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)
