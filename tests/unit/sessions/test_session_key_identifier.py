"""EMP session start names one of our keys (UID or key identifier) and sends Plugsurfing the one
form the EMP API documents (hex, little-endian), derived in one place; a key we do not have is
refused before any partner call."""

from __future__ import annotations

import pytest
from sessionfakes import T0, OurKeys, World, clocked

from backbone.sessions.commands import submit_start
from backbone.sessions.errors import InvalidStartRequest
from backbone.sessions.models import StartRequest


def start(world: World, key: str, request_id: str = "req-1") -> str | None:
    request = StartRequest.model_validate(
        {"requestId": request_id, "connectorId": "conn-1", "keyIdentifier": key}
    )
    record, _ = submit_start(request, clocked(world.commands, T0))
    return record.key_identifier


@pytest.fixture
def world() -> World:
    world = World()
    world.keys.keys.update(OurKeys("04523022AA4881").keys)
    return world


@pytest.mark.parametrize("named", ["04523022AA4881", "04523022aa4881", "8148aa22305204"])
def test_given_our_key_by_uid_or_key_identifier_when_starting_then_the_little_endian_form_is_recorded(
    world: World, named: str
) -> None:
    assert start(world, named) == "8148aa22305204"


def test_given_the_same_request_by_uid_then_by_key_identifier_then_it_is_one_request(world: World) -> None:
    first = start(world, "04523022AA4881")
    again = start(world, "8148aa22305204")

    assert first == again == "8148aa22305204"
    assert len(world.executions.started) == 1


def test_given_a_key_that_is_not_ours_when_starting_then_it_is_refused_before_the_partner(
    world: World,
) -> None:
    with pytest.raises(InvalidStartRequest, match="not one of our charging keys"):
        start(world, "0477BD22AA4AAA")

    assert world.store.records == {}
    assert world.executions.started == {}
