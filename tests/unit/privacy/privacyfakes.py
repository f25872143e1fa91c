"""In-memory fakes of the retention purge's ports (backbone.privacy.ports)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from backbone.privacy.ports import BillableRef, FinishedOrder, LegacyCdr, LegacyPage


@dataclass
class FakeCdr:
    pk: str
    driver_id: str | None
    driver_hash: str | None
    billing_day: date | None
    driver_key: str | None = None
    status: str = "FINAL"
    received_at: datetime | None = None
    pseudonymised_at: datetime | None = None
    fail: bool = False


class FakeCdrIdentities:
    def __init__(self, *cdrs: FakeCdr, page_size: int = 2) -> None:
        self.cdrs = {cdr.pk: cdr for cdr in cdrs}
        self.page_size = page_size
        self.days_queried: list[date] = []

    def billable_on(self, day: date) -> Iterator[BillableRef]:
        self.days_queried.append(day)
        for cdr in self.cdrs.values():
            if cdr.billing_day == day:
                yield BillableRef(cdr.pk, "CDR", cdr.driver_hash)

    def pseudonymise(self, ref: BillableRef, pseudonym: str, at: datetime) -> bool:
        cdr = self.cdrs[ref.pk]
        if cdr.fail:
            raise RuntimeError("throttled")
        if cdr.driver_id is None or cdr.driver_id == pseudonym:
            return False
        cdr.driver_id, cdr.pseudonymised_at = pseudonym, at
        return True

    def _unindexed(self) -> list[FakeCdr]:
        return [
            cdr
            for cdr in self.cdrs.values()
            if cdr.driver_key is not None
            and (cdr.driver_hash is None or (cdr.billing_day is None and cdr.driver_id != cdr.driver_hash))
        ]

    def legacy_page(self, start: Mapping[str, Any] | None) -> LegacyPage:
        keys = sorted(self.cdrs)
        first = keys.index(start["pk"]) + 1 if start else 0
        window = keys[first : first + self.page_size]
        found = [cdr for cdr in self._unindexed() if cdr.pk in window]
        items = [
            LegacyCdr(cdr.pk, "CDR", cdr.driver_key or "", cdr.driver_hash, cdr.status, cdr.received_at)  # type: ignore[arg-type]
            for cdr in found
        ]
        more = first + self.page_size < len(keys)
        return LegacyPage(items, {"pk": window[-1], "sk": "CDR"} if more else None)

    def migrate_legacy(self, item: LegacyCdr, pseudonym: str, pseudonymise_at: datetime | None) -> bool:
        cdr = self.cdrs[item.pk]
        if cdr.fail:
            raise RuntimeError("throttled")
        new_key = f"{item.driver_key.split('#', 1)[0]}#{pseudonym}"
        changed = cdr.driver_key != new_key or cdr.driver_hash != pseudonym
        cdr.driver_key, cdr.driver_hash = new_key, pseudonym
        if pseudonymise_at is not None and cdr.driver_id != pseudonym:
            cdr.driver_id, cdr.pseudonymised_at, changed = pseudonym, pseudonymise_at, True
        return changed


@dataclass
class FakeOrders:
    orders: list[FinishedOrder] = field(default_factory=list)
    blanked: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def finished_before(self, cutoff: datetime) -> Iterator[FinishedOrder]:
        yield from (order for order in self.orders if order.updated_at <= cutoff)

    def blank(self, order: FinishedOrder, address: dict[str, str], at: datetime) -> bool:
        self.blanked.append((order.key, address))
        self.orders = [replace(o, address=address) if o.key == order.key else o for o in self.orders]
        return True


@dataclass
class FakeCheckpoints:
    values: dict[str, dict[str, Any]] = field(default_factory=dict)

    def get(self, name: str) -> dict[str, Any] | None:
        return self.values.get(name)

    def put(self, name: str, value: dict[str, Any], at: datetime) -> None:
        self.values[name] = dict(value)
