"""Errors of the session capability.

The class names of the first group are part of the state machine's contract: a Lambda task that
raises one reports its class name as the error, and `session_poller.asl.json` retries or catches
by that name. Rename one only together with the ASL (tests/unit/sessions/test_session_asl.py
checks).

Two "not found"s, because the state machine and the API act on them differently:
`SessionNotFound` (the partner answered 404 for a session it gave us: the ASL's NotFound state)
and `SessionUnknown` (we have no record under that id: 404 from the API, a failed task).
"""

from __future__ import annotations

from backbone.errors import DomainError
from backbone.errors import NotFound as DomainNotFound

# --- Raised by the state machine's tasks (names used in the ASL) -----------------------------------


class SessionFinished(Exception):
    """The session needs no more polling. Raised (not returned) so the ASL can leave the
    Poll -> Wait loop through a Catch, which keeps each iteration at two state transitions
    instead of three (no Choice state); see docs/session-poller.md, "Cost"."""


class SessionTimedOut(Exception):
    """The session outlived the maximum duration; recorded as TIMED_OUT, the execution fails."""


class SessionNotFound(Exception):
    """The partner answered 404 for a session it gave us: the partner adapter raises it, the poll
    records NOT_FOUND and raises it again, and the execution fails."""


class PartnerRetryable(Exception):
    """The partner (or the CDR queue) is busy or failing (429, 5xx, timeout) and the call is safe
    to repeat: the ASL `Retry` backs off and runs the task again."""


class StartOutcomeUnknown(Exception):
    """Remote start failed in a way that may still have started a session (5xx, read timeout).
    Not retried: a second start could charge twice. The poller looks for the session instead
    (Drive: the user's session history); `session_id` is one the failed answer named, if any.
    Where nothing can be looked up (EMP without an id) it is recorded as ERROR."""

    def __init__(self, message: str, session_id: str | None = None) -> None:
        super().__init__(message)
        self.session_id = session_id


class SessionRecordConflict(Exception):
    """The session record changed between our read and our write (a stop request, or a second
    poller during a hand-over); the ASL retries the task, which re-reads it."""


# --- Raised by the internal API ------------------------------------------------------------------


class InvalidStartRequest(DomainError):
    """The start request lacks what the partner mode needs (Drive: userId, EMP: keyIdentifier)."""


class RequestIdConflict(DomainError):
    """This request id was already used for a different start request."""

    http_status = 409


class EvseHasSeveralConnectors(DomainError):
    """The EVSE a start named has more than one connector: the caller picks one and starts with
    its `connectorId` (picking one for them could charge on the wrong plug). 409 listing them."""

    http_status = 409

    def __init__(self, evse_id: str, connectors: list[dict[str, object]]) -> None:
        ids = ", ".join(str(connector["connectorId"]) for connector in connectors)
        super().__init__(
            f"EVSE {evse_id} has {len(connectors)} connectors ({ids}): start with one connectorId"
        )
        self.evse_id = evse_id
        self.connectors = connectors


class EvseWithoutConnector(DomainNotFound):
    """Plugsurfing lists the EVSE but no connector on it: nothing to start on (404)."""


class SessionUnknown(DomainNotFound):
    """No session record under `identifier` (our request id, or the partner's session id): 404
    from the API; a task that meets it (an execution started by hand) fails and is recorded."""

    def __init__(self, identifier: str) -> None:
        super().__init__(f"no session {identifier}")
        self.identifier = identifier


class SessionNotStarted(DomainError):
    """The partner has not given a session id yet, so there is nothing to stop; retry shortly."""

    http_status = 409


class PartnerRefused(DomainError):
    """The partner refused the request for good (4xx); `detail` carries its words."""

    http_status = 502


class PartnerBusy(DomainError):
    """The partner is busy or failing; the caller may retry (HTTP 503)."""

    http_status = 503


class StartRefused(Exception):
    """The partner refused the remote start for good (400/404/409): nothing was started."""
