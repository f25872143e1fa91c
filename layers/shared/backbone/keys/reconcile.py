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

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from backbone.keys.errors import SyncRefused, TemporarySyncFailure
from backbone.keys.identity import identifier_forms
from backbone.keys.models import ChargingKey, PartnerView
from backbone.keys.plans import wants_enabled
from backbone.keys.ports import KeyDependencies, ListedKey, Listing
from backbone.keys.sync import sync_key
from backbone.observability import MetricUnit, logger, metrics

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

    def answer(self) -> dict[str, Any]:
        """The function's response: the summary and what the repair did."""
        return {"summary": self.summary(), "repaired": self.repaired, "repairFailures": self.repair_failures}

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


def reconcile(deps: KeyDependencies, *, repair: bool | None = None) -> ReconcileReport:
    """Compare, report (log + metrics) and repair when `repair` (default: `deps.repair`)."""
    ours = list(deps.store.iter_keys())
    report = ReconcileReport(checked=len(ours))
    for listing in deps.partner.listings(ours):
        _compare(listing, report)
    if deps.repair if repair is None else repair:
        _repair(ours, deps, report)
    _publish(report)
    return report


def _compare(listing: Listing, report: ReconcileReport) -> None:
    index = _Index(listing.ours)
    seen: dict[str, ListedKey] = {}
    for page in listing.pages:
        report.partner_pages += 1
        for listed in page:
            report.partner_keys += 1
            match = index.match(listed.identifier, listed.visual_number)
            if match is None:
                report.drifts.append(
                    Drift(
                        "UNKNOWN",
                        listed.identifier,
                        listed.visual_number,
                        partner_enabled=listed.enabled,
                        owner_id=listed.owner_id,
                    )
                )
            else:
                seen[match.uid] = listed
    for key in listing.ours:
        _compare_one(key, seen.get(key.uid), report)


def _repair(ours: list[ChargingKey], deps: KeyDependencies, report: ReconcileReport) -> None:
    by_uid = {key.uid: key for key in ours}
    for drift in report.drifts:
        if drift.uid is None or drift.kind == "UNKNOWN":
            continue
        key = by_uid[drift.uid].model_copy(update={"partner": _as_partner_showed(by_uid[drift.uid], drift)})
        try:
            result = sync_key(key, deps)
        except (TemporarySyncFailure, SyncRefused) as error:
            report.repair_failures[key.uid] = str(error)
            continue
        if result.outcome == "synced":
            report.repaired.append(key.uid)
        else:
            report.repair_failures[key.uid] = result.error or result.outcome


def _compare_one(key: ChargingKey, listed: ListedKey | None, report: ReconcileReport) -> None:
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
    # Kinds and enabled flags only: a drifted key's identifiers name its driver (docs/privacy.md,
    # "Logs and traces"); the function's answer (`bbctl keys reconcile`) names the keys a repair
    # touched, and it is not traced (POWERTOOLS_TRACER_CAPTURE_RESPONSE=false).
    drifts = [
        {"kind": drift.kind, "ours_enabled": drift.ours_enabled, "partner_enabled": drift.partner_enabled}
        for drift in report.drifts[:100]
    ]
    log = logger.warning if report.drifts else logger.info
    log("charging keys reconciled", extra={"summary": summary, "drifts": drifts})
