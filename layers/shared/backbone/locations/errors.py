"""Errors of the locations capability; the internal API answers each with its `http_status`."""

from __future__ import annotations

from backbone.errors import DomainError, NotFound, TemporaryFailure


class EvseNotFound(NotFound):
    """No EVSE of that id where we looked (around the point, or at the location)."""


class LocationNotFound(NotFound):
    """Plugsurfing knows no location of that id."""


class LocationsUnavailable(TemporaryFailure):
    """Plugsurfing is busy or down (429, 5xx, no answer): try again shortly (503)."""


class LocationsRefused(DomainError):
    """Plugsurfing refused a request we had validated: our misreading, not the caller's (502)."""

    http_status = 502
