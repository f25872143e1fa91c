"""Plugsurfing sessions for reconciliation: the Drive session history and a session by id.

Read as the partner sent them (the client's `*_data` methods), for the same reason as the session
poller: a re-enqueued CDR must carry the partner's values, not our re-serialisation, so both
copies of one CDR hash the same. Partner failures become `SessionUnavailable`.
"""

from __future__ import annotations

from typing import Any

from backbone.cdr.models import PartnerMode, SessionUnavailable
from backbone.partners.errors import PartnerError
from backbone.partners.plugsurfing import PlugsurfingClient


class EmpSessions:
    """EMP mode: sessions by id; the EMP API has no session history."""

    def __init__(self, client: PlugsurfingClient) -> None:
        self.client = client

    def completed_sessions(self, user_id: str, limit: int) -> list[dict[str, Any]]:
        return []

    def session(self, mode: PartnerMode, user_id: str | None, session_id: str) -> dict[str, Any]:
        """Drive `GET /v1/users/{u}/sessions/{id}` or EMP `GET {emp base}/sessions/{id}`."""
        if mode == "drive" and not user_id:
            raise SessionUnavailable(f"Drive session {session_id} has no user id")
        try:
            if mode == "drive" and user_id:
                return self.client.get_session_data(user_id, session_id)
            return self.client.emp_get_session_data(session_id)
        except PartnerError as error:
            raise SessionUnavailable(f"session {session_id}: {error}") from error


class DriveSessions(EmpSessions):
    """Drive mode: sessions by id, and each user's session history."""

    def completed_sessions(self, user_id: str, limit: int) -> list[dict[str, Any]]:
        """`POST /v1/users/{userId}/sessions/history` with `sessionStatus: ["COMPLETE"]`."""
        try:
            return self.client.session_history_data(user_id, ["COMPLETE"], limit)
        except PartnerError as error:
            raise SessionUnavailable(f"session history of {user_id}: {error}") from error
