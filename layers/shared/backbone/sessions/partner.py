"""`PartnerSessions` on Plugsurfing: one adapter per partner mode (Drive `/v1/users/{u}/sessions`,
EMP `/emp/v1/sessions`) and `SessionsByMode`, which hands each record to the adapter of the mode
it was started in. Partner failures become what the logic and the ASL act on here
(`PartnerRetryable`, `SessionNotFound`, `StartRefused`...): logic never sees HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, NoReturn

from backbone.partners.errors import (
    CALL_FAILURES,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PartnerError,
    PartnerUnavailable,
    ServerError,
    TooManyRequests,
    is_transient,
)
from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.partners.retry import NOT_SENT_ERRORS
from backbone.partners.schemas import Session, SessionStarted
from backbone.partners.users import DriveUsers, EnsureUser
from backbone.sessions.errors import (
    PartnerBusy,
    PartnerRefused,
    PartnerRetryable,
    SessionNotFound,
    StartOutcomeUnknown,
    StartRefused,
)
from backbone.sessions.models import PartnerMode, SessionRecord
from backbone.sessions.ports import ObservedSession, PartnerSessions
from backbone.timeutil import to_utc

HISTORY_LIMIT = 50  # the spec's example; a start is looked for within minutes of it
HISTORY_CLOCK_SKEW = timedelta(minutes=1)  # the partner's startTime against our clock
_BUSY = (TooManyRequests, ServerError, PartnerUnavailable)


class DriveSessions:
    """`PartnerSessions` over the Drive API: sessions of a user (`userId`), who is created at
    Plugsurfing before their first start (`ensure_user`)."""

    def __init__(self, client: PlugsurfingClient, ensure_user: EnsureUser | None = None) -> None:
        self.client = client
        self.ensure_user = ensure_user or DriveUsers(client).ensure

    def start(self, record: SessionRecord) -> str:
        user_id = _required(record.user_id)
        try:
            self.ensure_user(user_id)
        except CALL_FAILURES as error:  # no start was sent: safe to repeat, or refused for good
            if is_transient(error):
                raise PartnerRetryable(f"creating Drive user failed: {error}"[:500]) from error
            raise StartRefused(
                f"Plugsurfing refused to create Drive user {user_id}: {error}"[:500]
            ) from error
        return _started(lambda: self.client.start_session(user_id, record.connector_id))

    def get(self, record: SessionRecord) -> ObservedSession:
        user_id, session_id = _required(record.user_id), _required(record.session_id)
        return _observed(lambda: self.client.get_session_data(user_id, session_id))

    def stop(self, record: SessionRecord) -> None:
        user_id, session_id = _required(record.user_id), _required(record.session_id)
        _stopped(session_id, lambda: self.client.stop_session(user_id, session_id))

    def can_find_started(self, record: SessionRecord) -> bool:
        return True

    def find_started(self, record: SessionRecord) -> list[ObservedSession]:
        """The user's session history (every status): sessions on the record's connector that
        started since its remote start, oldest first."""
        since = (record.start_requested_at or record.created_at) - HISTORY_CLOCK_SKEW
        try:
            sessions = self.client.session_history_data(_required(record.user_id), limit=HISTORY_LIMIT)
        except (*_BUSY, Forbidden) as error:
            raise PartnerRetryable(_describe(error)) from error
        found: list[tuple[datetime, ObservedSession]] = []
        for session in sessions:
            if session.get("connectorId") != record.connector_id:
                continue
            started = _moment(session.get("startTime"))
            if started is None or started < since or not session.get("sessionId"):
                continue
            found.append((started, ObservedSession(data=session, raw=_text(session))))
        return [observed for _, observed in sorted(found, key=lambda pair: pair[0])]


class EmpSessions:
    """`PartnerSessions` over the EMP API: sessions started with one of our keys."""

    def __init__(self, client: PlugsurfingClient) -> None:
        self.client = client

    def start(self, record: SessionRecord) -> str:
        key_identifier = _required(record.key_identifier)
        return _started(lambda: self.client.emp_start_session(record.connector_id, key_identifier))

    def get(self, record: SessionRecord) -> ObservedSession:
        session_id = _required(record.session_id)
        return _observed(lambda: self.client.emp_get_session_data(session_id))

    def stop(self, record: SessionRecord) -> None:
        session_id = _required(record.session_id)
        _stopped(session_id, lambda: self.client.emp_stop_session(session_id))

    def can_find_started(self, record: SessionRecord) -> bool:
        return False

    def find_started(self, record: SessionRecord) -> NoReturn:
        raise ValueError("the EMP API cannot list sessions: only a session by its id")


class SessionsByMode:
    """`PartnerSessions` for records of any mode: each call goes to the adapter of the mode the
    record was started in (a record keeps its mode if the deployment's changes)."""

    def __init__(self, adapters: Mapping[PartnerMode, PartnerSessions]) -> None:
        self.adapters = adapters

    def start(self, record: SessionRecord) -> str:
        return self.adapters[record.mode].start(record)

    def get(self, record: SessionRecord) -> ObservedSession:
        return self.adapters[record.mode].get(record)

    def stop(self, record: SessionRecord) -> None:
        self.adapters[record.mode].stop(record)

    def can_find_started(self, record: SessionRecord) -> bool:
        return self.adapters[record.mode].can_find_started(record)

    def find_started(self, record: SessionRecord) -> list[ObservedSession]:
        return self.adapters[record.mode].find_started(record)


def plugsurfing_sessions(client: PlugsurfingClient) -> SessionsByMode:
    """Drive and EMP sessions over one client (it serves both APIs, each with its base URL)."""
    return SessionsByMode({"drive": DriveSessions(client), "emp": EmpSessions(client)})


def _started(start: Callable[[], SessionStarted]) -> str:
    """A remote start's session id, or what its failure means for the poller."""
    try:
        return start().session_id
    except (BadRequest, NotFound, Conflict) as error:
        raise StartRefused(_describe(error)) from error
    except TooManyRequests as error:
        raise PartnerRetryable(_describe(error)) from error
    except PartnerUnavailable as error:
        # Only a start that provably never reached the partner (or was refused with 429) is
        # safe to send again; after a read timeout a session may exist.
        if isinstance(error.last_error, (*NOT_SENT_ERRORS, TooManyRequests)):
            raise PartnerRetryable(_describe(error)) from error
        raise StartOutcomeUnknown(_describe(error), _session_id_in(error.body)) from error
    except ServerError as error:
        raise StartOutcomeUnknown(_describe(error), _session_id_in(error.body)) from error


def _observed(read: Callable[[], dict[str, Any]]) -> ObservedSession:
    """The session as received: the CDR must carry the partner's values, not our
    re-serialisation, so the typed `Session` only checks the shape we rely on."""
    try:
        data = read()
    except NotFound as error:
        raise SessionNotFound(_describe(error)) from error
    except (*_BUSY, Forbidden) as error:
        # 401/403 on a read means our API key is wrong or being rotated: worth retrying
        # while an operator fixes the secret, rather than dropping every session.
        raise PartnerRetryable(_describe(error)) from error
    Session.model_validate(data)  # anything else is a partner fault
    return ObservedSession(data=data, raw=_text(data))


def _stopped(session_id: str, stop: Callable[[], None]) -> None:
    try:
        stop()
    except NotFound as error:
        raise PartnerRefused(f"the partner does not know session {session_id}: {_describe(error)}") from error
    except _BUSY as error:
        raise PartnerBusy(f"the partner is busy, retry the stop: {_describe(error)}") from error
    except PartnerError as error:
        raise PartnerRefused(f"the partner refused the stop: {_describe(error)}") from error


def _required(value: str | None) -> str:
    if not value:
        raise ValueError("the session record lacks an identifier its partner mode needs")
    return value


def _text(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _describe(error: PartnerError) -> str:
    return str(error)[:500]


def _session_id_in(body: Any) -> str | None:
    """The Drive spec says a start always answers a session id; a failed answer may carry one."""
    value = body.get("sessionId") if isinstance(body, dict) else None
    return value if isinstance(value, str) and value.strip() else None


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return to_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None
