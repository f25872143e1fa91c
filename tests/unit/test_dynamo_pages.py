"""Paginated DynamoDB reads follow LastEvaluatedKey to the end, and only to the end."""

from __future__ import annotations

from typing import Any

from backbone.aws.pages import items, pages


class FakeTable:
    """Answers a query in pages of two, as DynamoDB does with a Limit."""

    def __init__(self, rows: list[int]) -> None:
        self.rows = rows
        self.calls: list[dict[str, Any]] = []

    def query(self, **arguments: Any) -> dict[str, Any]:
        self.calls.append(dict(arguments))
        start = arguments.get("ExclusiveStartKey", {"n": -1})["n"] + 1
        chunk = self.rows[start : start + 2]
        page: dict[str, Any] = {"Items": [{"n": n} for n in chunk]}
        if start + 2 < len(self.rows):
            page["LastEvaluatedKey"] = {"n": chunk[-1]}
        return page


def test_given_five_items_in_pages_of_two_when_read_then_every_item_once_in_order() -> None:
    table = FakeTable(list(range(5)))
    assert [item["n"] for item in items(table.query, IndexName="ByState")] == [0, 1, 2, 3, 4]
    assert len(table.calls) == 3
    assert all(call["IndexName"] == "ByState" for call in table.calls)


def test_given_an_empty_table_when_paged_then_one_empty_page_and_one_call() -> None:
    table = FakeTable([])
    assert list(pages(table.query)) == [[]]
    assert len(table.calls) == 1
