"""Partner call metrics: the `on_call` hook of the partner clients, as EMF.

One call (all its attempts) gives `PartnerCalls` (count), `PartnerCallLatency` (ms, attempts and
back-off included) and `PartnerCallRetries` (attempts after the first), with two dimensions of
small fixed sets: `api` (emp, drive, oioi) and `outcome`. Never the path: it carries user, key
and order ids, and each distinct value would be a metric of its own.
"""

from __future__ import annotations

from typing import Literal

from backbone.observability import MetricUnit, put_breakdown_metrics
from backbone.partners.http import CallHook, CallRecord

PartnerApi = Literal["emp", "drive", "oioi"]


def call_outcome(record: CallRecord) -> str:
    """ok, rejected (HTTP 2xx but an OIOI result code saying no), throttled (429), client_error
    (other 4xx), server_error (5xx) or unreachable (no answer: timeouts, connection errors)."""
    status = record.status
    if record.ok:
        return "ok"
    if status is None:
        return "unreachable"
    if status == 429:
        return "throttled"
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "client_error"
    return "rejected"


def plugsurfing_api_of(path: str) -> PartnerApi:
    """The REST family of a Drive/EMP client path: EMP under `/emp/`, Drive (`/v1/...`) otherwise."""
    return "emp" if path.startswith("/emp/") else "drive"


def record_call(api: PartnerApi, record: CallRecord) -> None:
    put_breakdown_metrics(
        {"api": api, "outcome": call_outcome(record)},
        ("PartnerCalls", MetricUnit.Count, 1),
        ("PartnerCallLatency", MetricUnit.Milliseconds, round(record.duration * 1000, 1)),
        ("PartnerCallRetries", MetricUnit.Count, max(record.attempts - 1, 0)),
    )


def plugsurfing_call_hook() -> CallHook:
    """`on_call` for `PlugsurfingClient` (one client serves both EMP and Drive, each with its own
    base URL; the HTTP client says which)."""
    return lambda record: record_call(_api(record), record)


def _api(record: CallRecord) -> PartnerApi:
    if record.api == "emp":
        return "emp"
    if record.api == "drive":
        return "drive"
    return plugsurfing_api_of(record.path)


def oioi_call_hook() -> CallHook:
    """`on_call` for `OioiClient`."""
    return lambda record: record_call("oioi", record)
