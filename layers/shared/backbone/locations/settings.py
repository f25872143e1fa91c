"""Environment of LocationsApiFunction (template: LocationsApiFunction)."""

from __future__ import annotations

from pydantic import Field

from backbone.settings import PlugsurfingApiSettings


class LocationsApiSettings(PlugsurfingApiSettings):
    """Internal API: location search and connector lookup."""

    locations_cache_seconds: int = Field(default=60, ge=0, le=3600)
    """How long a geosearch answer is reused (0: not at all); EVSE statuses go stale quickly."""
    locations_cache_entries: int = Field(default=512, ge=1, le=100_000)
    """Bound on cached answers per process (each a few KB): memory stays well under 10 MB."""
