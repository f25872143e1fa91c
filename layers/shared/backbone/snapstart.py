"""Lambda SnapStart (template parameter `OioiSnapStart`, docs/deployment.md): what a function does
just before Lambda snapshots its initialised memory, and what it refreshes in every execution
environment restored from that snapshot.

With SnapStart, Lambda runs the init phase once, when it publishes a version, and starts every
new execution environment from a copy of that memory. Whatever init left there is shared by all
of them, so after each restore:

- the `random` module is re-seeded from the OS: otherwise every restored environment draws the
  same sequence (retry jitter, X-Ray sampling), and their retries would collide;
- the function's cached AWS clients are dropped (`forget`): they would carry connections opened
  before the snapshot (dead after a restore) and whatever credentials they had resolved.

Before the snapshot, a client of each service the function calls is built once, so that the
service models (most of a client's cost: ~140 ms of CPU for DynamoDB's, ~8 ms for a second client)
are loaded into boto3's default session then, and are in the snapshot. The hooks come from
`snapshot_restore_py`, which only the Lambda runtime has; elsewhere (tests, the local stack) there
is no snapshot and nothing is registered. Without SnapStart the runtime never calls them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable

import boto3

try:
    from snapshot_restore_py import (  # type: ignore[import-not-found]
        register_after_restore,
        register_before_snapshot,
    )
except ImportError:  # not in the Lambda runtime: no snapshots to prepare for
    register_after_restore = register_before_snapshot = None


def reseed() -> None:
    """A fresh seed from the OS (`os.urandom`) for the process-wide `random` generator."""
    random.seed()


def after_restore(forget: Callable[[], object]) -> Callable[[], None]:
    """What runs in each restored environment: a new seed, then `forget`."""

    def refresh() -> None:
        reseed()
        forget()

    return refresh


def load_models(services: Iterable[str]) -> None:
    """Build (and drop) a client of each service: its model stays cached in the default session,
    so the function's own clients, built later, are cheap."""
    for service in services:
        boto3.client(service)  # type: ignore[call-overload]


def prepare_snapshot(*, services: Iterable[str], forget: Callable[[], object]) -> bool:
    """Register this function's SnapStart hooks: `load_models(services)` before the snapshot,
    `after_restore(forget)` after each restore. False (nothing registered) outside Lambda."""
    if register_before_snapshot is None or register_after_restore is None:
        return False
    register_before_snapshot(load_models, tuple(services))
    register_after_restore(after_restore(forget))
    return True
