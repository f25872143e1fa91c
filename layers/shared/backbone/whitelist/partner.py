"""`RfidSender` on OIOI: rfid-post through the client from `backbone.partners.factory` (call
metrics attached), with the retry budget a whole-list replacement needs. A failed call becomes
`RfidPostFailed`, so the push audits it without knowing HTTP."""

from __future__ import annotations

import random
from collections.abc import Iterable

from backbone.partners.errors import PartnerError
from backbone.partners.oioi_client import OioiClient, RfidPostOutcome
from backbone.partners.retry import RetryPolicy
from backbone.whitelist.models import RfidPostFailed

# The documented budget (WHITELIST_RETRY_BUDGET_SECONDS, 120 s) bounds the retries of one
# rfid-post, not an attempt count: back-off capped at 20 s with "equal jitter" (at least half of
# the exponential delay, so the attempts cannot all bunch up in the first seconds), and the
# attempt cap only keeps a receiver that fails instantly from being hammered.
RFID_POST_MAX_ATTEMPTS = 30
RFID_POST_MAX_DELAY_SECONDS = 20.0


def equal_jitter(low: float, high: float) -> float:
    """Uniform in the upper half of [low, high]: spread out, but never close to no wait."""
    return random.uniform(low + (high - low) / 2, high)  # noqa: S311  (timing, not security)


def rfid_post_policy(budget_seconds: float) -> RetryPolicy:
    """Retries of one rfid-post within `budget_seconds`."""
    return RetryPolicy(
        max_attempts=RFID_POST_MAX_ATTEMPTS,
        max_delay=RFID_POST_MAX_DELAY_SECONDS,
        budget=budget_seconds,
        jitter=equal_jitter,
    )


class OioiRfidSender:
    def __init__(self, client: OioiClient) -> None:
        self.client = client

    def post_rfids(self, rfids: Iterable[str], partner_identifier: str) -> RfidPostOutcome:
        try:
            return self.client.post_rfids(rfids, partner_identifier)
        except PartnerError as error:
            raise RfidPostFailed(
                str(error),
                attempts=error.attempts,
                duration=error.duration,
                result_code=error.oioi_code,
                status=error.status,
            ) from error
