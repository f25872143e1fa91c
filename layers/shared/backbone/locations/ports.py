"""The narrow interfaces the locations logic works through, and its `Dependencies` bundle.
Plugsurfing's implementation is in `partner.py`, the cache in `cache.py`, fakes in the tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from backbone.locations.models import Location, SearchArea

K_contra = TypeVar("K_contra", contravariant=True)
V = TypeVar("V")


class LocationsPartner(Protocol):
    """Plugsurfing's geosearch (Drive or EMP, chosen in wiring). Raises `LocationsUnavailable`
    when it is busy or down, `LocationsRefused` when it refuses a request we validated."""

    def search(self, area: SearchArea) -> list[Location]:
        """The locations in `area` (distances not filled in)."""
        ...

    def location(self, location_id: str) -> Location | None:
        """One location; None when Plugsurfing knows no such id."""
        ...


class ResultCache(Protocol[K_contra, V]):
    """Answers kept briefly so a busy app does not hammer Plugsurfing."""

    def get(self, key: K_contra) -> V | None: ...

    def put(self, key: K_contra, value: V) -> None: ...


@dataclass(frozen=True)
class Dependencies:
    partner: LocationsPartner
    searches: ResultCache[SearchArea, list[Location]]
    locations: ResultCache[str, Location]
    clock: Callable[[], datetime]
