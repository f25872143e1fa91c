"""Progress of long operator commands on stderr, so a person sees them moving and stdout stays
what scripts parse.

    with Progress("keys written", total=10_000) as progress:
        count_calls(table.meta.client, "TransactWriteItems", progress, lambda p: len(p["TransactItems"]))
        ...

On a terminal the line is rewritten in place; otherwise (a log, a pipe) one line is printed at
most every `interval` seconds, and a last one with the final count (none if nothing was
counted). `count_calls` counts through boto3's event hooks, so the layer's code that makes the
calls is used unchanged.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, Self, TextIO, TypeVar

T = TypeVar("T")


class Progress:
    def __init__(
        self,
        what: str,
        total: int | None = None,
        *,
        stream: TextIO | None = None,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what, self.total, self.count = what, total, 0
        self._stream = stream if stream is not None else sys.stderr
        self._interval, self._clock = interval, clock
        self._last = clock()
        self._inline = bool(getattr(self._stream, "isatty", lambda: False)())
        self._shown = False

    def advance(self, count: int = 1) -> None:
        self.count += count
        now = self._clock()
        if now - self._last >= self._interval:
            self._last = now
            self._show()

    def iterate(self, items: Iterable[T]) -> Iterator[T]:
        for item in items:
            yield item
            self.advance()

    def finish(self) -> None:
        self._show(final=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.count or self._shown:  # nothing counted (a move task, an empty queue): say nothing
            self.finish()

    def _show(self, final: bool = False) -> None:
        of = f"/{self.total}" if self.total is not None else ""
        text = f"{self.what}: {self.count}{of}{' done' if final else ''}"
        if self._inline:
            self._stream.write(f"\r{text}" + ("\n" if final else ""))
        else:
            self._stream.write(text + "\n")
        self._stream.flush()
        self._shown = True


def count_calls(
    client: Any,
    operation: str,
    progress: Progress,
    units: Callable[[Mapping[str, Any]], int] = lambda params: 1,
) -> None:
    """Advance `progress` by `units(params)` after each successful `operation` of a boto3 client."""
    service = client.meta.service_model.service_id.hyphenize()
    pending: list[int] = []

    def before(params: Mapping[str, Any], **_: Any) -> None:
        pending.append(units(params))

    def after(http_response: Any, **_: Any) -> None:
        done = pending.pop() if pending else 0
        if 200 <= int(getattr(http_response, "status_code", 0)) < 300:
            progress.advance(done)

    client.meta.events.register(f"provide-client-params.{service}.{operation}", before)
    client.meta.events.register(f"after-call.{service}.{operation}", after)
