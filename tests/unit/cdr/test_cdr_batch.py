"""A batch of CDRs decided together (`ingest_batch`) ends where ingesting them one by one ends,
whatever the order, the batching and the writers racing it; a record that cannot be stored
fails alone. Against the in-memory table (DynamoDB's per-item and per-transaction atomicity)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from cdrfactory import oioi, session_post_text
from cdrfakes import InMemoryCdrStore
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cdr_merge import CORRECTED, FINAL, ONGOING_EARLY, ONGOING_LATE, corrections, current, updates

from backbone.cdr.envelope import CdrEnvelope
from backbone.cdr.ingest import Outcome, ingest, ingest_batch
from backbone.cdr.models import Cdr, PutResult, RecordKind, RecordWrite, Refused
from backbone.cdr.parse import parse_cdr


def one_by_one(envelopes: Sequence[CdrEnvelope]) -> dict[tuple[str, str], dict[str, Any]]:
    store = InMemoryCdrStore()
    for envelope in envelopes:
        ingest(parse_cdr(envelope), store)
    return store.items


def in_batches(store: InMemoryCdrStore, envelopes: Sequence[CdrEnvelope], cuts: Sequence[int]) -> list[Any]:
    """Deliver `envelopes` as SQS would in batches split at `cuts`; every outcome, in order."""
    bounds = [0, *sorted({cut % (len(envelopes) + 1) for cut in cuts}), len(envelopes)]
    results: list[Any] = []
    for start, end in pairwise(bounds):
        results += ingest_batch([parse_cdr(envelope) for envelope in envelopes[start:end]], store)
    return results


@settings(max_examples=300, deadline=None)
@given(st.data(), updates(max_finals=1))
def test_any_order_and_batching_ends_in_the_table_one_by_one_ingestion_ends_in(
    data: st.DataObject, sent: list[CdrEnvelope]
) -> None:
    order = data.draw(st.permutations(sent))
    cuts = data.draw(st.lists(st.integers(0, 50), max_size=4))
    store = InMemoryCdrStore()

    results = in_batches(store, order, cuts)

    assert store.items == one_by_one(sent)
    assert not [result for result in results if isinstance(result, Exception)]


@settings(max_examples=300, deadline=None)
@given(st.data(), updates(max_finals=3))
def test_any_batching_keeps_every_final_payload_once_and_the_first_stored_final_unchanged(
    data: st.DataObject, sent: list[CdrEnvelope]
) -> None:
    order = data.draw(st.permutations(sent))
    cuts = data.draw(st.lists(st.integers(0, 50), max_size=4))
    store = InMemoryCdrStore()
    first_final: Cdr | None = None
    bounds = [0, *sorted({cut % (len(order) + 1) for cut in cuts}), len(order)]
    for start, end in pairwise(bounds):
        ingest_batch([parse_cdr(envelope) for envelope in order[start:end]], store)
        if store.items:
            now = current(store)
            first_final = first_final or (now if now.is_final else None)
            assert first_final is None or now == first_final, "a final record is immutable"

    finals = {parse_cdr(e).payload_hash for e in sent if parse_cdr(e).is_final}
    stored = [c.payload_hash for c in corrections(store)] + (
        [first_final.payload_hash] if first_final else []
    )
    assert sorted(stored) == sorted(finals)


def test_given_a_new_session_when_its_updates_and_final_arrive_in_one_batch_then_one_write_stores_the_final(
    store: InMemoryCdrStore,
) -> None:
    sent = [oioi(FINAL, 3), oioi(ONGOING_LATE, 2), oioi(ONGOING_EARLY, 1)]

    outcomes = ingest_batch([parse_cdr(envelope) for envelope in sent], store)

    # as if ingested in progress order: the early update, the later one, then the final
    assert outcomes == [Outcome.COMPLETED, Outcome.ADVANCED, Outcome.CREATED]
    assert store.writes == 1
    assert current(store) == parse_cdr(sent[0])


def test_given_a_batch_delivered_again_then_nothing_is_written_and_every_record_is_a_duplicate(
    store: InMemoryCdrStore,
) -> None:
    batch = [parse_cdr(oioi(FINAL, 1)), parse_cdr(oioi(CORRECTED, 2)), parse_cdr(oioi(FINAL, partner="b"))]
    first = ingest_batch(batch, store)
    items, writes = dict(store.items), store.writes

    again = ingest_batch(batch, store)

    assert first == [Outcome.CREATED, Outcome.CORRECTION, Outcome.CREATED]
    assert again == [Outcome.DUPLICATE] * 3
    assert (store.items, store.writes) == (items, writes)


class RacedStore(InMemoryCdrStore):
    """Another delivery stores `racer` just before this batch's first write lands."""

    def __init__(self, racer: Cdr) -> None:
        super().__init__()
        self.racer: Cdr | None = racer

    def write_all(self, writes: Sequence[RecordWrite]) -> list[Refused]:
        if self.racer is not None:
            ingest(self.racer, self)
            self.racer = None
        return super().write_all(writes)


def test_given_another_writer_stores_a_final_first_then_the_batch_never_overwrites_it() -> None:
    theirs, ours = parse_cdr(oioi(FINAL, 1)), parse_cdr(oioi(CORRECTED, 2))
    store = RacedStore(racer=theirs)

    outcomes = ingest_batch([ours, parse_cdr(oioi(ONGOING_LATE, 3))], store)

    assert outcomes == [Outcome.CORRECTION, Outcome.AFTER_FINAL]
    assert current(store) == theirs
    assert [c.payload_hash for c in corrections(store)] == [ours.payload_hash]


def test_given_another_writer_advances_an_ongoing_session_first_then_the_batch_moves_it_further() -> None:
    store = RacedStore(racer=parse_cdr(oioi(ONGOING_EARLY, 1)))

    assert ingest_batch([parse_cdr(oioi(ONGOING_LATE, 2))], store) == [Outcome.ADVANCED]
    assert current(store).energy_kwh == parse_cdr(oioi(ONGOING_LATE, 2)).energy_kwh


class OneUnstorableStore(InMemoryCdrStore):
    """The table refuses any write of session `bad` (an item it rejects as invalid): a batch
    write holding it fails whole, its single write fails alone."""

    def write_all(self, writes: Sequence[RecordWrite]) -> list[Refused]:
        if any(write.cdr.session_id == "bad" for write in writes):
            raise ValueError("ValidationException: item too large")
        return super().write_all(writes)

    def put_if_advances(self, cdr: Cdr) -> PutResult:
        if cdr.session_id == "bad":
            raise ValueError("ValidationException: item too large")
        return super().put_if_advances(cdr)


def test_given_one_record_the_table_refuses_then_it_alone_fails_and_the_rest_are_stored() -> None:
    store = OneUnstorableStore()
    batch = [parse_cdr(oioi(session_post_text(session))) for session in ("S-a", "bad", "S-b")]

    outcomes = ingest_batch(batch, store)

    assert outcomes[0] is Outcome.CREATED
    assert isinstance(outcomes[1], ValueError)
    assert outcomes[2] is Outcome.CREATED
    assert {pk for pk, _ in store.items} == {"acme-cpo#S-a", "acme-cpo#S-b"}


def test_given_more_sessions_than_one_batch_write_holds_then_they_are_split_and_all_stored(
    store: InMemoryCdrStore,
) -> None:
    batch = [parse_cdr(oioi(session_post_text(f"S-{n}"))) for n in range(250)]

    outcomes = ingest_batch(batch, store)

    assert outcomes == [Outcome.CREATED] * 250
    assert len(store.items) == 250
    assert all(item["kind"] == RecordKind.CDR for item in store.items.values())
