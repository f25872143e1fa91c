"""Drift between our charging-keys table and Plugsurfing, reported and (when told) repaired.

EMP: every key Plugsurfing lists (`GET /emp/v1/charging-keys`, all cursor pages) is matched with
ours by key identifier (either byte order) or visual number. Drive: for each user owning keys in
our table, that user's keys (`GET /v1/users/{id}/charging-keys`, virtual keys ignored).

Drift kinds:
- MISSING: we want the key enabled but Plugsurfing does not have it (repair: create/activate);
- ENABLED_MISMATCH: both have it, the enabled flag differs (repair: enable/disable there);
- UNKNOWN: Plugsurfing has a key our table does not (reported only: an operator decides whether
  to import it or have it removed; we never guess an owner).

Repairs go through the same executor as key sync, starting from what Plugsurfing actually
showed, and record the outcome on the key.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from backbone.keys.models import ChargingKey, PartnerView
from backbone.keys.sync import (
    PartnerMode,
    SyncRefused,
    TemporarySyncFailure,
    identifier_forms,
    sync_key,
    wants_enabled,
)
from backbone.observability import MetricUnit, logger, metrics
from backbone.partners.errors import NotFound
from backbone.partners.pagination import iter_pages

if TYPE_CHECKING:
    from backbone.keys.store import KeyRepository
    from backbone.partners.plugsurfing import PlugsurfingClient
    from backbone.partners.schemas import EmpChargingKey, UserChargingKey

DriftKind = Literal["MISSING", "ENABLED_MISMATCH", "UNKNOWN"]


@dataclass(frozen=True)
class Drift:
    kind: DriftKind
    key_identifier: str
    visual_number: str | None
    uid: str | None = None
    ours_enabled: bool | None = None
    partner_enabled: bool | None = None
    owner_id: str | None = None


@dataclass
class ReconcileReport:
    checked: int = 0
    partner_keys: int = 0
    partner_pages: int = 0
    drifts: list[Drift] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    repair_failures: dict[str, str] = field(default_factory=dict)

    def count(self, kind: DriftKind) -> int:
        return sum(1 for drift in self.drifts if drift.kind == kind)

    def summary(self) -> dict[str, int]:
        return {
            "checked": self.checked,
            "partnerKeys": self.partner_keys,
            "partnerPages": self.partner_pages,
            "missing": self.count("MISSING"),
            "enabledMismatch": self.count("ENABLED_MISMATCH"),
            "unknown": self.count("UNKNOWN"),
            "repaired": len(self.repaired),
            "repairFailures": len(self.repair_failures),
        }


class _Index:
    """Our keys, findable by key identifier (either byte order) and by visual number."""

    def __init__(self, keys: Iterable[ChargingKey]) -> None:
        self.keys = list(keys)
        self._by_identifier = {form: key for key in self.keys for form in identifier_forms(key)}
        self._by_visual = {key.visual_number: key for key in self.keys}

    def match(self, identifier: str, visual_number: str | None) -> ChargingKey | None:
        return self._by_identifier.get(identifier.lower()) or (
            self._by_visual.get(visual_number) if visual_number else None
        )


def reconcile(
    store: KeyRepository,
    client: PlugsurfingClient,
    mode: PartnerMode,
    now: datetime,
    *,
    repair: bool = False,
    page_size: int = 100,
) -> ReconcileReport:
    """Compare, report (log + metrics) and optionally repair."""
    ours = list(store.iter_keys())
    report = ReconcileReport(checked=len(ours))
    if mode == "emp":
        _compare_emp(ours, client, page_size, report)
    else:
        _compare_drive(ours, client, report)
    if repair:
        by_uid = {key.uid: key for key in ours}
        for drift in report.drifts:
            if drift.uid is None or drift.kind == "UNKNOWN":
                continue
            key = by_uid[drift.uid].model_copy(
                update={"partner": _as_partner_showed(by_uid[drift.uid], drift)}
            )
            try:
                result = sync_key(key, store, client, mode, now, page_size=page_size)
            except (TemporarySyncFailure, SyncRefused) as error:
                report.repair_failures[key.uid] = str(error)
                continue
            if result.outcome == "synced":
                report.repaired.append(key.uid)
            else:
                report.repair_failures[key.uid] = result.error or result.outcome
    _publish(report)
    return report


def _compare_emp(
    ours: list[ChargingKey], client: PlugsurfingClient, page_size: int, report: ReconcileReport
) -> None:
    index = _Index(ours)
    seen: dict[str, EmpChargingKey] = {}
    for page in iter_pages(lambda cursor: client.charging_keys_page(cursor, page_size=page_size)):
        report.partner_pages += 1
        for listed in page.items:
            report.partner_keys += 1
            match = index.match(listed.key_identifier, listed.visual_number)
            if match is None:
                report.drifts.append(
                    Drift(
                        "UNKNOWN",
                        listed.key_identifier,
                        listed.visual_number,
                        partner_enabled=listed.enabled,
                        owner_id=listed.fleet_id,
                    )
                )
            else:
                seen[match.uid] = listed
    for key in ours:
        _compare_one(key, seen.get(key.uid), report)


def _compare_drive(ours: list[ChargingKey], client: PlugsurfingClient, report: ReconcileReport) -> None:
    by_user: dict[str, list[ChargingKey]] = defaultdict(list)
    for key in ours:
        if key.owner_type == "user" and key.owner_id:
            by_user[key.owner_id].append(key)
    for user_id, keys in sorted(by_user.items()):
        report.partner_pages += 1
        try:
            physical = [k for k in client.list_user_charging_keys(user_id) if not k.is_virtual]
        except NotFound:
            physical = []  # the user is unknown there: every key we want enabled is missing
        index = _Index(keys)
        seen: dict[str, UserChargingKey] = {}
        for listed in physical:
            report.partner_keys += 1
            match = index.match(listed.key_id, listed.reference_id)
            if match is None:
                report.drifts.append(
                    Drift(
                        "UNKNOWN",
                        listed.key_id,
                        listed.reference_id,
                        partner_enabled=listed.enabled,
                        owner_id=user_id,
                    )
                )
            else:
                seen[match.uid] = listed
        for key in keys:
            _compare_one(key, seen.get(key.uid), report)


def _compare_one(
    key: ChargingKey, listed: EmpChargingKey | UserChargingKey | None, report: ReconcileReport
) -> None:
    want = wants_enabled(key)
    if listed is None:
        if want:
            report.drifts.append(
                Drift("MISSING", key.key_identifier, key.visual_number, key.uid, want, None, key.owner_id)
            )
    elif listed.enabled != want:
        report.drifts.append(
            Drift(
                "ENABLED_MISMATCH",
                key.key_identifier,
                key.visual_number,
                key.uid,
                want,
                listed.enabled,
                key.owner_id,
            )
        )


def _as_partner_showed(key: ChargingKey, drift: Drift) -> PartnerView:
    """What Plugsurfing actually has, so the sync plan starts from the truth."""
    if drift.kind == "MISSING":
        return PartnerView()
    user_id = key.partner.user_id or (key.owner_id if key.owner_type == "user" else None)
    return key.partner.model_copy(
        update={
            "key_id": key.partner.key_id or key.key_identifier,
            "enabled": drift.partner_enabled,
            "reserved": True,
            "user_id": user_id,
        }
    )


def _publish(report: ReconcileReport) -> None:
    summary = report.summary()
    for name, metric in (
        ("checked", "KeysChecked"),
        ("partnerKeys", "PartnerKeysListed"),
        ("missing", "KeyDriftMissing"),
        ("enabledMismatch", "KeyDriftEnabledMismatch"),
        ("unknown", "KeyDriftUnknown"),
        ("repaired", "KeyDriftRepaired"),
        ("repairFailures", "KeyDriftRepairFailed"),
    ):
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=summary[name])
    drifts = [vars(drift) for drift in report.drifts[:100]]
    log = logger.warning if report.drifts else logger.info
    log("charging keys reconciled", extra={"summary": summary, "drifts": drifts})
