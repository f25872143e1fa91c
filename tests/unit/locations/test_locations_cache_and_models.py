"""The bounded TTL cache, and the internal API's input rules (each refusal names what to fix)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from locationfakes import FakeClock
from pydantic import ValidationError

from backbone.locations.cache import TtlCache
from backbone.locations.models import ConnectorQuery, SearchRequest, evse_match_key


def test_given_more_entries_than_the_bound_then_the_least_recently_used_goes(clock: FakeClock) -> None:
    cache: TtlCache[str, int] = TtlCache(timedelta(seconds=60), 2, clock)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2


def test_given_an_entry_past_its_ttl_then_it_is_gone(clock: FakeClock) -> None:
    cache: TtlCache[str, int] = TtlCache(timedelta(seconds=60), 8, clock)
    cache.put("a", 1)
    clock.advance(59)
    assert cache.get("a") == 1
    clock.advance(1)
    assert cache.get("a") is None


def test_given_a_zero_ttl_then_nothing_is_kept(clock: FakeClock) -> None:
    cache: TtlCache[str, int] = TtlCache(timedelta(0), 8, clock)
    cache.put("a", 1)
    assert cache.get("a") is None


@pytest.mark.parametrize(
    ("spelling", "key"),
    [
        ("DE*ION*E1234*1", "DE*ION*E1234*1"),
        ("nl*all*ego0000013*2", "NL*ALL*EGO0000013*2"),
        ("SECLEE0001*1", "SE*CLE*E0001*1"),
        ("DE*ION*1234*1", "DE*ION*1234*1"),  # the older form: no E, stars required
        ("DEION1234*1", None),
        ("hello", None),
        ("DE*ION*", None),
    ],
)
def test_given_evse_id_spellings_then_one_match_key_or_none(spelling: str, key: str | None) -> None:
    assert evse_match_key(spelling) == key


def _problems(model: type[SearchRequest] | type[ConnectorQuery], data: dict[str, object]) -> str:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(data)
    return str(refused.value)


def test_given_an_evse_id_without_a_point_or_location_then_the_refusal_explains_why() -> None:
    message = _problems(ConnectorQuery, {"evseId": "DE*ION*E1234*1"})
    assert "geosearch only" in message
    assert "latitude and longitude" in message
    assert "locationId" in message


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"evseId": "not-an-evse", "latitude": "52", "longitude": "13"}, "not an EVSE id"),
        ({"evseId": "DE*ION*E1*1", "latitude": "52"}, "both latitude and longitude"),
        ({"evseId": "DE*ION*E1*1", "latitude": "95", "longitude": "13"}, "latitude"),
        ({"evseId": "DE*ION*E1*1", "latitude": "x", "longitude": "13"}, "latitude"),
        ({"evseId": "DE*ION*E1*1", "latitude": "nan", "longitude": "13"}, "latitude"),
        ({"evseId": "DE*ION*E1*1", "latitude": "52", "longitude": "13", "radiusMeters": "0"}, "radiusMeters"),
        ({"evseId": "DE*ION*E1*1", "lat": "52", "longitude": "13"}, "Extra inputs are not permitted"),
    ],
)
def test_given_bad_connector_queries_then_each_is_refused_naming_the_problem(
    data: dict[str, object], fragment: str
) -> None:
    assert fragment in _problems(ConnectorQuery, data)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"longitude": 13}, "latitude"),
        ({"latitude": 52, "longitude": 200}, "longitude"),
        ({"latitude": 52, "longitude": 13, "radiusMeters": 50_001}, "radiusMeters"),
        ({"latitude": 52, "longitude": 13, "filters": {"powerType": "XX"}}, "powerType"),
        ({"latitude": 52, "longitude": 13, "filters": {"connectorStandards": "T2"}}, "connectorStandards"),
    ],
)
def test_given_bad_searches_then_each_is_refused_naming_the_problem(
    data: dict[str, object], fragment: str
) -> None:
    assert fragment in _problems(SearchRequest, data)


def test_given_query_strings_then_numbers_are_read_from_text() -> None:
    query = ConnectorQuery.model_validate(
        {"evseId": "de*ion*e1234*1", "latitude": "52.33", "longitude": "13.14", "radiusMeters": "250"}
    )
    assert (query.point, query.radius_meters, query.match_key) == ((52.33, 13.14), 250, "DE*ION*E1234*1")
