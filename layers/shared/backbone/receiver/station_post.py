"""station-post: a partner's static station data (OIOI "Station Post").

Rules (spec, and our decisions where it is silent; docs/oioi-receivers.md):

- a station id is globally unique: the partner that first posted it owns it; anyone else gets
  403, code 211;
- connectors may not change once a station exists: a post of a live station whose connectors
  (EVSE ID, type, speed) differ is refused with 400, code 230, saying what differs;
- an EVSE ID belongs to one live station: claiming one that another live station holds is
  refused (400, code 322 if that station is elsewhere, else 230);
- `deleted: true` soft-deletes the station and its connectors; a deleted station may be posted
  again, like a new one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from backbone.errors import InvalidRequest
from backbone.observability import bind_correlation
from backbone.oioi.codes import ResultCode
from backbone.oioi.models import Station, StationPost
from backbone.receiver.errors import ForeignPartnerIdentifier
from backbone.receiver.ports import Dependencies, Request
from backbone.receiver.responses import Answer, answer
from backbone.receiver.stations import (
    ConnectorRecord,
    ConnectorSpec,
    StationRecord,
    StationWrite,
    distinct_evse_ids,
)
from backbone.storable import unstorable

MAX_STATION_ID_BYTES = 1024
"""The station id is part of a table key (at most 2048 bytes)."""
MAX_EVSE_IDS = 99
"""One station and its connectors are written in one DynamoDB transaction (at most 100 items)."""


def read(payload: dict[str, Any]) -> StationPost:
    """The station document is stored as posted (extra members included), so every value in it
    must fit DynamoDB; what does not is refused with 400/230 naming the member."""
    if problem := unstorable(payload, "station-post"):
        raise InvalidRequest(problem)
    message = StationPost.model_validate(payload)
    if problem := unstorable(_document(message.station), "station-post.station"):
        raise InvalidRequest(problem)  # what is written, after the model's conversions
    if len(message.station.id.encode("utf-8")) > MAX_STATION_ID_BYTES:
        raise InvalidRequest(
            f"station-post.station.id: at most {MAX_STATION_ID_BYTES} bytes (UTF-8) are accepted"
        )
    return message


def handle(message: StationPost, request: Request, deps: Dependencies) -> Answer:
    bind_correlation(station_id=message.station.id)
    request.require_partner_identifier(message.partner_identifier)
    posted = connector_specs(message.station)
    if len(distinct_evse_ids(posted)) > MAX_EVSE_IDS:
        raise InvalidRequest(f"station-post.station.connectors: at most {MAX_EVSE_IDS} EVSE IDs per station")
    store = deps.stations
    existing = store.get_station(message.station.id)
    wanted = set(distinct_evse_ids(posted)) | set(existing.evse_ids if existing else ())
    write = plan(message, request, existing, store.get_connectors(wanted))
    store.save_station(write)
    return answer()


def connector_specs(station: Station) -> tuple[ConnectorSpec, ...]:
    return tuple(ConnectorSpec(c.id, c.name.value, Decimal(repr(c.speed))) for c in station.connectors)


@dataclass(frozen=True)
class _Posted:
    """The posted station in storage terms."""

    station: Station
    specs: tuple[ConnectorSpec, ...]
    latitude: Decimal
    longitude: Decimal

    @classmethod
    def of(cls, station: Station) -> _Posted:
        return cls(
            station,
            connector_specs(station),
            Decimal(repr(station.latitude)),
            Decimal(repr(station.longitude)),
        )


def plan(
    message: StationPost,
    request: Request,
    existing: StationRecord | None,
    connectors: Mapping[str, ConnectorRecord],
) -> StationWrite:
    """Decide what a station-post writes, from the stored station and the stored items of every
    EVSE ID involved. Pure: raises a `DomainError` for a refused post."""
    posted, partner_id = _Posted.of(message.station), request.caller.partner_id
    if existing is not None and existing.partner_id != partner_id:
        raise ForeignPartnerIdentifier(
            f"station-post.station.id: station {posted.station.id!r} belongs to another partner"
        )
    live = existing is not None and not existing.deleted
    if posted.station.deleted:
        specs = existing.connectors if existing is not None and live else posted.specs
        writes = _deleted_connectors(posted.station.id, connectors) if live else ()
    else:
        if existing is not None and live:
            _require_same_connectors(posted.station.id, existing.connectors, posted.specs)
        specs = posted.specs
        writes = _claimed_connectors(posted, partner_id, connectors)
    record = StationRecord(
        station_id=posted.station.id,
        partner_id=partner_id,
        partner_identifier=message.partner_identifier,
        deleted=posted.station.deleted,
        connectors=specs,
        latitude=posted.latitude,
        longitude=posted.longitude,
        document=_document(posted.station),
        created_at=existing.created_at if existing is not None else request.received_at,
        updated_at=request.received_at,
        version=existing.version + 1 if existing is not None else 1,
    )
    return StationWrite(record, existing.version if existing is not None else None, writes)


def _require_same_connectors(
    station_id: str, stored: tuple[ConnectorSpec, ...], posted: tuple[ConnectorSpec, ...]
) -> None:
    if sorted(stored) == sorted(posted):
        return
    stored_ids, posted_ids = set(distinct_evse_ids(stored)), set(distinct_evse_ids(posted))
    differences = []
    if added := sorted(posted_ids - stored_ids):
        differences.append(f"added {', '.join(added)}")
    if removed := sorted(stored_ids - posted_ids):
        differences.append(f"removed {', '.join(removed)}")
    if not differences:
        differences.append("changed the type, speed or number of connectors")
    raise InvalidRequest(
        f"station-post.station.connectors: the connectors of existing station {station_id!r} cannot "
        f"change (OIOI station-post); this post {'; '.join(differences)}. Delete the station and "
        "post it again, or post a new station"
    )


def _claimed_connectors(
    posted: _Posted, partner_id: str, current: Mapping[str, ConnectorRecord]
) -> tuple[ConnectorRecord, ...]:
    station_id = posted.station.id
    claimed = []
    for evse_id in distinct_evse_ids(posted.specs):
        held = current.get(evse_id)
        if held is not None and held.station_id != station_id and not held.deleted:
            _refuse_taken(evse_id, held, posted, partner_id)
        fresh = held is None or held.station_id != station_id or held.deleted
        claimed.append(
            ConnectorRecord(
                evse_id=evse_id,
                station_id=station_id,
                partner_id=partner_id,
                deleted=False,
                latitude=posted.latitude,
                longitude=posted.longitude,
                connectors=tuple(spec for spec in posted.specs if spec.evse_id == evse_id),
                status="Unknown" if fresh else None,  # a new connector starts Unknown
            )
        )
    return tuple(claimed)


def _refuse_taken(evse_id: str, held: ConnectorRecord, posted: _Posted, partner_id: str) -> None:
    # Another partner's station id is not ours to reveal.
    holder = f"station {held.station_id!r}" if held.partner_id == partner_id else "another partner's station"
    if (held.latitude, held.longitude) != (posted.latitude, posted.longitude):
        code = ResultCode.EVSE_ID_LOCATION_CONFLICT
    else:
        code = ResultCode.INVALID_REQUEST_FORMAT
    raise InvalidRequest(
        f"station-post.station.connectors: EVSE ID {evse_id!r} already belongs to {holder}; "
        "connector ids are globally unique",
        code=code,
    )


def _deleted_connectors(
    station_id: str, current: Mapping[str, ConnectorRecord]
) -> tuple[ConnectorRecord, ...]:
    return tuple(
        ConnectorRecord(
            evse_id=record.evse_id,
            station_id=station_id,
            partner_id=record.partner_id,
            deleted=True,
            latitude=record.latitude,
            longitude=record.longitude,
            connectors=record.connectors,
        )
        for record in current.values()
        if record.station_id == station_id and not record.deleted
    )


def _document(station: Station) -> dict[str, Any]:
    """The station as posted (extra fields included), with numbers as Decimal for DynamoDB."""
    document: dict[str, Any] = json.loads(
        station.model_dump_json(by_alias=True, exclude_none=True), parse_float=Decimal
    )
    return document
