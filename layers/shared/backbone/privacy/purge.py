"""PrivacyPurgeFunction's logic: the retention rules DynamoDB TTL cannot express, run daily
(docs/privacy.md, "Retention").

1. **CDR driver identity**: every final CDR and correction whose billing day (UTC date received)
   is `cdr_identity_days` or more in the past is pseudonymised (`privacy.cdr.pseudonymise_update`:
   driverId := driverHash; billing fields untouched). Found by day through the ByBillingDay
   index; the checkpoint remembers the last day done, so each day looks at one new billing day.
2. **CDR items the index does not show**: items written before pseudonymisation (driverKey holds
   the raw identifier, no driverHash) get driverKey `<type>#<pseudonym>` and driverHash, and
   their identity pseudonymised once old enough; records never finalised (a stale ongoing CDR)
   are pseudonymised by the same age. A filtered Scan, resumed page by page, repeated no more
   often than every `RESCAN_DAYS` (or when an item it saw falls due).
3. **Order addresses**: EMP and Drive key orders finished `order_address_days` ago or more keep
   only the country of their address (`retention.blanked_address`).

The run stops starting new work once its budget is spent and resumes from its checkpoints the
next day. One item that fails is logged (by its key, which holds no personal data) and counted,
and the rest goes on; its day or page is not marked done, so the next run tries it again. A step
whose reads fail (a missing index, the pepper unreadable) is logged and counted the same way and
the other steps still run. A run with failures raises `PurgeItemsFailed` at the end (the
function's Errors alarm).

Metrics (`service` privacy-purge): `CdrsPseudonymised`, `LegacyCdrsMigrated`,
`OrderAddressesBlanked`, `PurgeItemErrors`, `PurgeIncomplete` (1: the budget ran out first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from backbone.observability import MetricUnit, logger, metrics
from backbone.privacy.ports import BillableRef, LegacyCdr, PurgeDependencies
from backbone.privacy.retention import address_cutoff, blanked_address, cdr_identity_cutoff, days_between

CDR_CHECKPOINT = "cdr-identity"
LEGACY_CHECKPOINT = "cdr-unindexed"
RESCAN_DAYS = 7
"""A complete scan for unindexed CDR items is repeated after this many days at the earliest: a
stale ongoing record is pseudonymised at most this late."""
FINAL = "FINAL"


class PurgeItemsFailed(RuntimeError):
    """Some items could not be purged (logged by key); the next run tries them again."""


@dataclass
class PurgeReport:
    cdrs_pseudonymised: int = 0
    legacy_migrated: int = 0
    addresses_blanked: int = 0
    unchanged: int = 0
    errors: int = 0
    complete: bool = True
    cdr_days_through: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Run:
    """One invocation: its dependencies, report and deadline."""

    def __init__(self, deps: PurgeDependencies) -> None:
        self.deps = deps
        self.report = PurgeReport()
        self.now = deps.clock()
        self.today = self.now.date()
        self.deadline = self.now + deps.budget

    def out_of_time(self) -> bool:
        if self.deps.clock() >= self.deadline:
            self.report.complete = False
            return True
        return False

    def attempt(self, what: str, key: str, change: Callable[[], bool]) -> bool:
        """Run one item's change; count it. False only when it failed."""
        try:
            changed = change()
        except Exception:
            logger.exception("privacy purge: item failed", extra={"step": what, "item": key})
            self.report.errors += 1
            return False
        if not changed:
            self.report.unchanged += 1
        return True


def purge(deps: PurgeDependencies) -> PurgeReport:
    """Apply every retention rule that is due, within the budget; metrics, then the report."""
    run = _Run(deps)
    for step in (_pseudonymise_billable, _migrate_unindexed, _blank_addresses):
        if run.out_of_time():
            break
        try:
            step(run)
        except Exception:  # a read that failed (table, index, pepper): the other rules still run
            logger.exception("privacy purge: step failed", extra={"step": step.__name__.lstrip("_")})
            run.report.errors += 1
    _emit(run.report)
    if run.report.errors:
        raise PurgeItemsFailed(f"{run.report.errors} item(s) could not be purged: {run.report.as_dict()}")
    return run.report


def _pseudonymise_billable(run: _Run) -> None:
    deps = run.deps
    cutoff = cdr_identity_cutoff(run.today, deps.policy.cdr_identity_days)
    checkpoint = deps.checkpoints.get(CDR_CHECKPOINT)
    if checkpoint and checkpoint.get("through"):
        first = date.fromisoformat(str(checkpoint["through"])) + timedelta(days=1)
    else:
        first = cutoff - timedelta(days=deps.catch_up_days)
    clean = True  # every day so far done without a failed item: the checkpoint may advance
    for day in days_between(first, cutoff):
        failed = 0
        for ref in deps.cdrs.billable_on(day):
            if run.out_of_time():
                return
            failed += not _pseudonymise_one(run, ref)
        clean = clean and not failed
        if clean:
            deps.checkpoints.put(CDR_CHECKPOINT, {"through": day.isoformat()}, run.now)
            run.report.cdr_days_through = day.isoformat()


def _pseudonymise_one(run: _Run, ref: BillableRef) -> bool:
    driver_hash = ref.driver_hash
    if driver_hash is None:  # no driver on this CDR: nothing personal to remove
        return True

    def change() -> bool:
        changed = run.deps.cdrs.pseudonymise(ref, driver_hash, run.now)
        run.report.cdrs_pseudonymised += changed
        return changed

    return run.attempt("cdr-identity", f"{ref.pk}/{ref.sk}", change)


def _migrate_unindexed(run: _Run) -> None:
    deps = run.deps
    checkpoint = deps.checkpoints.get(LEGACY_CHECKPOINT) or {}
    resume_on = checkpoint.get("resumeOn")
    if resume_on and run.today < date.fromisoformat(str(resume_on)):
        return
    start = checkpoint.get("start")
    due_next = checkpoint.get("dueNext")
    cutoff = cdr_identity_cutoff(run.today, deps.policy.cdr_identity_days)
    while True:
        page = deps.cdrs.legacy_page(start)
        failed = 0
        for item in page.items:
            if run.out_of_time():
                return
            due = item.received_at.date() + timedelta(days=deps.policy.cdr_identity_days)
            ripe = item.received_at.date() <= cutoff
            if not ripe:
                due_next = min(filter(None, (due_next, due.isoformat())))
            failed += not _migrate_one(run, item, ripe)
        if failed:  # this page again next run; the scan's filter skips what is done
            deps.checkpoints.put(LEGACY_CHECKPOINT, {"start": start, "dueNext": due_next}, run.now)
            return
        start = dict(page.next_start) if page.next_start is not None else None
        if start is None:
            rescan = run.today + timedelta(days=RESCAN_DAYS)
            resume = max(rescan, date.fromisoformat(due_next)) if due_next else rescan
            deps.checkpoints.put(LEGACY_CHECKPOINT, {"resumeOn": resume.isoformat()}, run.now)
            return
        deps.checkpoints.put(LEGACY_CHECKPOINT, {"start": start, "dueNext": due_next}, run.now)
        if run.out_of_time():
            return


def _migrate_one(run: _Run, item: LegacyCdr, ripe: bool) -> bool:
    def change() -> bool:
        pseudonym = item.driver_hash or run.deps.pseudonym_of(item.driver_key)
        changed = run.deps.cdrs.migrate_legacy(item, pseudonym, run.now if ripe else None)
        run.report.legacy_migrated += changed
        return changed

    return run.attempt("cdr-unindexed", f"{item.pk}/{item.sk}", change)


def _blank_addresses(run: _Run) -> None:
    deps = run.deps
    cutoff = address_cutoff(run.now, deps.policy.order_address_days)
    for order in deps.orders.finished_before(cutoff):
        if run.out_of_time():
            return
        kept = blanked_address(order.address)
        if kept == order.address:
            continue

        def change(order: Any = order, kept: dict[str, str] = kept) -> bool:
            changed = deps.orders.blank(order, kept, run.now)
            run.report.addresses_blanked += changed
            return changed

        run.attempt("order-address", f"{order.table}/{order.key}", change)


def _emit(report: PurgeReport) -> None:
    for name, value in (
        ("CdrsPseudonymised", report.cdrs_pseudonymised),
        ("LegacyCdrsMigrated", report.legacy_migrated),
        ("OrderAddressesBlanked", report.addresses_blanked),
        ("PurgeItemErrors", report.errors),
        ("PurgeIncomplete", 0 if report.complete else 1),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    logger.info("privacy purge done", extra={"report": report.as_dict()})


__all__ = ["PurgeItemsFailed", "PurgeReport", "purge"]
