"""The receiver's side of partner health: note each accepted message, cheaply and harmlessly.

At most one write per partner, family and minute per warm receiver instance (`rule.RECORD_EVERY`),
remembered in memory; the store's conditional write keeps a slower instance from moving a time
back. Whatever goes wrong here is logged and forgotten: a partner's answer never depends on it.
"""

from __future__ import annotations

from datetime import datetime

from backbone.observability import logger
from backbone.partner_health.ports import ActivityWriter
from backbone.partner_health.rule import Family, due, family_of


class ActivityRecorder:
    def __init__(self, writer: ActivityWriter | None) -> None:
        self._writer = writer
        self._written: dict[tuple[str, Family], datetime] = {}

    def note(self, partner_id: str, message: str, at: datetime) -> None:
        """An accepted message (HTTP 200) of `partner_id`. Never raises."""
        try:
            family = family_of(message)
            if self._writer is None or family is None or not due(self._written.get((partner_id, family)), at):
                return
            # Remembered before writing: a failing store is tried again in a minute, not on
            # every message (each attempt would add its timeout to a partner's wait).
            self._written[(partner_id, family)] = at
            self._writer.record(partner_id, family, at)
        except Exception:
            logger.warning("partner activity not recorded", exc_info=True)


DISABLED = ActivityRecorder(None)
"""For a receiver without the activity table configured: notes nothing."""
