"""What a cold start imports: functions that never call Plugsurfing do not load its HTTP client.

httpx and the partner client modules cost tens of milliseconds of every cold start (benchmarks/
cold_init.py --importtime). Each handler is imported in a fresh interpreter with the path Lambda
gives it (its folder, then the layer), as on a cold start.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PARTNER_MODULES = (
    "httpx",
    "backbone.partners.http",
    "backbone.partners.plugsurfing",
    "backbone.partners.factory",
)

# Handlers whose function never calls a partner API (template.yaml, docs/architecture.md).
NO_PARTNER_CALLS = {
    "oioi_authorizer": "handler_oioi_authorizer",
    "oioi_receiver": "handler_oioi_receiver",
    "cdr_ingest": "handler_cdr_ingest",
    "billing_export": "handler_billing_export",
}


def imported_modules(folder: str, module: str) -> set[str]:
    paths = [str(REPO / "functions" / folder), str(REPO / "layers" / "shared")]
    script = f"import json, sys; sys.path[:0] = {paths!r}; import {module}; print(json.dumps([*sys.modules]))"
    env = {"AWS_DEFAULT_REGION": "eu-west-1", "POWERTOOLS_TRACE_DISABLED": "true"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env)
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("folder", sorted(NO_PARTNER_CALLS))
def test_given_a_function_that_never_calls_a_partner_when_its_handler_is_imported_then_no_partner_client_is(
    folder: str,
) -> None:
    loaded = imported_modules(folder, NO_PARTNER_CALLS[folder])
    assert NO_PARTNER_CALLS[folder] in loaded
    assert [name for name in PARTNER_MODULES if name in loaded] == []


def test_given_a_function_that_calls_a_partner_when_its_handler_is_imported_then_its_client_is() -> None:
    # The check above can fail: a partner function's handler does bring the client in.
    assert "httpx" in imported_modules("key_sync", "handler_key_sync")
