"""Queue messages that must wait come back later, never dropped: shared by the EMP fulfilment and
the Drive order consumers."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from backbone.observability import logger
from backbone.orders.errors import RetryLater
from backbone.orders.ports import Redelivery


def lease_owner(label: str) -> str:
    """A lease holder id unique to this attempt (a message may be delivered twice at once); the
    label (message or request id) makes it readable in logs."""
    return f"{label}:{uuid.uuid4().hex[:12]}"


@contextmanager
def redelivered_later(
    queue: Redelivery, receipt_handle: str, receive_count: int, backoff: Callable[[int], int]
) -> Iterator[None]:
    """Turn `RetryLater` into a hidden message: visibility = the error's delay, else the back-off
    for this receive count. Re-raised, so the batch reports the record failed (never deleted)."""
    try:
        yield
    except RetryLater as later:
        wanted = backoff(receive_count) if later.delay_seconds is None else later.delay_seconds
        delay = queue.redeliver_in(receipt_handle, wanted)
        logger.info("message comes back later", extra={"reason": later.reason, "delay_s": delay})
        raise
