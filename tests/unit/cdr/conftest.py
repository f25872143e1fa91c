"""CDR unit fixtures: in-memory table and dead-letter queue, metrics reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cdrfakes import InMemoryCdrStore, InMemoryDeadLetters, pseudonymise_for_tests

from backbone.cdr.ports import IngestDependencies
from backbone.observability import metrics


@pytest.fixture(autouse=True)
def _fresh_metrics() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


@pytest.fixture
def store() -> InMemoryCdrStore:
    return InMemoryCdrStore()


@pytest.fixture
def dead_letters() -> InMemoryDeadLetters:
    return InMemoryDeadLetters()


@pytest.fixture
def deps(store: InMemoryCdrStore, dead_letters: InMemoryDeadLetters) -> IngestDependencies:
    return IngestDependencies(store=store, dead_letters=dead_letters, pseudonymise=pseudonymise_for_tests)
