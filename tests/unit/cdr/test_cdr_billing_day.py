"""`billingDay` (the ByBillingDay index key): set on exactly the records the daily export reads,
FINAL current records and corrections, as the UTC date they were received."""

from __future__ import annotations

from datetime import UTC, datetime

from cdrfactory import oioi, session_post_text

from backbone.cdr.models import BILLING_DAY, BILLING_DAY_PROJECTION, INDEXES, RecordKind
from backbone.cdr.parse import parse_cdr

FINAL = session_post_text()
ONGOING = session_post_text(stop=None, charging_stop=None, cost=None)


def test_given_a_final_cdr_when_stored_then_its_billing_day_is_the_utc_date_it_was_received() -> None:
    # 00:30 in Berlin on 2 March is still 1 March in UTC.
    received = datetime.fromisoformat("2026-03-02T00:30:00+01:00")
    item = parse_cdr(oioi(FINAL, received)).to_item()
    assert item[BILLING_DAY] == "2026-03-01"


def test_given_a_correction_when_stored_then_it_has_a_billing_day() -> None:
    item = parse_cdr(oioi(FINAL, datetime(2026, 3, 5, 23, 59, 59, tzinfo=UTC))).to_item(RecordKind.CORRECTION)
    assert item[BILLING_DAY] == "2026-03-05"


def test_given_an_ongoing_update_when_stored_then_it_stays_out_of_the_billing_index() -> None:
    assert BILLING_DAY not in parse_cdr(oioi(ONGOING)).to_item()


def test_the_billing_index_is_keyed_by_day_then_partner() -> None:
    assert INDEXES["ByBillingDay"] == (BILLING_DAY, "partnerId")


def test_the_billing_index_projects_no_raw_identity() -> None:
    # The template projects exactly this tuple (tests/unit/test_template_cdr_indexes.py).
    assert "raw" not in BILLING_DAY_PROJECTION
    assert "driverId" not in BILLING_DAY_PROJECTION
    assert "driverHash" in BILLING_DAY_PROJECTION  # the export's driver column, the purge's key
