"""What the billing-events logic needs (`backbone.billing.publish`), and the bundle the handler
passes it. AWS implementation: `backbone.billing.aws`; built in `backbone.billing.wiring`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from backbone.billing.events import BillingEvent


class BillingBus(Protocol):
    def put(self, events: Sequence[BillingEvent]) -> list[str | None]:
        """Publish one call's worth of events (`events.batches`: at most 10 entries, 256 KB).

        Returns, per event in order, None when the bus accepted it, else why it did not
        (EventBridge's per-entry error). Raises `PublishFailed` when the call itself failed."""
        ...


@dataclass(frozen=True)
class BillingEventsDependencies:
    bus: BillingBus
