"""Cursor pagination (EMP keys and orders): follow `cursor` until the partner omits it.

A cursor seen twice raises `RepeatedCursor` instead of looping forever. `iter_pages` yields whole
pages so a crawler can checkpoint `page.cursor` between them and resume from it later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from backbone.partners.errors import RepeatedCursor

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results; `cursor` fetches the next one (None or "" on the last page)."""

    items: list[T]
    cursor: str | None = None

    @property
    def is_last(self) -> bool:
        return not self.cursor


FetchPage = Callable[[str | None], Page[T]]


def iter_pages(fetch_page: FetchPage[T], cursor: str | None = None) -> Iterator[Page[T]]:
    """Pages from `cursor` (None: the first page) until one comes without a cursor."""
    seen: set[str | None] = {cursor} if cursor else set()
    while True:
        page = fetch_page(cursor)
        yield page
        if page.is_last:
            return
        if page.cursor in seen:
            raise RepeatedCursor(f"cursor {page.cursor!r} was already returned; stopping pagination")
        seen.add(page.cursor)
        cursor = page.cursor


def paginate(fetch_page: FetchPage[T], cursor: str | None = None) -> Iterator[T]:
    """Every item of every page, in order."""
    for page in iter_pages(fetch_page, cursor):
        yield from page.items
