"""Plugsurfing sessions for reconciliation: the Drive session history and a session by id.

Read through the client's HTTP layer, not its typed methods, for the same reason as the session
poller (`backbone.sessions.partner`): a re-enqueued CDR must carry the partner's values, not our
re-serialisation, and be written the way the poller writes it, so both copies hash the same.
"""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import quote

from backbone.partners.plugsurfing import PlugsurfingClient

PartnerMode = Literal["drive", "emp"]


def session_text(session: dict[str, Any]) -> str:
    """The CDR `raw` of a session, exactly as the session poller writes it."""
    return json.dumps(session, ensure_ascii=False, separators=(",", ":"))


class PlugsurfingSessionSource:
    def __init__(self, client: PlugsurfingClient) -> None:
        self.client = client

    def completed_sessions(self, user_id: str, limit: int) -> list[dict[str, Any]]:
        """`POST /v1/users/{userId}/sessions/history` with `sessionStatus: ["COMPLETE"]`."""
        body = {"sessionStatus": ["COMPLETE"], "limit": limit}
        path = f"/v1/users/{_segment(user_id)}/sessions/history"
        data = self.client.http.request("POST", path, json=body, idempotent=True).data
        sessions = data.get("sessions", []) if isinstance(data, dict) else []
        return [session for session in sessions if isinstance(session, dict)]

    def session(self, mode: PartnerMode, user_id: str | None, session_id: str) -> dict[str, Any]:
        """Drive `GET /v1/users/{u}/sessions/{id}` or EMP `GET {emp base}/sessions/{id}`."""
        if mode == "drive":
            if not user_id:
                raise ValueError(f"Drive session {session_id} has no user id")
            http = self.client.http
            path = f"/v1/users/{_segment(user_id)}/sessions/{_segment(session_id)}"
        else:
            http, path = self.client.emp_http, f"/sessions/{_segment(session_id)}"
        data = http.request("GET", path).data
        if not isinstance(data, dict):
            raise ValueError(f"session {session_id}: expected a JSON object from the partner")
        return data


def _segment(value: str) -> str:
    return quote(value, safe="")
