"""Publishing a stream batch: every event of every record reaches the bus, and a record whose
event the bus did not take (or that cannot be read) is reported back alone, so the stream
delivers it again and nothing is skipped (backbone.billing.publish)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from billingfactory import cdr_item

from backbone.billing.errors import PublishFailed
from backbone.billing.events import BillingEvent
from backbone.billing.ports import BillingEventsDependencies
from backbone.billing.publish import StreamChange, publish_changes
from backbone.cdr.models import RecordKind


class FakeBus:
    """Records each PutEvents call; refuses the events whose session is in `refuse`, or every
    call while `down`."""

    def __init__(self, refuse: frozenset[str] = frozenset(), down: bool = False) -> None:
        self.calls: list[list[BillingEvent]] = []
        self.refuse, self.down = refuse, down

    def put(self, events: Sequence[BillingEvent]) -> list[str | None]:
        self.calls.append(list(events))
        if self.down:
            raise PublishFailed("ThrottlingException")
        return ["InternalFailure: try again" if e.record.session_id in self.refuse else None for e in events]

    @property
    def published(self) -> list[tuple[str, str]]:
        return [(e.type.value, e.record.session_id) for call in self.calls for e in call]


def final(number: int) -> StreamChange:
    return StreamChange(f"{number:05d}", None, cdr_item(session=f"S-{number}"))


def test_given_a_batch_of_finals_then_each_is_published_once_in_calls_of_ten() -> None:
    bus = FakeBus()
    result = publish_changes([final(n) for n in range(23)], BillingEventsDependencies(bus))

    assert [len(call) for call in bus.calls] == [10, 10, 3]
    assert bus.published == [("CdrFinalized", f"S-{n}") for n in range(23)]
    assert len(set(result.published)) == 23
    assert result.batch_response() == {"batchItemFailures": []}


def test_given_changes_that_are_not_billing_news_then_nothing_is_called() -> None:
    ongoing = cdr_item(status="ONGOING")
    bus = FakeBus()
    result = publish_changes(
        [StreamChange("1", None, ongoing), StreamChange("2", cdr_item(), None)],
        BillingEventsDependencies(bus),
    )
    assert bus.calls == []
    assert result.failed == ()


def test_given_the_bus_refuses_one_entry_then_only_its_record_is_reported() -> None:
    bus = FakeBus(refuse=frozenset({"S-4"}))
    result = publish_changes([final(n) for n in range(8)], BillingEventsDependencies(bus))

    assert result.batch_response() == {"batchItemFailures": [{"itemIdentifier": "00004"}]}
    assert len(result.published) == 7


def test_given_one_of_two_events_of_a_record_is_refused_then_the_record_is_reported() -> None:
    class RefuseFlagged(FakeBus):
        def put(self, events: Sequence[BillingEvent]) -> list[str | None]:
            self.calls.append(list(events))
            return ["refused" if e.type.value == "CdrFlagged" else None for e in events]

    flagged = StreamChange("7", None, cdr_item(kind=RecordKind.CORRECTION, anomalies=("x",)))
    result = publish_changes([final(1), flagged], BillingEventsDependencies(RefuseFlagged()))
    assert result.failed == ("7",)


def test_given_the_bus_is_down_then_every_record_with_events_is_reported_and_the_rest_not() -> None:
    changes = [final(1), StreamChange("00002", None, cdr_item(status="ONGOING")), final(3)]
    result = publish_changes(changes, BillingEventsDependencies(FakeBus(down=True)))
    assert result.failed == ("00001", "00003")
    assert result.published == ()


def test_given_an_unreadable_record_then_it_fails_alone_and_its_neighbours_are_published() -> None:
    broken = StreamChange("00002", None, {"pk": "p#s", "sk": "CDR", "status": "FINAL"})
    bus = FakeBus()
    result = publish_changes([final(1), broken, final(3)], BillingEventsDependencies(bus))
    assert result.failed == ("00002",)
    assert bus.published == [("CdrFinalized", "S-1"), ("CdrFinalized", "S-3")]


def test_given_a_redelivered_batch_then_the_same_event_ids_are_published_again() -> None:
    changes = [final(n) for n in range(3)]
    first = publish_changes(changes, BillingEventsDependencies(FakeBus()))
    again = publish_changes(changes, BillingEventsDependencies(FakeBus()))
    assert first.published == again.published


def test_given_an_invalid_record_then_the_log_says_what_is_wrong_without_the_driver(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = StreamChange("9", None, cdr_item() | {"energyKwh": "lots"})
    result = publish_changes([broken], BillingEventsDependencies(FakeBus()))

    assert result.failed == ("9",)
    (record,) = [r for r in caplog.records if r.getMessage() == "stream record is not a readable CDR"]
    assert record.__dict__["error"] == "energy_kwh: decimal_parsing"
    logged = " ".join(str(r.__dict__) for r in caplog.records)
    assert "04523022AA4881" not in logged
    assert "lots" not in logged
