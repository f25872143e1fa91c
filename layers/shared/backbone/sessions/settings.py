"""Environment of the two session functions (template: SessionApiFunction, SessionTasksFunction)."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from backbone.sessions.schedule import PollPolicy
from backbone.settings import PlugsurfingApiSettings, RetentionSettings


class SessionApiSettings(PlugsurfingApiSettings, RetentionSettings):
    """Internal API and start queue: record, start/stop executions, remote stop."""

    sessions_table: str = Field(min_length=1)
    session_state_machine_arn: str = Field(pattern=r"^arn:[^:]+:states:[^:]*:[^:]*:stateMachine:.+$")
    charging_keys_table: str | None = Field(default=None, min_length=1)
    """EMP mode: a start names one of our keys (looked up here to derive its keyIdentifier)."""

    @model_validator(mode="after")
    def _keys_in_emp_mode(self) -> Self:
        if self.partner_mode == "emp" and self.charging_keys_table is None:
            raise ValueError("CHARGING_KEYS_TABLE is required in emp mode: a start names one of our keys")
        return self


class SessionTasksSettings(PlugsurfingApiSettings, RetentionSettings, PollPolicy):
    """The state machine's tasks; the `poll_*` fields (PollPolicy) tune the schedule."""

    sessions_table: str = Field(min_length=1)
    session_event_bus: str = Field(min_length=1)
    cdr_queue_url: str = Field(min_length=1)
    cdr_partner_id: str = Field(default="plugsurfing", min_length=1)

    def policy(self) -> PollPolicy:
        return PollPolicy.model_validate(self.model_dump(include=set(PollPolicy.model_fields)))
