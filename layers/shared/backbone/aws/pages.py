"""Reads that follow `LastEvaluatedKey`: every page of a Query or Scan, in order."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

Read = Callable[..., Mapping[str, Any]]


def pages(read: Read, **arguments: Any) -> Iterator[list[dict[str, Any]]]:
    """The items of each page of a Query or Scan (`table.query`, `client.scan`...), in order."""
    while True:
        page = read(**arguments)
        yield list(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def items(read: Read, **arguments: Any) -> Iterator[dict[str, Any]]:
    """Every item of a Query or Scan, page after page."""
    for page in pages(read, **arguments):
        yield from page
