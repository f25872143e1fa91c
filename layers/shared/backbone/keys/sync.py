"""Key sync: tell Plugsurfing about a charging key whose business fields changed.

A stream record only says *whether* to sync (`should_sync`: one of `SYNC_FIELDS` differs between
its old and new image, or the key is new). *What* to call is planned from the key as it is in the
table now and from `key.partner` (what Plugsurfing last confirmed), one call at a time until the
plan is empty. So a retried record, a record overtaken by a later change, or a call that
succeeded before a crash all converge on the same end state without duplicate side effects.

EMP (`/emp/v1`): a key is created at Plugsurfing when it is first enabled (409 "already
activated" is resolved by looking the key up: ours if the visual number matches), then enabled
or disabled with PUT. Drive (`/v1`): a physical key is reserved (uid + visual number) when it
enters the table, activated for its user when first enabled (404: reserve and retry; 409: ours
if the user already has it), then renamed/enabled/disabled with PATCH.

Outcome: SYNCED, or ERROR with the reason in `syncError` when retrying cannot help (400, 403,
conflicts that are not ours). Transient failures (429/5xx/network, after the client's own
retries) are recorded and re-raised so the stream retries the record; after
`max_attempts` the key shows ERROR.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from backbone.keys.identity import partner_key_identifier
from backbone.keys.models import ChargingKey, KeyState, PartnerView, SyncState
from backbone.observability import MetricUnit, logger, metrics
from backbone.partners.errors import CALL_FAILURES, Conflict, NotFound, is_transient
from backbone.partners.schemas import EmpChargingKey, UserChargingKey

if TYPE_CHECKING:
    from backbone.keys.store import KeyRepository
    from backbone.partners.plugsurfing import PlugsurfingClient

PartnerMode = Literal["emp", "drive"]

SYNC_FIELDS = ("enabled", "state", "ownerId", "ownerType", "name", "visualNumber", "keyIdentifier")
"""Item attributes whose change needs a partner call. Sync's own writes (syncState, syncError,
syncedAt, syncAttempts, partner) and contractId/validity/payment flag are not among them, so
recording an outcome never triggers another sync."""
MAX_STEPS = 6  # the longest plan (Drive: reserve, activate, 404, reserve, activate, patch)


# --- actions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmpCreate:
    """POST /emp/v1/charging-keys."""


@dataclass(frozen=True)
class EmpSetEnabled:
    """PUT /emp/v1/charging-keys/{keyIdentifier}/enable|disable."""

    enabled: bool


@dataclass(frozen=True)
class DriveReserve:
    """POST /v1/charging-keys/reservations."""


@dataclass(frozen=True)
class DriveActivate:
    """POST /v1/users/{userId}/charging-keys/{referenceId}/activate."""

    user_id: str


@dataclass(frozen=True)
class DrivePatch:
    """PATCH /v1/users/{userId}/charging-keys/{identifier}."""

    user_id: str
    identifier: str
    enabled: bool | None = None
    name: str | None = None


Action = EmpCreate | EmpSetEnabled | DriveReserve | DriveActivate | DrivePatch


class SyncRefused(Exception):
    """Plugsurfing refused for good, or the key cannot be synced as it is; retrying cannot help."""

    def __init__(self, message: str, partner: PartnerView) -> None:
        super().__init__(message)
        self.partner = partner


class TemporarySyncFailure(Exception):
    """Plugsurfing was unavailable (after the client's retries); the stream should retry."""

    def __init__(self, message: str, partner: PartnerView) -> None:
        super().__init__(message)
        self.partner = partner


@dataclass(frozen=True)
class SyncResult:
    uid: str
    outcome: Literal["skipped", "synced", "error", "retry"]
    calls: tuple[str, ...] = ()
    error: str | None = None


# --- deciding ------------------------------------------------------------------------------------


def should_sync(old_image: Mapping[str, Any] | None, new_image: Mapping[str, Any] | None) -> bool:
    """True for a new or deleted key, or when a `SYNC_FIELDS` attribute changed."""
    if old_image is None or new_image is None:
        return True
    return any(old_image.get(name) != new_image.get(name) for name in SYNC_FIELDS)


def wants_enabled(key: ChargingKey) -> bool:
    """Plugsurfing should hold the key enabled exactly while it is enabled and ACTIVE (keys/rule.py
    `active`); the payment method is ours to check (rfid-verify 193, left off the whitelist)."""
    return key.active  # enabled there even without a payment method: rfid-verify checks that


def plan(key: ChargingKey, partner: PartnerView, mode: PartnerMode) -> list[Action]:
    """The partner calls still needed, given what Plugsurfing knows (`partner`). Pure."""
    return _plan_emp(key, partner) if mode == "emp" else _plan_drive(key, partner)


def _plan_emp(key: ChargingKey, partner: PartnerView) -> list[Action]:
    want = wants_enabled(key)
    if not partner.registered:
        return [EmpCreate()] if want else []  # a key never created needs no disabling
    if partner.enabled != want:
        return [EmpSetEnabled(want)]
    return []


def _plan_drive(key: ChargingKey, partner: PartnerView) -> list[Action]:
    want = wants_enabled(key)
    if key.type == "virtual":
        # Plugsurfing made it with the user: it exists there already, only PATCH applies.
        known = {"key_id": partner.key_id or key.key_identifier, "user_id": partner.user_id or key.owner_id}
        partner = partner.model_copy(update=known)
    elif not partner.reserved and not partner.registered:
        return [] if key.state is KeyState.LOST else [DriveReserve()]
    elif want and not partner.registered:
        if key.owner_type != "user" or not key.owner_id:
            raise SyncRefused("Drive mode activates keys for a user: assign the key to a user", partner)
        return [DriveActivate(key.owner_id)]
    if not partner.registered or not partner.user_id or partner.key_id is None:
        return []
    enabled = want if partner.enabled != want else None
    name = key.name if key.name and key.name != partner.name else None
    if enabled is None and name is None:
        return []
    return [DrivePatch(partner.user_id, partner.key_id, enabled=enabled, name=name)]


# --- doing -----------------------------------------------------------------------------------------


def execute(
    key: ChargingKey, mode: PartnerMode, client: PlugsurfingClient, *, page_size: int = 100
) -> tuple[PartnerView, list[str], str | None]:
    """Run the plan one call at a time, re-planning after each answer.

    Returns what Plugsurfing now knows, the calls made, and a contract id Plugsurfing assigned.
    Raises `SyncRefused` or `TemporarySyncFailure`, both carrying the progress made so far.
    """
    partner = key.partner
    calls: list[str] = []
    contract_id: str | None = None
    for _ in range(MAX_STEPS):
        actions = plan(key, partner, mode)
        if not actions:
            return partner, calls, contract_id
        action = actions[0]
        calls.append(type(action).__name__)
        try:
            partner, assigned = _run(action, key, partner, client, page_size)
        except CALL_FAILURES as error:
            if is_transient(error):
                raise TemporarySyncFailure(f"Plugsurfing unavailable: {error}", partner) from error
            raise SyncRefused(f"Plugsurfing refused {type(action).__name__}: {error}", partner) from error
        contract_id = contract_id or assigned
    raise SyncRefused(f"no stable state after {MAX_STEPS} calls ({', '.join(calls)})", partner)


def _run(
    action: Action, key: ChargingKey, partner: PartnerView, client: PlugsurfingClient, page_size: int
) -> tuple[PartnerView, str | None]:
    if isinstance(action, EmpCreate):
        return _emp_create(key, partner, client, page_size)
    if isinstance(action, EmpSetEnabled):
        return _emp_set_enabled(key, partner, client, action.enabled), None
    if isinstance(action, DriveReserve):
        return _drive_reserve(key, partner, client), None
    if isinstance(action, DriveActivate):
        return _drive_activate(key, partner, client, action.user_id)
    return _drive_patch(partner, client, action), None


def _emp_create(
    key: ChargingKey, partner: PartnerView, client: PlugsurfingClient, page_size: int
) -> tuple[PartnerView, str | None]:
    fleet_id = key.owner_id if key.owner_type == "fleet" else None
    identifier = partner_key_identifier(key)
    try:
        created = client.create_charging_key(
            identifier,
            key.visual_number,
            fleet_id=fleet_id,
            contract_id=key.contract_id,
            enabled=True,
        )
    except Conflict:
        found = find_emp_key(client, key, fleet_id, page_size)
        if found is None:
            raise SyncRefused(
                f"Plugsurfing says key {identifier} is already activated but does not list it",
                partner,
            ) from None
        if found.visual_number != key.visual_number:
            raise SyncRefused(
                f"key identifier {identifier} is registered at Plugsurfing with visual number "
                f"{found.visual_number!r}, not ours ({key.visual_number!r})",
                partner,
            ) from None
        logger.info("key already at Plugsurfing; adopted", extra={"uid": key.uid})
        return partner.model_copy(update={"key_id": identifier, "enabled": found.enabled}), None
    return partner.model_copy(update={"key_id": identifier, "enabled": created.enabled}), (
        created.contract_id
    )


def _emp_set_enabled(
    key: ChargingKey, partner: PartnerView, client: PlugsurfingClient, enabled: bool
) -> PartnerView:
    # The identifier the key was created with, as the spec addresses enable/disable.
    identifier = partner.key_id or partner_key_identifier(key)
    try:
        if enabled:
            client.enable_charging_key(identifier)
        else:
            client.disable_charging_key(identifier)
    except NotFound:
        # Gone at Plugsurfing: a missing key cannot authorise, and the next plan re-creates it if
        # it should be enabled.
        return PartnerView()
    # A 200 is the confirmation: the spec's disable example echoes `"enabled": true`, so the
    # body's flag is not trusted over the call that was answered.
    return partner.model_copy(update={"enabled": enabled})


def _drive_reserve(key: ChargingKey, partner: PartnerView, client: PlugsurfingClient) -> PartnerView:
    try:
        client.reserve_charging_key(
            partner_key_identifier(key),
            key.visual_number,
            valid_from=key.valid_from,
            valid_to=key.valid_to,
            type="CARD" if key.type == "card" else "TAG",
        )
    except Conflict as error:
        raise SyncRefused(
            f"reservation of {partner_key_identifier(key)} / {key.visual_number!r} conflicts at Plugsurfing: "
            f"{error.detail or error}",
            partner,
        ) from None
    return partner.model_copy(update={"reserved": True})


def _drive_activate(
    key: ChargingKey, partner: PartnerView, client: PlugsurfingClient, user_id: str
) -> tuple[PartnerView, str | None]:
    try:
        activated = _activate_or_adopt(key, partner, client, user_id)
    except NotFound:
        # The reservation may be gone (or was never accepted): reserve again and retry once. A
        # second 404 means the user is unknown at Plugsurfing, which a retry cannot fix.
        partner = _drive_reserve(key, partner, client)
        activated = _activate_or_adopt(key, partner, client, user_id)
    view = partner.model_copy(
        update={
            "key_id": activated.key_id,
            "enabled": activated.enabled,
            "user_id": user_id,
            "name": activated.name,
            "reserved": True,
        }
    )
    return view, activated.contract_id


def _activate_or_adopt(
    key: ChargingKey, partner: PartnerView, client: PlugsurfingClient, user_id: str
) -> UserChargingKey:
    """Activate; on 409 "key already in use" it is fine if the user already has this key."""
    try:
        return client.activate_charging_key(user_id, key.visual_number)
    except Conflict:
        mine = _find_user_key(client, user_id, key)
        if mine is None:
            raise SyncRefused(
                f"key {key.visual_number!r} is already in use by another Plugsurfing user", partner
            ) from None
        return mine


def _drive_patch(partner: PartnerView, client: PlugsurfingClient, action: DrivePatch) -> PartnerView:
    try:
        answer = client.patch_user_charging_key(
            action.user_id, action.identifier, name=action.name, enabled=action.enabled
        )
    except NotFound:
        return PartnerView(reserved=partner.reserved)  # no longer activated there: plan again
    return partner.model_copy(update={"enabled": answer.enabled, "name": answer.name})


def find_emp_key(
    client: PlugsurfingClient, key: ChargingKey, fleet_id: str | None, page_size: int = 100
) -> EmpChargingKey | None:
    """Our key in Plugsurfing's EMP list: in the fleet first, then anywhere. Matched on the key
    identifier in either byte order (the spec's examples echo it reversed) or the visual number."""
    searches = [fleet_id, None] if fleet_id else [None]
    for fleet in searches:
        for candidate in client.list_charging_keys(fleet_id=fleet, page_size=page_size):
            if same_emp_key(candidate, key):
                return candidate
    return None


def same_emp_key(candidate: EmpChargingKey, key: ChargingKey) -> bool:
    return candidate.key_identifier.lower() in identifier_forms(key)


def identifier_forms(key: ChargingKey) -> set[str]:
    """The key identifier as we send it (little-endian) and byte-reversed (the OIOI UID, lower)."""
    return {partner_key_identifier(key), key.key_identifier.lower(), key.uid.lower()}


def _find_user_key(client: PlugsurfingClient, user_id: str, key: ChargingKey) -> UserChargingKey | None:
    for candidate in client.list_user_charging_keys(user_id):
        if candidate.reference_id == key.visual_number or candidate.key_id.lower() in identifier_forms(key):
            return candidate
    return None


# --- recording -------------------------------------------------------------------------------------


def sync_key(
    key: ChargingKey,
    store: KeyRepository,
    client: PlugsurfingClient,
    mode: PartnerMode,
    now: datetime,
    *,
    max_attempts: int = 4,
    page_size: int = 100,
) -> SyncResult:
    """Make Plugsurfing match `key` and record the outcome on the key.

    Raises `TemporarySyncFailure` (after recording it) so the caller's retry machinery runs; the
    key shows ERROR from the `max_attempts`-th consecutive transient failure on.
    """
    try:
        partner, calls, contract_id = execute(key, mode, client, page_size=page_size)
    except SyncRefused as refused:
        _record(store, key, SyncState.ERROR, str(refused), refused.partner, 0, now)
        metrics.add_metric(name="KeySyncErrors", unit=MetricUnit.Count, value=1)
        logger.warning("key sync refused", extra={"uid": key.uid, "reason": str(refused)})
        return SyncResult(key.uid, "error", error=str(refused))
    except TemporarySyncFailure as failure:
        attempts = key.sync_attempts + 1
        exhausted = attempts >= max_attempts
        state = SyncState.ERROR if exhausted else SyncState.PENDING
        note = f"gave up after {attempts} attempts" if exhausted else f"attempt {attempts} failed, retrying"
        _record(store, key, state, f"{failure} ({note})", failure.partner, attempts, now)
        metrics.add_metric(name="KeySyncRetries", unit=MetricUnit.Count, value=1)
        raise
    if calls or key.sync_state is not SyncState.SYNCED or key.sync_error or key.sync_attempts:
        _record(store, key, SyncState.SYNCED, None, partner, 0, now, contract_id)
    if calls:
        metrics.add_metric(name="KeySyncCalls", unit=MetricUnit.Count, value=len(calls))
        logger.info("key synced", extra={"uid": key.uid, "calls": calls})
    return SyncResult(key.uid, "synced", tuple(calls))


def sync_stream_record(
    old_image: Mapping[str, Any] | None,
    new_image: Mapping[str, Any] | None,
    *,
    store: KeyRepository,
    client: PlugsurfingClient,
    mode: PartnerMode,
    now: datetime,
    max_attempts: int = 4,
    page_size: int = 100,
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
            _, calls, _ = execute(gone, mode, client, page_size=page_size)
        except SyncRefused as refused:
            logger.warning("deleted key could not be disabled", extra={"uid": uid, "reason": str(refused)})
            return SyncResult(uid, "error", error=str(refused))
        return SyncResult(uid, "synced", tuple(calls))
    current = store.get(uid)
    if current is None:
        return SyncResult(uid, "skipped")
    return sync_key(current, store, client, mode, now, max_attempts=max_attempts, page_size=page_size)


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
