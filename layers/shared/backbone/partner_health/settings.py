"""Environment of partner health (template.yaml, "OIOI receivers", "Partner health")."""

from __future__ import annotations

from pydantic import Field

from backbone.settings import FunctionSettings


class PartnerActivitySettings(FunctionSettings):
    """The receiver's: where accepted messages are noted (empty: not noted)."""

    partner_activity_table: str = ""


class PartnerHealthSettings(FunctionSettings):
    """PartnerHealthFunction's."""

    partner_activity_table: str = Field(min_length=1)
    partners_table: str = Field(min_length=1)
    partner_silence_hours: float = Field(default=24, gt=0)
    """A family without an accepted message for longer than this is silent (parameter
    PartnerSilenceHours)."""
