"""`KeyPartner` on Plugsurfing: the EMP API (`/emp/v1`) and the Drive API (`/v1`), one class
each, both through the client from `backbone.partners.factory` (call metrics attached). Partner
errors end here: a call that fails arrives at the logic as `TemporarySyncFailure` (worth trying
again, `is_transient`) or `SyncRefused`; the answers the spec makes part of the flow are resolved
here (EMP 409 "already activated": ours if Plugsurfing lists it with our visual number; Drive 404
on activation: reserve again; Drive 409 "in use": ours if the user already has it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from backbone.keys.errors import SyncRefused, TemporarySyncFailure
from backbone.keys.identity import identifier_forms, partner_key_identifier
from backbone.keys.models import ChargingKey, PartnerView
from backbone.keys.plans import (
    Action,
    DriveActivate,
    DrivePatch,
    DriveReserve,
    EmpCreate,
    EmpSetEnabled,
    plan_drive,
    plan_emp,
)
from backbone.keys.ports import Applied, ListedKey, Listing
from backbone.observability import logger
from backbone.partners.errors import CALL_FAILURES, Conflict, NotFound, is_transient
from backbone.partners.pagination import iter_pages
from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.partners.schemas import EmpChargingKey, UserChargingKey
from backbone.partners.users import DriveUsers, EnsureUser


class _PlugsurfingKeys:
    """What both APIs share: a failed call becomes the domain error the logic handles."""

    def __init__(self, client: PlugsurfingClient) -> None:
        self.client = client

    def apply(self, action: Action, key: ChargingKey, partner: PartnerView) -> Applied:
        try:
            return self._call(action, key, partner)
        except CALL_FAILURES as error:
            if is_transient(error):
                raise TemporarySyncFailure(f"Plugsurfing unavailable: {error}", partner) from error
            raise SyncRefused(f"Plugsurfing refused {type(action).__name__}: {error}", partner) from error

    def _call(self, action: Action, key: ChargingKey, partner: PartnerView) -> Applied:
        raise NotImplementedError


class EmpKeyPartner(_PlugsurfingKeys):
    """EMP: create when first enabled, then PUT enable/disable; every key in one cursor list."""

    def __init__(self, client: PlugsurfingClient, *, page_size: int = 100) -> None:
        super().__init__(client)
        self.page_size = page_size

    def plan(self, key: ChargingKey, partner: PartnerView) -> list[Action]:
        return plan_emp(key, partner)

    def listings(self, ours: Sequence[ChargingKey]) -> Iterator[Listing]:
        pages = iter_pages(lambda cursor: self.client.charging_keys_page(cursor, page_size=self.page_size))
        yield Listing(ours, ([_emp_listed(listed) for listed in page.items] for page in pages))

    def _call(self, action: Action, key: ChargingKey, partner: PartnerView) -> Applied:
        if isinstance(action, EmpCreate):
            return self._create(key, partner)
        if isinstance(action, EmpSetEnabled):
            return Applied(self._set_enabled(key, partner, action.enabled))
        raise TypeError(f"{type(action).__name__} is not an EMP call")

    def _create(self, key: ChargingKey, partner: PartnerView) -> Applied:
        fleet_id = key.owner_id if key.owner_type == "fleet" else None
        identifier = partner_key_identifier(key)
        try:
            created = self.client.create_charging_key(
                identifier, key.visual_number, fleet_id=fleet_id, contract_id=key.contract_id, enabled=True
            )
        except Conflict:
            found = self._find(key, fleet_id)
            if found is None:
                raise SyncRefused(
                    f"Plugsurfing says key {identifier} is already activated but does not list it", partner
                ) from None
            if found.visual_number != key.visual_number:
                raise SyncRefused(
                    f"key identifier {identifier} is registered at Plugsurfing with visual number "
                    f"{found.visual_number!r}, not ours ({key.visual_number!r})",
                    partner,
                ) from None
            logger.info("key already at Plugsurfing; adopted")
            return Applied(partner.model_copy(update={"key_id": identifier, "enabled": found.enabled}))
        return Applied(
            partner.model_copy(update={"key_id": identifier, "enabled": created.enabled}), created.contract_id
        )

    def _set_enabled(self, key: ChargingKey, partner: PartnerView, enabled: bool) -> PartnerView:
        # The identifier the key was created with, as the spec addresses enable/disable.
        identifier = partner.key_id or partner_key_identifier(key)
        try:
            if enabled:
                self.client.enable_charging_key(identifier)
            else:
                self.client.disable_charging_key(identifier)
        except NotFound:
            # Gone at Plugsurfing: a missing key cannot authorise, and the next plan re-creates it
            # if it should be enabled.
            return PartnerView()
        # A 200 is the confirmation: the spec's disable example echoes `"enabled": true`, so the
        # body's flag is not trusted over the call that was answered.
        return partner.model_copy(update={"enabled": enabled})

    def _find(self, key: ChargingKey, fleet_id: str | None) -> EmpChargingKey | None:
        """Our key in Plugsurfing's EMP list: in the fleet first, then anywhere. Matched on the key
        identifier in either byte order (the spec's examples echo it reversed)."""
        forms = identifier_forms(key)
        for fleet in [fleet_id, None] if fleet_id else [None]:
            for candidate in self.client.list_charging_keys(fleet_id=fleet, page_size=self.page_size):
                if candidate.key_identifier.lower() in forms:
                    return candidate
        return None


class DriveKeyPartner(_PlugsurfingKeys):
    """Drive: reserve on entry, activate for the user when first enabled, then PATCH; each user's
    keys listed on their own (virtual keys are Plugsurfing's, not ours: left out). The user is
    created at Plugsurfing before a key is first activated for them (`ensure_user`)."""

    def __init__(self, client: PlugsurfingClient, ensure_user: EnsureUser | None = None) -> None:
        super().__init__(client)
        self.ensure_user = ensure_user or DriveUsers(client).ensure

    def plan(self, key: ChargingKey, partner: PartnerView) -> list[Action]:
        return plan_drive(key, partner)

    def listings(self, ours: Sequence[ChargingKey]) -> Iterator[Listing]:
        by_user: dict[str, list[ChargingKey]] = defaultdict(list)
        for key in ours:
            if key.owner_type == "user" and key.owner_id:
                by_user[key.owner_id].append(key)
        for user_id, keys in sorted(by_user.items()):
            yield Listing(keys, [self._user_keys(user_id)])

    def _user_keys(self, user_id: str) -> list[ListedKey]:
        try:
            listed = self.client.list_user_charging_keys(user_id)
        except NotFound:
            return []  # the user is unknown there: every key we want enabled is missing
        return [_drive_listed(key, user_id) for key in listed if not key.is_virtual]

    def _call(self, action: Action, key: ChargingKey, partner: PartnerView) -> Applied:
        if isinstance(action, DriveReserve):
            return Applied(self._reserve(key, partner))
        if isinstance(action, DriveActivate):
            return self._activate(key, partner, action.user_id)
        if isinstance(action, DrivePatch):
            return Applied(self._patch(partner, action))
        raise TypeError(f"{type(action).__name__} is not a Drive call")

    def _reserve(self, key: ChargingKey, partner: PartnerView) -> PartnerView:
        try:
            self.client.reserve_charging_key(
                partner_key_identifier(key),
                key.visual_number,
                valid_from=key.valid_from,
                valid_to=key.valid_to,
                type="CARD" if key.type == "card" else "TAG",
            )
        except Conflict as error:
            raise SyncRefused(
                f"reservation of {partner_key_identifier(key)} / {key.visual_number!r} conflicts at "
                f"Plugsurfing: {error.detail or error}",
                partner,
            ) from None
        return partner.model_copy(update={"reserved": True})

    def _activate(self, key: ChargingKey, partner: PartnerView, user_id: str) -> Applied:
        self.ensure_user(user_id)
        try:
            activated = self._activate_or_adopt(key, partner, user_id)
        except NotFound:
            # The reservation may be gone (or was never accepted): reserve again and retry once.
            partner = self._reserve(key, partner)
            activated = self._activate_or_adopt(key, partner, user_id)
        view = partner.model_copy(
            update={
                "key_id": activated.key_id,
                "enabled": activated.enabled,
                "user_id": user_id,
                "name": activated.name,
                "reserved": True,
            }
        )
        return Applied(view, activated.contract_id)

    def _activate_or_adopt(self, key: ChargingKey, partner: PartnerView, user_id: str) -> UserChargingKey:
        """Activate; on 409 "key already in use" it is fine if the user already has this key."""
        try:
            return self.client.activate_charging_key(user_id, key.visual_number)
        except Conflict:
            forms = identifier_forms(key)
            for candidate in self.client.list_user_charging_keys(user_id):
                if candidate.reference_id == key.visual_number or candidate.key_id.lower() in forms:
                    return candidate
            raise SyncRefused(
                f"key {key.visual_number!r} is already in use by another Plugsurfing user", partner
            ) from None

    def _patch(self, partner: PartnerView, action: DrivePatch) -> PartnerView:
        try:
            answer = self.client.patch_user_charging_key(
                action.user_id, action.identifier, name=action.name, enabled=action.enabled
            )
        except NotFound:
            return PartnerView(reserved=partner.reserved)  # no longer activated there: plan again
        return partner.model_copy(update={"enabled": answer.enabled, "name": answer.name})


def _emp_listed(listed: EmpChargingKey) -> ListedKey:
    return ListedKey(listed.key_identifier, listed.visual_number, listed.enabled, listed.fleet_id)


def _drive_listed(listed: UserChargingKey, user_id: str) -> ListedKey:
    return ListedKey(listed.key_id, listed.reference_id, listed.enabled, user_id)
