"""The merge rules (docs/cdr-ingestion.md, "Merge rules") against the in-memory table, which has
DynamoDB's per-item atomicity: one row of the rules per example, then properties over every
order the same updates can arrive in."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from cdrfactory import drive, drive_session_text, metric_count, oioi, session_post_text
from cdrfakes import InMemoryCdrStore, InMemoryDeadLetters, pseudonymise_for_tests
from hypothesis import given, settings
from hypothesis import strategies as st

from backbone.cdr.envelope import CdrEnvelope
from backbone.cdr.ingest import Outcome, ingest, ingest_message
from backbone.cdr.models import Cdr, CdrStatus, PutResult, RecordKind, RecordWrite, Refused
from backbone.cdr.parse import parse_cdr
from backbone.cdr.ports import IngestDependencies

ONGOING_EARLY = session_post_text(stop=None, charging_stop=None, energy="3.2", cost=None)
ONGOING_LATE = session_post_text(stop=None, charging_stop=None, energy="9.75", cost=None)
FINAL = session_post_text(energy="16.5", cost="14.32")
CORRECTED = session_post_text(energy="16.5", cost="12.10")


def run(store: InMemoryCdrStore, *envelopes: CdrEnvelope) -> list[Outcome]:
    return [ingest(parse_cdr(envelope), store) for envelope in envelopes]


def current(store: InMemoryCdrStore) -> Cdr:
    [cdr] = [stored.cdr for stored in store.history("acme-cpo", "S-1") if stored.kind is RecordKind.CDR]
    return cdr


def corrections(store: InMemoryCdrStore) -> list[Cdr]:
    return [stored.cdr for stored in store.history("acme-cpo", "S-1") if stored.kind is RecordKind.CORRECTION]


# --- one rule per example ------------------------------------------------------------------------


def test_given_nothing_stored_when_a_final_cdr_arrives_then_it_is_created(store: InMemoryCdrStore) -> None:
    assert run(store, oioi(FINAL)) == [Outcome.CREATED]
    assert current(store).status is CdrStatus.FINAL


def test_given_an_ongoing_update_when_a_later_one_arrives_then_it_replaces_it(
    store: InMemoryCdrStore,
) -> None:
    assert run(store, oioi(ONGOING_EARLY, 1), oioi(ONGOING_LATE, 2)) == [Outcome.CREATED, Outcome.ADVANCED]
    assert current(store).energy_kwh == Decimal("9.75")


def test_given_a_later_ongoing_update_when_an_earlier_one_arrives_late_then_it_is_ignored(
    store: InMemoryCdrStore,
) -> None:
    # Progress is read from the payload (energy), not from arrival order.
    assert run(store, oioi(ONGOING_LATE, 1), oioi(ONGOING_EARLY, 2)) == [Outcome.CREATED, Outcome.STALE]
    assert current(store).energy_kwh == Decimal("9.75")


def test_given_equal_progress_when_two_updates_arrive_then_the_later_received_wins(
    store: InMemoryCdrStore,
) -> None:
    same_energy = session_post_text(
        stop=None, charging_stop=None, energy="3.2", cost=None, extra={"note": "x"}
    )
    assert run(store, oioi(same_energy, 5), oioi(ONGOING_EARLY, 1)) == [Outcome.CREATED, Outcome.STALE]
    assert current(store).received_at.minute == 5


def test_given_charging_stopped_when_compared_with_more_energy_without_stop_then_the_stop_is_further(
    store: InMemoryCdrStore,
) -> None:
    stopped = session_post_text(stop=None, charging_stop="2026-03-01T16:00:00+01:00", energy="9.0", cost=None)
    assert run(store, oioi(stopped, 1), oioi(ONGOING_LATE, 2)) == [Outcome.CREATED, Outcome.STALE]


def test_given_an_ongoing_update_when_the_final_cdr_arrives_then_it_completes_it(
    store: InMemoryCdrStore,
) -> None:
    assert run(store, oioi(ONGOING_LATE, 1), oioi(FINAL, 2)) == [Outcome.CREATED, Outcome.COMPLETED]
    assert current(store).status is CdrStatus.FINAL


def test_given_a_final_cdr_when_an_older_ongoing_update_arrives_then_it_is_ignored(
    store: InMemoryCdrStore,
) -> None:
    assert run(store, oioi(FINAL, 5), oioi(ONGOING_LATE, 9)) == [Outcome.CREATED, Outcome.AFTER_FINAL]
    assert current(store).status is CdrStatus.FINAL


def test_given_a_final_cdr_when_the_same_payload_is_posted_again_then_nothing_changes(
    store: InMemoryCdrStore,
) -> None:
    reformatted = FINAL.replace(", ", ",").replace("16.5", "16.50")
    assert run(store, oioi(FINAL, 1), oioi(FINAL, 1), oioi(reformatted, 30)) == [
        Outcome.CREATED,
        Outcome.DUPLICATE,
        Outcome.DUPLICATE,
    ]
    assert store.writes == 1
    assert current(store).received_at.minute == 1  # the first one stays, untouched


def test_given_a_final_cdr_when_a_different_one_arrives_then_it_is_kept_beside_it_never_over_it(
    store: InMemoryCdrStore,
) -> None:
    original = parse_cdr(oioi(FINAL, 1))
    assert run(store, oioi(FINAL, 1), oioi(CORRECTED, 2), oioi(CORRECTED, 3)) == [
        Outcome.CREATED,
        Outcome.CORRECTION,
        Outcome.DUPLICATE,
    ]
    assert current(store) == original
    [correction] = corrections(store)
    assert correction.cost is not None
    assert correction.cost.amount == Decimal("12.10")


def test_given_a_correction_when_ingested_as_a_message_then_it_is_counted_in_a_metric(
    deps: IngestDependencies,
) -> None:
    ingest_message(oioi(FINAL, 1), deps, "m-1")
    ingest_message(oioi(CORRECTED, 2), deps, "m-2")

    assert metric_count("CdrCorrection") == 1
    assert metric_count("CdrCreated") == 1


def test_given_a_poison_record_when_ingested_then_it_goes_to_the_dead_letter_queue_with_the_reason(
    deps: IngestDependencies, store: InMemoryCdrStore, dead_letters: InMemoryDeadLetters
) -> None:
    poison = oioi(session_post_text(session_id="  "))

    assert ingest_message(poison, deps, "m-7") is Outcome.REJECTED

    [(body, reason, message_id)] = dead_letters.messages
    assert CdrEnvelope.model_validate_json(body) == poison
    assert "session-id" in reason
    assert message_id == "m-7"
    assert store.items == {}
    assert metric_count("CdrRejected") == 1


def test_given_a_batch_when_a_record_is_rejected_after_an_ingested_one_then_its_log_line_has_only_its_ids(
    deps: IngestDependencies, log_output: io.StringIO
) -> None:
    ingest_message(oioi(FINAL), deps, "m-1")
    ingest_message(oioi(session_post_text(session_id="\u0000"), partner="other-cpo"), deps, "m-2")

    ingested, rejected = [json.loads(line) for line in log_output.getvalue().splitlines()]
    assert (ingested["message_id"], ingested["session_id"]) == ("m-1", "S-1")
    assert (rejected["message_id"], rejected["partner_id"]) == ("m-2", "other-cpo")
    assert "session_id" not in rejected  # never parsed, so none of its own, and not m-1's


class ThrottledStore(InMemoryCdrStore):
    """Every write throttled, batch or single (reads still answer)."""

    def put_if_advances(self, cdr: Cdr) -> PutResult:
        raise ConnectionError("ProvisionedThroughputExceededException")

    def write_all(self, writes: Sequence[RecordWrite]) -> list[Refused]:
        raise ConnectionError("ProvisionedThroughputExceededException")


def test_given_the_table_throttles_when_ingesting_then_the_error_propagates_not_dead_lettered() -> None:
    dead_letters = InMemoryDeadLetters()
    deps = IngestDependencies(
        store=ThrottledStore(), dead_letters=dead_letters, pseudonymise=pseudonymise_for_tests
    )

    with pytest.raises(ConnectionError):
        ingest_message(oioi(FINAL), deps, "m-1")
    assert dead_letters.messages == []  # retried by SQS, not parked


def test_given_two_partners_with_the_same_session_id_then_they_are_two_cdrs(store: InMemoryCdrStore) -> None:
    assert run(store, oioi(FINAL, partner="acme-cpo"), oioi(CORRECTED, partner="other-cpo")) == [
        Outcome.CREATED,
        Outcome.CREATED,
    ]


def test_given_a_drive_session_sent_by_poller_and_reconciliation_then_it_is_stored_once(
    store: InMemoryCdrStore,
) -> None:
    by_poller = drive(drive_session_text(balance="PROCESSING"), received=1)
    by_reconciliation = drive(drive_session_text(balance="PAID", receipt=True), received=90)

    assert run(store, by_poller, by_reconciliation) == [Outcome.CREATED, Outcome.DUPLICATE]


# --- every order of the same updates ----------------------------------------------------------


@st.composite
def updates(draw: st.DrawFn, max_finals: int) -> list[CdrEnvelope]:
    """Distinct updates of session S-1 (each received at its own minute), plus redeliveries."""
    ongoing = draw(st.integers(0, 5))
    finals = draw(st.lists(st.decimals(0, 500, places=2), max_size=max_finals, unique=True))
    minutes = draw(
        st.lists(
            st.integers(0, 10_000),
            min_size=ongoing + len(finals),
            max_size=ongoing + len(finals),
            unique=True,
        )
    )
    result = []
    for minute in minutes[:ongoing]:
        energy = draw(st.decimals(0, 100, places=3))
        charging_stop = draw(st.sampled_from([None, "2026-03-01T12:30:00+01:00", "2026-03-01T11:45:00Z"]))
        charging_start = draw(st.sampled_from([None, "2026-03-01T12:00:00+01:00"]))
        text = session_post_text(
            stop=None,
            charging_start=charging_start,
            charging_stop=charging_stop,
            energy=str(energy),
            cost=None,
        )
        result.append(oioi(text, minute))
    for minute, energy in zip(minutes[ongoing:], finals, strict=True):
        result.append(oioi(session_post_text(energy=str(energy)), minute))
    if result:
        result += draw(st.lists(st.sampled_from(result), max_size=4))  # SQS redeliveries
    return result


def final_items(envelopes: list[CdrEnvelope]) -> dict[tuple[str, str], dict[str, Any]]:
    store = InMemoryCdrStore()
    run(store, *envelopes)
    return store.items


@settings(max_examples=300, deadline=None)
@given(st.data(), updates(max_finals=1))
def test_any_order_of_the_same_updates_ends_in_the_same_table(
    data: st.DataObject, sent: list[CdrEnvelope]
) -> None:
    """With at most one final payload: byte-for-byte the same items whatever the order."""
    order = data.draw(st.permutations(sent))

    assert final_items(order) == final_items(sent)


@settings(max_examples=300, deadline=None)
@given(st.data(), updates(max_finals=3))
def test_any_order_keeps_every_final_payload_once_and_never_changes_a_final_record(
    data: st.DataObject, sent: list[CdrEnvelope]
) -> None:
    """With several final payloads, which one is the record depends on which came first (a final
    record is never overwritten); what is stored is the same: each distinct final exactly once."""
    order = data.draw(st.permutations(sent))
    store = InMemoryCdrStore()
    first_final: Cdr | None = None
    progress = ""
    for envelope in order:
        ingest(parse_cdr(envelope), store)
        now = current(store)
        assert now.progress >= progress, "the record never moves back"
        progress = now.progress
        if first_final is None and now.is_final:
            first_final = now
        if first_final is not None:
            assert now == first_final, "a final record is immutable"
    finals = {parse_cdr(e).payload_hash for e in sent if parse_cdr(e).is_final}
    stored_finals = [c.payload_hash for c in corrections(store)] + (
        [first_final.payload_hash] if first_final else []
    )
    assert sorted(stored_finals) == sorted(finals)


def test_given_threads_delivering_the_same_updates_concurrently_then_the_outcome_is_the_sequential_one() -> (
    None
):
    sent = [oioi(ONGOING_EARLY, 1), oioi(ONGOING_LATE, 2), oioi(FINAL, 3), oioi(CORRECTED, 4)]
    store = InMemoryCdrStore()
    outcomes: list[Outcome] = []
    barrier = threading.Barrier(8)

    def deliver(envelopes: list[CdrEnvelope]) -> None:
        barrier.wait()
        outcomes.extend(run(store, *envelopes))

    threads = [threading.Thread(target=deliver, args=(sent[i % 4 :] + sent[: i % 4],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert current(store) in (parse_cdr(sent[2]), parse_cdr(sent[3]))
    assert len(corrections(store)) == 1
    assert outcomes.count(Outcome.CORRECTION) == 1
    assert outcomes.count(Outcome.CREATED) == 1
