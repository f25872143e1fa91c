"""Key sync: tell Plugsurfing about a charging key whose business fields changed.

A stream record only says *whether* to sync (`should_sync`: one of `SYNC_FIELDS` differs between
its old and new image, or the key is new). *What* to call is planned by the partner adapter from
the key as it is in the table now and from `key.partner` (what Plugsurfing last confirmed), one
call at a time until the plan is empty (`keys/plans.py`). So a retried record, a record overtaken
by a later change, or a call that succeeded before a crash all converge on the same end state
without duplicate side effects.

Outcome: SYNCED, or ERROR with the reason in `syncError` when retrying cannot help (400, 403,
conflicts that are not ours). Transient failures (429/5xx/network, after the client's own
retries) are recorded and re-raised so the stream retries the record; after
`sync_max_attempts` the key shows ERROR.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from backbone.keys.errors import SyncRefused, TemporarySyncFailure
from backbone.keys.models import ChargingKey, KeyState, PartnerView, SyncState
from backbone.keys.ports import KeyDependencies, KeyPartner, KeyRepository
from backbone.observability import MetricUnit, logger, metrics

SYNC_FIELDS = ("enabled", "state", "ownerId", "ownerType", "name", "visualNumber", "keyIdentifier")
"""Item attributes whose change needs a partner call. Sync's own writes (syncState, syncError,
syncedAt, syncAttempts, partner) and contractId/validity/payment flag are not among them, so
recording an outcome never triggers another sync."""
MAX_STEPS = 6  # the longest plan (Drive: reserve, activate, 404, reserve, activate, patch)


@dataclass(frozen=True)
class SyncResult:
    uid: str
    outcome: Literal["skipped", "synced", "error", "retry"]
    calls: tuple[str, ...] = ()
    error: str | None = None


def should_sync(old_image: Mapping[str, Any] | None, new_image: Mapping[str, Any] | None) -> bool:
    """True for a new or deleted key, or when a `SYNC_FIELDS` attribute changed."""
    if old_image is None or new_image is None:
        return True
    return any(old_image.get(name) != new_image.get(name) for name in SYNC_FIELDS)


def execute(key: ChargingKey, partner: KeyPartner) -> tuple[PartnerView, list[str], str | None]:
    """Run the plan one call at a time, re-planning after each answer.

    Returns what Plugsurfing now knows, the calls made, and a contract id Plugsurfing assigned.
    Raises `SyncRefused` or `TemporarySyncFailure`, both carrying the progress made so far.
    """
    view = key.partner
    calls: list[str] = []
    contract_id: str | None = None
    for _ in range(MAX_STEPS):
        actions = partner.plan(key, view)
        if not actions:
            return view, calls, contract_id
        action = actions[0]
        calls.append(type(action).__name__)
        applied = partner.apply(action, key, view)
        view = applied.partner
        contract_id = contract_id or applied.contract_id
    raise SyncRefused(f"no stable state after {MAX_STEPS} calls ({', '.join(calls)})", view)


def sync_key(key: ChargingKey, deps: KeyDependencies) -> SyncResult:
    """Make Plugsurfing match `key` and record the outcome on the key.

    Raises `TemporarySyncFailure` (after recording it) so the caller's retry machinery runs; the
    key shows ERROR from the `sync_max_attempts`-th consecutive transient failure on.
    """
    store, now = deps.store, deps.clock()
    try:
        partner, calls, contract_id = execute(key, deps.partner)
    except SyncRefused as refused:
        _record(store, key, SyncState.ERROR, str(refused), refused.partner, 0, now)
        metrics.add_metric(name="KeySyncErrors", unit=MetricUnit.Count, value=1)
        logger.warning("key sync refused", extra={"reason": str(refused)})
        return SyncResult(key.uid, "error", error=str(refused))
    except TemporarySyncFailure as failure:
        attempts = key.sync_attempts + 1
        exhausted = attempts >= deps.sync_max_attempts
        state = SyncState.ERROR if exhausted else SyncState.PENDING
        note = f"gave up after {attempts} attempts" if exhausted else f"attempt {attempts} failed, retrying"
        _record(store, key, state, f"{failure} ({note})", failure.partner, attempts, now)
        metrics.add_metric(name="KeySyncRetries", unit=MetricUnit.Count, value=1)
        raise
    if calls or key.sync_state is not SyncState.SYNCED or key.sync_error or key.sync_attempts:
        _record(store, key, SyncState.SYNCED, None, partner, 0, now, contract_id)
    if calls:
        metrics.add_metric(name="KeySyncCalls", unit=MetricUnit.Count, value=len(calls))
        logger.info("key synced", extra={"calls": calls})
    return SyncResult(key.uid, "synced", tuple(calls))


def sync_stream_record(
    old_image: Mapping[str, Any] | None, new_image: Mapping[str, Any] | None, deps: KeyDependencies
) -> SyncResult:
    """Handle one stream record of the keys table (images as plain attribute values)."""
    image = new_image or old_image
    if image is None:
        raise ValueError("stream record without images: the stream must be NEW_AND_OLD_IMAGES")
    uid = str(image["uid"])
    if not should_sync(old_image, new_image):
        return SyncResult(uid, "skipped")
    if new_image is None:
        # Deleted from the table: make sure Plugsurfing no longer accepts it.
        gone = ChargingKey.from_item(dict(image)).model_copy(
            update={"enabled": False, "state": KeyState.LOST}
        )
        try:
            _, calls, _ = execute(gone, deps.partner)
        except SyncRefused as refused:
            logger.warning("deleted key could not be disabled", extra={"reason": str(refused)})
            return SyncResult(uid, "error", error=str(refused))
        return SyncResult(uid, "synced", tuple(calls))
    current = deps.store.get(uid)
    if current is None:
        return SyncResult(uid, "skipped")
    return sync_key(current, deps)


def _record(  # noqa: PLR0917 - a private shorthand for one store call
    store: KeyRepository,
    key: ChargingKey,
    state: SyncState,
    error: str | None,
    partner: PartnerView,
    attempts: int,
    now: datetime,
    contract_id: str | None = None,
) -> None:
    store.record_sync(
        key.uid,
        state=state,
        error=error,
        partner=partner,
        attempts=attempts,
        now=now,
        contract_id=None if key.contract_id else contract_id,
    )
