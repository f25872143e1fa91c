"""The internal API's commands: start a session, look one up, stop one.

Start is idempotent on the client's request id: the record is created conditionally and the
execution is named after the request id with an input derived from it alone, so Step Functions
returns the running execution for a repeat (Standard workflows keep names unique for 90 days).

Stop hands the session over to a new execution, `<requestId>.stop`, which polls at once and then
every `poll_stop_wait` seconds, and stops the old one, which may be in a Wait of up to 5 min
(a Wait cannot be shortened). See docs/session-poller.md, "Stopping".
"""

from __future__ import annotations

from datetime import datetime

from backbone.keys.identity import find_our_key, partner_key_identifier
from backbone.observability import logger
from backbone.sessions.errors import (
    EvseHasSeveralConnectors,
    EvseWithoutConnector,
    InvalidStartRequest,
    RequestIdConflict,
    SessionNotStarted,
    SessionRecordConflict,
    SessionUnknown,
)
from backbone.sessions.models import FINAL_STATUSES, PartnerMode, SessionRecord, StartRequest, Status
from backbone.sessions.ports import ApiDependencies, ConnectorResolver, KeyLookup, SessionStore

STOP_EXECUTION_SUFFIX = ".stop"
_SAVE_ATTEMPTS = 3


class DriveStarts:
    """Drive mode: a start names the user it charges (`userId`)."""

    mode: PartnerMode = "drive"

    def prepare(self, request: StartRequest) -> StartRequest:
        if not request.user_id:
            raise InvalidStartRequest("userId is required in drive mode")
        return request


class EmpStarts:
    """EMP mode: a start names one of our charging keys (`keyIdentifier`), sent to the partner in
    the one form the EMP API documents."""

    mode: PartnerMode = "emp"

    def __init__(self, keys: KeyLookup) -> None:
        self.keys = keys

    def prepare(self, request: StartRequest) -> StartRequest:
        if not request.key_identifier:
            raise InvalidStartRequest("keyIdentifier is required in emp mode")
        return with_partner_key(request, self.keys)


def execution_input(request_id: str) -> dict[str, str]:
    """The same for every start of this request: what makes StartExecution idempotent."""
    return {"requestId": request_id}


def submit_start(request: StartRequest, deps: ApiDependencies) -> tuple[SessionRecord, bool]:
    """Record the request and start its execution. Returns the record and whether it is new;
    a repeat returns the first request's record and starts nothing new. A start naming an
    `evseId` is resolved to its one connector first (a repeat is not looked up again)."""
    request = deps.starts.prepare(request)
    if request.evse_id is not None:
        known = deps.store.get(request.request_id)
        if known is None:
            request = with_connector(request, deps.connectors)
        elif known.same_request(request):
            request = request.model_copy(
                update={"connector_id": known.connector_id, "evse_id": known.evse_id}
            )
        else:
            raise RequestIdConflict(f"request id {request.request_id} was used for a different start request")
    if request.connector_id is None:  # the model requires connectorId or evseId
        raise InvalidStartRequest("give exactly one of connectorId and evseId")
    now = deps.clock()
    record = SessionRecord(
        request_id=request.request_id,
        mode=deps.starts.mode,
        connector_id=request.connector_id,
        evse_id=request.evse_id,
        user_id=request.user_id,
        key_identifier=request.key_identifier,
        requested_by=request.requested_by,
        execution_arn=deps.executions.arn_for(request.request_id),
        created_at=now,
        updated_at=now,
        status_since=now,
    )
    record = record.with_change(now, note="start requested")
    created = deps.store.put_new(record)
    if not created:
        existing = deps.store.get(request.request_id)
        if existing is None:  # deleted in between: vanishingly rare, let the client retry
            raise SessionRecordConflict(f"request {request.request_id} changed while starting")
        if not existing.same_request(request):
            raise RequestIdConflict(f"request id {request.request_id} was used for a different start request")
        record = existing
    # Also on a repeat: if the first attempt failed right after writing the record, this starts
    # the execution; if it is running, Step Functions returns it.
    deps.executions.start(request.request_id, execution_input(request.request_id))
    logger.info(
        "session start submitted", extra={"new_request": created, "execution_arn": record.execution_arn}
    )
    return record, created


def with_connector(request: StartRequest, connectors: ConnectorResolver) -> StartRequest:
    """The request with the `connectorId` of the EVSE it names and the EVSE id in its canonical
    spelling. Only an EVSE with exactly one connector is started on: with several the caller
    must choose (`EvseHasSeveralConnectors`, 409 listing them)."""
    match = connectors.resolve(request.connector_query())
    if not match.connectors:
        raise EvseWithoutConnector(
            f"EVSE {match.evse_id} at {match.location_id} has no connector to start on"
        )
    if len(match.connectors) > 1:
        listed = [
            connector.model_dump(mode="json", by_alias=True, exclude_none=True)
            for connector in match.connectors
        ]
        raise EvseHasSeveralConnectors(match.evse_id, listed)
    logger.info("evse resolved", extra={"evse_id": match.evse_id, "location_id": match.location_id})
    return request.model_copy(update={"connector_id": match.connector_ids[0], "evse_id": match.evse_id})


def with_partner_key(request: StartRequest, keys: KeyLookup) -> StartRequest:
    """The request with `keyIdentifier` in the one form the EMP API documents (hex little-endian),
    derived from our key, which the client may name by UID or key identifier. A key we do not
    have is refused here rather than passed on for Plugsurfing to guess at."""
    named = request.key_identifier or ""
    key = find_our_key(named, keys)
    if key is None:
        raise InvalidStartRequest(
            f"keyIdentifier {named!r} is not one of our charging keys: name it by its UID "
            "(e.g. 04523022AA4881) or its key identifier (hex, little-endian)"
        )
    return request.model_copy(update={"key_identifier": partner_key_identifier(key)})


def find_session(identifier: str, store: SessionStore) -> SessionRecord:
    """By our request id, or by the partner's session id."""
    record = store.get(identifier) or store.find_by_session_id(identifier)
    if record is None:
        raise SessionUnknown(identifier)
    return record


def request_stop(identifier: str, deps: ApiDependencies) -> SessionRecord:
    """Remote stop, then poll soon. Stopping a finished session changes nothing (and asking the
    partner to stop a stopped session is harmless, says the spec, so repeats are fine)."""
    record = find_session(identifier, deps.store)
    if record.session_id is None:
        if record.status == Status.FAILED_TO_START:  # the partner refused the start: nothing runs
            return record
        raise SessionNotStarted(f"session {identifier} has no partner session id yet; retry in a few seconds")
    if record.status in FINAL_STATUSES or record.status == Status.COMPLETE:
        return record
    deps.partner.stop(record)
    name = f"{record.request_id}{STOP_EXECUTION_SUFFIX}"
    follower = deps.executions.arn_for(name)
    original = deps.executions.arn_for(record.request_id)
    record = _mark_stop_requested(deps.store, record, follower, deps.clock())
    deps.executions.start(name, execution_input(record.request_id))
    # Every time, not only the first: a repeat then finishes a hand-over that failed half-way.
    deps.executions.stop(original, cause="superseded by a stop request")
    logger.info("stop requested", extra={"execution_arn": follower, "superseded": original})
    return record


def _mark_stop_requested(
    store: SessionStore, record: SessionRecord, follower: str, now: datetime
) -> SessionRecord:
    """Write `stopRequestedAt` (the first one stays) and the follower execution, retrying when a
    poll wrote the record meanwhile."""
    for attempt in range(1, _SAVE_ATTEMPTS + 1):
        if record.stop_requested_at is not None and record.execution_arn == follower:
            return record
        changed = record.with_change(
            now,
            note="stop requested",
            stop_requested_at=record.stop_requested_at or now,
            execution_arn=follower,
        )
        try:
            return store.save(changed)
        except SessionRecordConflict:
            if attempt == _SAVE_ATTEMPTS:
                raise
            fresh = store.get(record.request_id)
            if fresh is None:
                raise
            record = fresh
    raise AssertionError("unreachable")  # pragma: no cover
