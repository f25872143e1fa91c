"""station-post: ownership of station ids, connectors that may not change, EVSE IDs that belong
to one station, soft deletion."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from receiverfakes import OTHER_CALLER, FakeBackends, result, seed_json, send

from backbone.receiver.access import Caller

FOREIGN = Caller(OTHER_CALLER.partner_id, OTHER_CALLER.key_id, OTHER_CALLER.messages, frozenset({"1"}))


def station(*, deleted: bool = False, station_id: str = "abcdef-12345", **changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(seed_json("station-post"))
    body = document["station-post"]["station"]
    body.update({"deleted": deleted, "id": station_id, **changes})
    return document


def connectors(*specs: tuple[str, str, float]) -> list[dict[str, Any]]:
    return [{"id": evse_id, "name": name, "speed": speed} for evse_id, name, speed in specs]


SEED_CONNECTORS = connectors(("DE*8PS*E123456", "Schuko", 3.7), ("DE*8PS*E123457", "Type2", 11.1))


def test_given_a_new_station_then_it_and_one_item_per_evse_id_are_stored_for_the_caller() -> None:
    backends = FakeBackends()
    assert result(send(backends, station())) == (200, 0)
    stored = backends.stations.stations["abcdef-12345"]
    assert (stored.partner_id, stored.partner_identifier, stored.deleted, stored.version) == (
        "acme-cpo",
        "1",
        False,
        1,
    )
    assert stored.document["contact"]["web"] == "www.example.com"  # as posted, spec example's field name
    assert stored.latitude == Decimal("1.123")
    assert set(backends.stations.connectors) == {"DE*8PS*E123456", "DE*8PS*E123457"}
    assert {c.status for c in backends.stations.connectors.values()} == {"Unknown"}


def test_given_the_same_station_posted_again_then_success_and_statuses_are_kept() -> None:
    backends = FakeBackends()
    send(backends, station())
    send(
        backends,
        {
            "connector-post-status": {
                "connector-id": "DE*8PS*E123456",
                "status": "Occupied",
                "partner-identifier": "1",
            }
        },
    )
    assert result(send(backends, station(name="renamed"))) == (200, 0)
    assert backends.stations.stations["abcdef-12345"].version == 2
    assert backends.stations.stations["abcdef-12345"].document["name"] == "renamed"
    assert backends.stations.connectors["DE*8PS*E123456"].status == "Occupied"


@pytest.mark.parametrize(
    ("changed", "reason"),
    [
        (connectors(("DE*8PS*E123456", "Schuko", 3.7)), "removed DE*8PS*E123457"),
        ([*SEED_CONNECTORS, *connectors(("DE*8PS*E123458", "Combo", 50))], "added DE*8PS*E123458"),
        (
            connectors(("DE*8PS*E123456", "Schuko", 3.7), ("DE*8PS*E999999", "Type2", 11.1)),
            "added DE*8PS*E999999",
        ),
        (connectors(("DE*8PS*E123456", "Type2", 3.7), ("DE*8PS*E123457", "Type2", 11.1)), "type, speed"),
        (connectors(("DE*8PS*E123456", "Schuko", 7.4), ("DE*8PS*E123457", "Type2", 11.1)), "type, speed"),
    ],
    ids=["removed", "added", "replaced", "type", "speed"],
)
def test_given_an_existing_station_when_its_connectors_change_then_400_says_what_and_nothing_is_written(
    changed: list[dict[str, Any]], reason: str
) -> None:
    backends = FakeBackends()
    send(backends, station())
    before = backends.snapshot()
    answer = send(backends, station(connectors=changed))
    assert result(answer) == (400, 230)
    assert reason in answer.body["error"]
    assert "cannot change" in answer.body["error"]
    assert backends.snapshot() == before


def test_given_connectors_in_another_order_then_they_are_the_same_connectors() -> None:
    backends = FakeBackends()
    send(backends, station())
    assert result(send(backends, station(connectors=list(reversed(SEED_CONNECTORS))))) == (200, 0)


def test_given_a_station_id_owned_by_another_partner_then_403_code_211_and_nothing_changes() -> None:
    backends = FakeBackends()
    send(backends, station())
    before = backends.snapshot()
    answer = send(backends, station(name="hijacked"), caller=FOREIGN)
    assert result(answer) == (403, 211)
    assert "belongs to another partner" in answer.body["error"]
    assert backends.snapshot() == before


def test_given_an_evse_id_of_another_of_our_stations_then_400_names_that_station() -> None:
    backends = FakeBackends()
    send(backends, station())
    answer = send(backends, station(station_id="second-station"))
    assert result(answer) == (400, 230)
    assert "'abcdef-12345'" in answer.body["error"]


def test_given_an_evse_id_of_another_partners_station_elsewhere_then_322_without_revealing_it() -> None:
    backends = FakeBackends()
    send(backends, station())
    answer = send(backends, station(station_id="theirs-1", latitude=48.1), caller=FOREIGN)
    assert result(answer) == (400, 322)
    assert "abcdef-12345" not in answer.body["error"]
    assert "another partner's station" in answer.body["error"]
    assert "theirs-1" not in backends.stations.stations


def test_given_deleted_true_then_station_and_connectors_are_soft_deleted() -> None:
    backends = FakeBackends()
    send(backends, station())
    assert result(send(backends, station(deleted=True))) == (200, 0)
    assert backends.stations.stations["abcdef-12345"].deleted
    assert all(c.deleted for c in backends.stations.connectors.values())


def test_given_the_spec_example_deleting_an_unknown_station_then_success_and_no_connectors() -> None:
    backends = FakeBackends()
    assert result(send(backends, seed_json("station-post"))) == (200, 0)
    assert backends.stations.stations["abcdef-12345"].deleted
    assert backends.stations.connectors == {}


def test_given_a_deleted_station_then_it_may_be_posted_again_with_other_connectors() -> None:
    backends = FakeBackends()
    send(backends, station())
    send(backends, station(deleted=True))
    rebuilt = connectors(("DE*8PS*E123456", "Combo", 150))
    assert result(send(backends, station(connectors=rebuilt))) == (200, 0)
    assert not backends.stations.connectors["DE*8PS*E123456"].deleted
    assert backends.stations.connectors["DE*8PS*E123457"].deleted
    assert backends.stations.connectors["DE*8PS*E123456"].status == "Unknown"


def test_given_a_deleted_stations_evse_ids_then_another_station_may_claim_them() -> None:
    backends = FakeBackends()
    send(backends, station())
    send(backends, station(deleted=True))
    assert result(send(backends, station(station_id="new-site"))) == (200, 0)
    assert backends.stations.connectors["DE*8PS*E123456"].station_id == "new-site"


def test_given_connectors_sharing_an_evse_id_then_they_share_one_item() -> None:
    shared = connectors(("DE*8PS*E123456", "Type2", 22), ("DE*8PS*E123456", "Combo", 50))
    backends = FakeBackends()
    assert result(send(backends, station(connectors=shared))) == (200, 0)
    assert len(backends.stations.connectors["DE*8PS*E123456"].connectors) == 2


def test_given_too_many_evse_ids_then_400() -> None:
    many = connectors(*((f"DE*8PS*E{n:06d}", "Type2", 11) for n in range(100)))
    backends = FakeBackends()
    assert result(send(backends, station(connectors=many))) == (400, 230)
    assert backends.stations.stations == {}


def test_given_a_partner_identifier_not_the_callers_then_403_code_211() -> None:
    document = station()
    document["station-post"]["partner-identifier"] = "other-identifier-000001"
    assert result(send(FakeBackends(), document)) == (403, 211)


def test_given_a_concurrent_change_between_read_and_write_then_503_code_100() -> None:
    backends = FakeBackends()
    send(backends, station())
    original = backends.stations.get_station

    def stale(station_id: str) -> Any:
        record = original(station_id)
        send(FakeBackends(stations=backends.stations), station(name="meanwhile"))  # bumps the version
        return record

    backends.stations.get_station = stale  # type: ignore[method-assign]
    assert result(send(backends, station(name="mine"))) == (503, 100)
    assert backends.stations.stations["abcdef-12345"].document["name"] == "meanwhile"
