"""What an EMP order's status at Plugsurfing lets us do with it: fulfil, wait or skip.

The EMP API documents one status (`ORDER_ASSIGNED`, 001); the Charging Keys API lists the order
states of the same product (`ORDER_*`, 003) and shows `ORDER_FREE_OF_CHARGE` in an example, outside
its own list. Every status is decided here, in one table (published in docs/key-orders.md, a unit
test keeps the two equal):

- fulfil: keys are claimed, created and the order assigned;
- wait: the order is held (`ON_HOLD`) and looked at again by every crawl until its status allows
  fulfilment or says skip, for at most `ORDER_HOLD_MAX_SECONDS` (then FAILED, alarm);
- skip: never fulfilled (`SKIPPED`); keys it had claimed are released.

A status not in the table waits: shipping keys for an order we cannot read is the costly mistake,
and a held order is re-read every crawl, so a table update lets it continue. It is counted
(`OrdersUnknownStatus`, alarm) so somebody decides it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class Handling(StrEnum):
    FULFIL = "fulfil"
    WAIT = "wait"
    SKIP = "skip"


EMP_ORDER_STATUSES: Mapping[str, Handling] = MappingProxyType(
    {
        "ORDER_PAID": Handling.FULFIL,
        # Not in the documented list, shown in the spec's example: nothing is owed, so it is as
        # good as paid (decided, not guessed: docs/key-orders.md).
        "ORDER_FREE_OF_CHARGE": Handling.FULFIL,
        "ORDER_PLACED": Handling.WAIT,
        "ORDER_PROCESSING": Handling.WAIT,
        # The customer may pay again; the hold bound ends the wait if nobody does.
        "ORDER_PAYMENT_FAILED": Handling.WAIT,
        "ORDER_ASSIGNED": Handling.SKIP,
        "ORDER_FILLED": Handling.SKIP,
        "ORDER_CANCELLED": Handling.SKIP,
        "ORDER_REFUNDED": Handling.SKIP,
        # A refund was started: the order was called off, whatever happened to the money.
        "ORDER_REFUND_FAILED": Handling.SKIP,
    }
)
UNKNOWN_HANDLING = Handling.WAIT
"""For a status the table does not list (and for an order without a status)."""


def normalised(status: str | None) -> str | None:
    return status.strip().upper() if status and status.strip() else None


def is_known(status: str | None) -> bool:
    return normalised(status) in EMP_ORDER_STATUSES


def handling_of(status: str | None) -> Handling:
    """The table's verdict for `status` (case-insensitive); unknown or missing: wait."""
    key = normalised(status)
    return EMP_ORDER_STATUSES.get(key, UNKNOWN_HANDLING) if key else UNKNOWN_HANDLING
