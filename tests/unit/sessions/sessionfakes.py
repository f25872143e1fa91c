"""Fakes and builders shared by the session unit tests (module name unique across test dirs)."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from fakes.sessions import InMemorySessionStore, RecordingCdrs, RecordingEvents, RecordingExecutions

from backbone.keys.models import ChargingKey
from backbone.locations.errors import EvseNotFound
from backbone.locations.models import Connector, ConnectorMatch, ConnectorQuery, evse_match_key
from backbone.oioi.identifiers import normalise_uid, uid_to_key_identifier
from backbone.sessions.commands import DriveStarts, EmpStarts, submit_start
from backbone.sessions.models import PartnerMode, SessionRecord, StartRequest
from backbone.sessions.ports import ApiDependencies, ObservedSession, TaskDependencies
from backbone.sessions.schedule import PollPolicy

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
Deps = TypeVar("Deps", TaskDependencies, ApiDependencies)


def clocked(deps: Deps, now: datetime) -> Deps:
    """`deps` with a clock stopped at `now`."""
    return replace(deps, clock=lambda: now)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def partner_session(status: str, balance: str | None = None, **extra: Any) -> dict[str, Any]:
    """A Drive/EMP session body as the spec shows it."""
    body: dict[str, Any] = {
        "sessionStatus": status,
        "charger": {"chargingStationName": "ZzZ 1", "connectorLabel": "1", "evseId": "NO*XXX*E1*1"},
        "connectorId": "abcJd/vR5fvzBa0X/gxaXA==",
        "sessionId": "LWO89J3mDJr",
        "site": "ZzZ site",
        "startTime": "2022-06-07T06:49:59.811Z",
    }
    if status == "COMPLETE":
        body |= {
            "balanceStatus": balance or "PROCESSING",
            "duration": "PT15M",
            "energy": {"unit": "WH", "value": 1840},
            "price": {"currencyCode": "NOK", "minorExclVat": 160, "minorInclVat": 200, "vat": "25"},
        }
    return body | extra


class ScriptedPartner:
    """`PartnerSessions` answering from a script: each `get` takes the next answer (the last one
    repeats); an answer that is an exception is raised."""

    def __init__(self, *answers: dict[str, Any] | Exception, session_id: str = "LWO89J3mDJr") -> None:
        self.answers: deque[dict[str, Any] | Exception] = deque(answers)
        self.session_id = session_id
        self.start_error: Exception | None = None
        self.starts = 0
        self.gets = 0
        self.stops: list[str] = []
        self.stop_error: Exception | None = None

    def start(self, record: SessionRecord) -> str:
        self.starts += 1
        if self.start_error is not None:
            raise self.start_error
        return self.session_id

    def get(self, record: SessionRecord) -> ObservedSession:
        self.gets += 1
        answer = self.answers.popleft() if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return ObservedSession(data=answer, raw=json.dumps(answer))

    def stop(self, record: SessionRecord) -> None:
        if self.stop_error is not None:
            raise self.stop_error
        self.stops.append(str(record.session_id))

    def can_find_started(self, record: SessionRecord) -> bool:
        return record.mode == "drive"  # as the partner adapters: only Drive has a session history

    def find_started(self, record: SessionRecord) -> list[ObservedSession]:
        return []


class OurKeys:
    """The charging-keys table as a session start reads it: one key, UID E0E03336 (its key
    identifier, hex little-endian, is 3633e0e0: the spec's example)."""

    def __init__(self, *uids: str) -> None:
        self.keys = {
            uid: ChargingKey(uid=uid, keyIdentifier=uid_to_key_identifier(uid), visualNumber=f"VN-{uid}")
            for uid in uids or ("E0E03336",)
        }

    def get(self, uid: str) -> ChargingKey | None:
        return self.keys.get(normalise_uid(uid))


class Chargers:
    """`ConnectorResolver` over a few EVSEs: canonical EVSE id -> its connector ids."""

    def __init__(self, evses: dict[str, tuple[str, ...]] | None = None) -> None:
        self.evses = evses if evses is not None else {"DE*ION*E1234*1": ("abcJd/vR5fvzBa0X/gxaXA==",)}
        self.queries: list[ConnectorQuery] = []

    def resolve(self, query: ConnectorQuery) -> ConnectorMatch:
        self.queries.append(query)
        for evse_id, connector_ids in self.evses.items():
            if evse_match_key(evse_id) == query.match_key:
                return ConnectorMatch(
                    evse_id=query.match_key,
                    partner_evse_id=evse_id,
                    status="AVAILABLE",
                    location_id="LOC-1",
                    connectors=tuple(
                        Connector(connector_id=c, standard="IEC_62196_T2") for c in connector_ids
                    ),
                )
        raise EvseNotFound(f"no EVSE {query.match_key}")


class World:
    """Store, partner, event and CDR recorders and the command/task dependencies over them."""

    def __init__(
        self, partner: ScriptedPartner | None = None, mode: PartnerMode = "emp", **policy: int
    ) -> None:
        self.store = InMemorySessionStore()
        self.partner = partner or ScriptedPartner(partner_session("STARTING"))
        self.events = RecordingEvents()
        self.cdrs = RecordingCdrs()
        self.executions = RecordingExecutions()
        self.policy = PollPolicy(**policy)
        self.mode = mode
        self.tasks = TaskDependencies(self.store, self.partner, self.events, self.cdrs, self.policy)
        self.keys = OurKeys()
        starts = EmpStarts(self.keys) if mode == "emp" else DriveStarts()
        self.chargers = Chargers()
        self.commands = ApiDependencies(self.store, self.partner, self.executions, starts, self.chargers)

    def request(self, request_id: str = "req-1", when: datetime = T0) -> SessionRecord:
        """A start request accepted by the internal API (record REQUESTED, execution started)."""
        fields = {"userId": "ourTestUser"} if self.mode == "drive" else {"keyIdentifier": "3633e0e0"}
        request = StartRequest.model_validate({"requestId": request_id, "connectorId": "conn-1", **fields})
        record, _ = submit_start(request, clocked(self.commands, when))
        return record

    def record(self, request_id: str = "req-1") -> SessionRecord:
        record = self.store.get(request_id)
        assert record is not None
        return record

    def statuses(self) -> list[str]:
        return [str(change.status) for change in self.events.published]
