"""Reads that follow `LastEvaluatedKey` (every page of a Query or Scan, in order), and items
by key in batches (what a keys-only index query leads to)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
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


BATCH_GET_LIMIT = 100  # keys per BatchGetItem call
_BATCH_GET_ROUNDS = 8


def batch_get(
    client: Any, table: str, keys: Sequence[Mapping[str, Any]], *, key_names: Sequence[str] = ("pk", "sk")
) -> list[dict[str, Any]]:
    """The items at `keys` (attribute-value form, as an index query returns them), read strongly
    consistent with BatchGetItem, in the order of `keys`; keys without an item are left out.
    `UnprocessedKeys` are asked again with a growing pause; still unprocessed after that raises."""

    def identity(item: Mapping[str, Any]) -> str:
        return json.dumps([item[name] for name in key_names], sort_keys=True)

    wanted = {identity(key): {name: key[name] for name in key_names} for key in keys}
    found: dict[str, dict[str, Any]] = {}
    pending = list(wanted.values())
    for start in range(0, len(pending), BATCH_GET_LIMIT):
        request: dict[str, Any] = {
            table: {"Keys": pending[start : start + BATCH_GET_LIMIT], "ConsistentRead": True}
        }
        for round_ in range(_BATCH_GET_ROUNDS):
            answer = client.batch_get_item(RequestItems=request)
            found.update((identity(item), dict(item)) for item in answer.get("Responses", {}).get(table, []))
            request = dict(answer.get("UnprocessedKeys") or {})
            if not request:
                break
            time.sleep(0.05 * 2**round_)
        if request:
            raise RuntimeError(f"{table}: BatchGetItem left keys unprocessed; try again")
    return [found[name] for name in wanted if name in found]
