"""Which CdrTable change is billing news, what its event says, and how events fill PutEvents
calls: pure decisions over stream images (backbone.billing.events)."""

from __future__ import annotations

from typing import Any

import pytest
from billingfactory import DRIVER, cdr_item

from backbone.billing.events import MAX_BYTES_PER_CALL, BillingEvent, batches, billing_events, event_types
from backbone.billing.models import BillingEventType, BillingRecord
from backbone.cdr.models import RecordKind, StoredCdr
from backbone.privacy.cdr import PSEUDONYMISED_AT

FINALIZED, CORRECTED, FLAGGED = (
    BillingEventType.FINALIZED,
    BillingEventType.CORRECTED,
    BillingEventType.FLAGGED,
)
ONGOING_1 = cdr_item(status="ONGOING", payload_hash="1" * 64, energy="3.2")
ONGOING_2 = cdr_item(status="ONGOING", payload_hash="2" * 64, energy="7.9")
FINAL = cdr_item(payload_hash="f" * 64)
CORRECTION = cdr_item(kind=RecordKind.CORRECTION, payload_hash="c" * 64, amount="15.10")
FLAGGED_FINAL = cdr_item(payload_hash="e" * 64, anomalies=("cost-currency-missing",))
FLAGGED_ONGOING = cdr_item(status="ONGOING", payload_hash="3" * 64, anomalies=("start-unreadable",))


def pseudonymised(item: dict[str, Any]) -> dict[str, Any]:
    return item | {"driverId": item["driverHash"], PSEUDONYMISED_AT: "2026-06-01T00:00:00.000Z"}


CASES = {
    "a final CDR is inserted": (None, FINAL, [FINALIZED]),
    "an ongoing update is inserted": (None, ONGOING_1, []),
    "an ongoing update replaces another": (ONGOING_1, ONGOING_2, []),
    "the final CDR replaces the ongoing record": (ONGOING_2, FINAL, [FINALIZED]),
    "a correction is inserted": (None, CORRECTION, [CORRECTED]),
    "a flagged final CDR is inserted": (None, FLAGGED_FINAL, [FINALIZED, FLAGGED]),
    "a flagged ongoing update is inserted": (None, FLAGGED_ONGOING, [FLAGGED]),
    "a flagged ongoing update replaces a clean one": (ONGOING_1, FLAGGED_ONGOING, [FLAGGED]),
    "a clean final replaces a flagged ongoing": (FLAGGED_ONGOING, FINAL, [FINALIZED]),
    "a flagged correction is inserted": (
        None,
        cdr_item(kind=RecordKind.CORRECTION, payload_hash="d" * 64, anomalies=("x",)),
        [CORRECTED, FLAGGED],
    ),
    "a final CDR is pseudonymised": (FINAL, pseudonymised(FINAL), []),
    "a correction is pseudonymised": (CORRECTION, pseudonymised(CORRECTION), []),
    "a flagged final is pseudonymised": (FLAGGED_FINAL, pseudonymised(FLAGGED_FINAL), []),
    "a flagged record's review is resolved": (
        FLAGGED_FINAL,
        cdr_item(payload_hash="e" * 64, anomalies=("cost-currency-missing",), reviewed=True),
        [],
    ),
    "a record is removed": (FINAL, None, []),
}


@pytest.mark.parametrize("case", CASES)
def test_given_a_stream_change_then_exactly_its_billing_events_are_decided(case: str) -> None:
    old, new, expected = CASES[case]
    assert event_types(old, new) == expected


def test_given_a_final_cdr_then_the_event_carries_the_billing_record_exactly() -> None:
    (event,) = billing_events(ONGOING_2, FINAL)
    detail = event.detail()

    assert detail == BillingRecord.from_stored(StoredCdr.from_item(FINAL)).to_json() | {
        "schemaVersion": "1",
        "eventId": event.event_id,
    }
    assert (detail["energyKwh"], detail["costAmount"], detail["costCurrency"]) == ("16.500", "14.30", "EUR")
    assert detail["receivedAt"] == "2026-03-01T16:05:30.250Z"
    assert detail["stoppedAt"] == "2026-03-01T16:00:00.000Z"
    assert (detail["partnerId"], detail["sessionId"], detail["evseId"]) == (
        "acme-cpo",
        "S-1",
        "DE*8PS*ETABCD*1",
    )
    assert detail["driverHash"] == DRIVER.pseudonym
    assert (detail["kind"], detail["status"], detail["needsReview"]) == ("CDR", "FINAL", False)


def test_given_the_same_record_decided_twice_then_the_event_id_is_the_same() -> None:
    # A redelivered stream record, or the INSERT and a later replay of the same record.
    first = billing_events(None, FINAL)[0]
    again = billing_events(ONGOING_1, dict(FINAL))[0]
    assert first.event_id == again.event_id
    assert first.detail_json() == again.detail_json()


def test_given_two_events_of_one_record_or_two_records_then_their_ids_differ() -> None:
    finalized, flagged = billing_events(None, FLAGGED_FINAL)
    (correction,) = billing_events(None, CORRECTION)
    (other,) = billing_events(None, cdr_item(session="S-2", payload_hash="f" * 64))
    ids = {
        finalized.event_id,
        flagged.event_id,
        correction.event_id,
        other.event_id,
        billing_events(None, FINAL)[0].event_id,
    }
    assert len(ids) == 5
    assert flagged.detail()["needsReview"] is True
    assert flagged.detail()["anomalies"] == ["cost-currency-missing"]


def test_given_an_image_that_is_not_a_cdr_then_reading_it_fails_loudly() -> None:
    with pytest.raises(KeyError):
        billing_events(None, {"pk": "x", "sk": "CDR", "status": "FINAL"})


def events(count: int) -> list[BillingEvent]:
    return [billing_events(None, cdr_item(session=f"S-{i}"))[0] for i in range(count)]


def test_given_25_events_then_they_go_in_calls_of_at_most_10() -> None:
    assert [len(batch) for batch in batches(events(25))] == [10, 10, 5]
    assert [i for batch in batches(events(25)) for i in batch] == list(range(25))


def test_given_events_over_the_size_limit_then_a_call_holds_what_fits() -> None:
    sample = events(6)
    size = sample[0].entry_size()
    assert 500 < size < MAX_BYTES_PER_CALL // 100
    assert [len(b) for b in batches(sample, max_bytes=size * 2 + 10)] == [2, 2, 2]
    # One entry larger than any call still gets its own call (the bus refuses it; it fails alone).
    assert [len(b) for b in batches(sample, max_bytes=size // 2)] == [1, 1, 1, 1, 1, 1]


def test_given_no_events_then_no_call() -> None:
    assert list(batches([])) == []
