"""A start naming the EVSE printed on the charger instead of Plugsurfing's connector id."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from sessionfakes import T0, World, at, clocked

from backbone.locations.errors import EvseNotFound
from backbone.sessions.commands import submit_start
from backbone.sessions.errors import EvseHasSeveralConnectors, RequestIdConflict
from backbone.sessions.models import StartRequest

NEAR = {"latitude": 52.331142, "longitude": 13.145221}


def evse_start(evse_id: str = "de*ion*e1234*1", request_id: str = "req-1", **where: Any) -> StartRequest:
    return StartRequest.model_validate(
        {"requestId": request_id, "evseId": evse_id, "userId": "ourTestUser", **(where or NEAR)}
    )


def test_given_an_evse_with_one_connector_then_the_session_starts_on_it_and_the_record_keeps_both() -> None:
    world = World(mode="drive")

    record, created = submit_start(evse_start(), clocked(world.commands, T0))

    assert created
    assert (record.connector_id, record.evse_id) == ("abcJd/vR5fvzBa0X/gxaXA==", "DE*ION*E1234*1")
    assert world.record().connector_id == "abcJd/vR5fvzBa0X/gxaXA=="
    assert list(world.executions.started) == ["req-1"]
    assert world.chargers.queries[0].point == (52.331142, 13.145221)


def test_given_a_location_id_instead_of_a_point_then_the_lookup_is_asked_at_that_location() -> None:
    world = World(mode="drive")

    submit_start(evse_start(locationId="LOC-1"), clocked(world.commands, T0))

    assert world.chargers.queries[0].location_id == "LOC-1"


def test_given_an_evse_with_several_connectors_then_409_lists_them_and_nothing_starts() -> None:
    world = World(mode="drive")
    world.chargers.evses["DE*ION*E1234*1"] = ("conn-a", "conn-b")
    deps = clocked(world.commands, T0)

    with pytest.raises(EvseHasSeveralConnectors) as refused:
        submit_start(evse_start(), deps)

    assert refused.value.http_status == 409
    assert [c["connectorId"] for c in refused.value.connectors] == ["conn-a", "conn-b"]
    assert world.store.writes == 0
    assert world.executions.started == {}


def test_given_an_unknown_evse_then_404_and_nothing_is_recorded() -> None:
    world = World(mode="drive")

    with pytest.raises(EvseNotFound) as refused:
        submit_start(evse_start("DE*ION*E9999*9"), clocked(world.commands, T0))

    assert refused.value.http_status == 404
    assert world.store.writes == 0


def test_given_a_repeat_then_the_first_session_is_returned_without_looking_the_evse_up_again() -> None:
    world = World(mode="drive")
    first, _ = submit_start(evse_start(), clocked(world.commands, T0))

    again, created = submit_start(evse_start("DE*ION*E1234*1"), clocked(world.commands, at(5)))

    assert (again, created) == (first, False)
    assert len(world.chargers.queries) == 1


def test_given_a_request_id_reused_for_another_evse_then_it_is_a_conflict() -> None:
    world = World(mode="drive")
    world.chargers.evses["DE*ION*E1234*2"] = ("conn-2",)
    submit_start(evse_start(), clocked(world.commands, T0))

    with pytest.raises(RequestIdConflict):
        submit_start(evse_start("DE*ION*E1234*2"), clocked(world.commands, at(1)))


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"evseId": "DE*ION*E1234*1"}, "latitude and longitude"),
        ({"evseId": "DE*ION*E1234*1", "latitude": 52.3}, "both latitude and longitude"),
        ({"evseId": "not-an-evse", **NEAR}, "not an EVSE id"),
        ({"evseId": "DE*ION*E1234*1", "connectorId": "c-1", **NEAR}, "exactly one of connectorId and evseId"),
        ({}, "exactly one of connectorId and evseId"),
        ({"connectorId": "c-1", **NEAR}, "not with connectorId"),
    ],
)
def test_given_an_evse_start_without_enough_to_find_it_then_it_is_invalid(
    body: dict[str, Any], says: str
) -> None:
    with pytest.raises(ValidationError, match=says):
        StartRequest.model_validate({"requestId": "r", "userId": "u", **body})
