"""Cursor pagination: follows cursors, stops when there is none, never loops forever."""

from __future__ import annotations

import pytest

from backbone.partners.errors import PartnerError, RepeatedCursor
from backbone.partners.pagination import Page, iter_pages, paginate


class FakePages:
    """Pages keyed by the cursor that fetches them; records the cursors asked for."""

    def __init__(self, pages: dict[str | None, Page[int]]) -> None:
        self.pages = pages
        self.asked: list[str | None] = []

    def __call__(self, cursor: str | None) -> Page[int]:
        self.asked.append(cursor)
        return self.pages[cursor]


def test_given_three_pages_when_paginating_then_all_items_come_in_order() -> None:
    fetch = FakePages({None: Page([1, 2], "c1"), "c1": Page([3], "c2"), "c2": Page([4, 5])})
    assert list(paginate(fetch)) == [1, 2, 3, 4, 5]
    assert fetch.asked == [None, "c1", "c2"]


@pytest.mark.parametrize("last_cursor", [None, ""])
def test_given_a_page_without_cursor_when_paginating_then_it_stops(last_cursor: str | None) -> None:
    fetch = FakePages({None: Page([1], "c1"), "c1": Page([2], last_cursor)})
    assert list(paginate(fetch)) == [1, 2]
    assert fetch.asked == [None, "c1"]


def test_given_an_empty_page_with_a_cursor_when_paginating_then_it_goes_on() -> None:
    fetch = FakePages({None: Page([], "c1"), "c1": Page([7])})
    assert list(paginate(fetch)) == [7]


def test_given_a_cursor_that_comes_back_when_paginating_then_it_raises_instead_of_looping() -> None:
    fetch = FakePages({None: Page([1], "c1"), "c1": Page([2], "c2"), "c2": Page([3], "c1")})
    with pytest.raises(RepeatedCursor) as raised:
        list(paginate(fetch))
    assert isinstance(raised.value, PartnerError)
    assert fetch.asked == [None, "c1", "c2"]


def test_given_a_page_pointing_at_itself_when_resuming_from_it_then_it_raises() -> None:
    fetch = FakePages({"c5": Page([1], "c5")})
    with pytest.raises(RepeatedCursor):
        list(paginate(fetch, "c5"))
    assert fetch.asked == ["c5"]


def test_given_a_checkpoint_when_iterating_pages_then_each_page_exposes_the_next_cursor() -> None:
    fetch = FakePages({"c1": Page([3], "c2"), "c2": Page([4])})
    pages = list(iter_pages(fetch, "c1"))
    assert [(page.items, page.cursor, page.is_last) for page in pages] == [
        ([3], "c2", False),
        ([4], None, True),
    ]
