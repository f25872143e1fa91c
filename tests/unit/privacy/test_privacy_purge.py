"""The daily retention purge's rules on fakes (backbone.privacy.purge): what is due changes,
what is younger stays, a failing item does not stop the run, and the checkpoints resume it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from privacyfakes import FakeCdr, FakeCdrIdentities, FakeCheckpoints, FakeOrders

from backbone.privacy.ports import BillableRef, FinishedOrder, PurgeDependencies
from backbone.privacy.purge import CDR_CHECKPOINT, LEGACY_CHECKPOINT, PurgeItemsFailed, purge
from backbone.privacy.retention import RetentionPolicy

NOW = datetime(2026, 6, 30, 2, 40, tzinfo=UTC)
CUTOFF = date(2026, 4, 1)  # NOW.date() - 90 days
H_OLD = "h1:" + "a" * 32
H_NEW = "h1:" + "b" * 32
ADDRESS = {"firstName": "Erika", "lastName": "Mustermann", "addressLine1": "Hauptstr. 1", "country": "DE"}


def fake_pseudonym(identifier: str) -> str:
    return "h1:" + format(abs(hash(identifier)), "032x")[:32]


def deps(
    cdrs: FakeCdrIdentities,
    orders: FakeOrders | None = None,
    checkpoints: FakeCheckpoints | None = None,
    clock: Callable[[], datetime] = lambda: NOW,
    budget: timedelta = timedelta(minutes=13),
) -> PurgeDependencies:
    return PurgeDependencies(
        cdrs=cdrs,
        orders=orders or FakeOrders(),
        checkpoints=checkpoints or FakeCheckpoints(),
        pseudonym_of=fake_pseudonym,
        policy=RetentionPolicy(),
        budget=budget,
        catch_up_days=3,
        clock=clock,
    )


def test_given_final_cdrs_then_those_90_days_past_billing_day_are_pseudonymised_younger_kept() -> None:
    old = FakeCdr("p#old", "rfid#04523022AA4881", H_OLD, CUTOFF)
    young = FakeCdr("p#young", "rfid#04523022AA4882", H_NEW, CUTOFF + timedelta(days=1))
    cdrs = FakeCdrIdentities(old, young)

    report = purge(deps(cdrs))

    assert (old.driver_id, old.pseudonymised_at) == (H_OLD, NOW)
    assert (young.driver_id, young.pseudonymised_at) == ("rfid#04523022AA4882", None)
    assert report.cdrs_pseudonymised == 1
    assert report.cdr_days_through == CUTOFF.isoformat()


def test_given_a_purge_done_then_running_it_again_changes_nothing_and_looks_at_no_day_twice() -> None:
    old = FakeCdr("p#old", "rfid#04523022AA4881", H_OLD, CUTOFF)
    cdrs, checkpoints = FakeCdrIdentities(old), FakeCheckpoints()
    purge(deps(cdrs, checkpoints=checkpoints))
    cdrs.days_queried.clear()

    again = purge(deps(cdrs, checkpoints=checkpoints))

    assert again.cdrs_pseudonymised == 0
    assert cdrs.days_queried == []
    tomorrow = purge(deps(cdrs, checkpoints=checkpoints, clock=lambda: NOW + timedelta(days=1)))
    assert cdrs.days_queried == [CUTOFF + timedelta(days=1)]
    assert tomorrow.cdrs_pseudonymised == 0


def test_given_a_cdr_without_a_driver_then_it_is_left_alone() -> None:
    anonymous = FakeCdr("p#anon", None, None, CUTOFF)

    report = purge(deps(FakeCdrIdentities(anonymous)))

    assert anonymous.pseudonymised_at is None
    assert report.errors == 0


def test_given_one_item_failing_then_the_others_are_done_the_run_fails_and_the_day_is_tried_again() -> None:
    failing = FakeCdr("p#a-failing", "rfid#1", H_OLD, CUTOFF - timedelta(days=1), fail=True)
    fine = FakeCdr("p#b-fine", "rfid#2", H_NEW, CUTOFF)
    cdrs, checkpoints = FakeCdrIdentities(failing, fine), FakeCheckpoints()

    with pytest.raises(PurgeItemsFailed, match="1 item"):
        purge(deps(cdrs, checkpoints=checkpoints))

    assert fine.driver_id == H_NEW
    assert checkpoints.values[CDR_CHECKPOINT] == {"through": (CUTOFF - timedelta(days=2)).isoformat()}
    failing.fail = False
    purge(deps(cdrs, checkpoints=checkpoints))
    assert failing.driver_id == H_OLD
    assert checkpoints.values[CDR_CHECKPOINT] == {"through": CUTOFF.isoformat()}


def test_given_the_budget_spent_then_the_run_stops_reports_incomplete_and_the_next_run_finishes() -> None:
    cdrs_list = [FakeCdr(f"p#{day}", f"rfid#{day}", H_OLD, CUTOFF - timedelta(days=day)) for day in range(3)]
    cdrs, checkpoints = FakeCdrIdentities(*cdrs_list), FakeCheckpoints()
    ticks = iter([NOW, NOW, NOW, NOW + timedelta(hours=1)] + [NOW + timedelta(hours=2)] * 50)

    first = purge(deps(cdrs, checkpoints=checkpoints, clock=lambda: next(ticks)))

    assert first.complete is False
    assert sum(cdr.driver_id == H_OLD for cdr in cdrs_list) < 3
    second = purge(deps(cdrs, checkpoints=checkpoints))
    assert second.complete is True
    assert all(cdr.driver_id == H_OLD for cdr in cdrs_list)


def test_given_legacy_items_then_their_driver_key_is_rewritten_and_old_ones_are_pseudonymised() -> None:
    received_old = datetime(2026, 1, 5, 10, tzinfo=UTC)
    received_young = datetime(2026, 6, 1, 10, tzinfo=UTC)
    old = FakeCdr("p#1", "04523022AA4881", None, None, "rfid#04523022AA4881", received_at=received_old)
    young = FakeCdr("p#2", "04523022AA4882", None, None, "rfid#04523022AA4882", received_at=received_young)
    stale = FakeCdr("p#3", "USER9", H_NEW, None, f"drive-user#{H_NEW}", "ONGOING", received_old)
    cdrs, checkpoints = FakeCdrIdentities(old, young, stale), FakeCheckpoints()

    report = purge(deps(cdrs, checkpoints=checkpoints))

    old_hash = fake_pseudonym("rfid#04523022AA4881")
    assert (old.driver_key, old.driver_hash, old.driver_id) == (f"rfid#{old_hash}", old_hash, old_hash)
    young_hash = fake_pseudonym("rfid#04523022AA4882")
    assert (young.driver_key, young.driver_hash, young.driver_id) == (
        f"rfid#{young_hash}",
        young_hash,
        "04523022AA4882",
    )
    assert (stale.driver_key, stale.driver_id) == (f"drive-user#{H_NEW}", H_NEW)
    assert report.legacy_migrated == 3
    # Complete: the scan waits until the young item falls due (or a week, whichever is later).
    due = (received_young.date() + timedelta(days=90)).isoformat()
    assert checkpoints.values[LEGACY_CHECKPOINT] == {"resumeOn": due}
    assert purge(deps(cdrs, checkpoints=checkpoints)).legacy_migrated == 0


def test_given_finished_orders_then_addresses_past_retention_keep_only_the_country() -> None:
    old = FinishedOrder("emp", "ORDER#1", dict(ADDRESS), NOW - timedelta(days=91), 3)
    young = FinishedOrder("drive", "req-2", dict(ADDRESS), NOW - timedelta(days=10), 1)
    orders = FakeOrders([old, young])

    report = purge(deps(FakeCdrIdentities(), orders))

    assert orders.blanked == [("ORDER#1", {"country": "DE"})]
    assert report.addresses_blanked == 1
    assert purge(deps(FakeCdrIdentities(), orders)).addresses_blanked == 0


def test_given_one_rule_whose_reads_fail_then_the_other_rules_still_run_and_the_run_fails() -> None:
    class NoIndex(FakeCdrIdentities):
        def billable_on(self, day: date) -> Iterator[BillableRef]:
            raise RuntimeError("ValidationException: the table does not have the specified index")

    orders = FakeOrders([FinishedOrder("emp", "ORDER#1", dict(ADDRESS), NOW - timedelta(days=91), 3)])

    with pytest.raises(PurgeItemsFailed):
        purge(deps(NoIndex(), orders))

    assert orders.blanked == [("ORDER#1", {"country": "DE"})]
