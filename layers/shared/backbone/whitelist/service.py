"""Entry point of WhitelistPushFunction: read the event, build the data access once per process
from settings, run the logic, publish the metrics. The handler makes exactly one call into here.

Events:
- EventBridge "Scheduled Event" (WhitelistSchedule): a scheduled push.
- `{"trigger": "manual", "override": false, "reason": "..."}` (direct invoke, `bbctl whitelist push`).
- `{"trigger": "probe"}` (WhitelistAgeProbeRule, every 15 minutes): publish the age of the last
  success, so its alarm sees data whatever the push schedule is; and if the latest attempt
  FAILED, push again (trigger `retry`) until one succeeds or an operator's push ends it.
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from backbone.aws.secrets import get_partner_identifier
from backbone.keys.store import key_store
from backbone.observability import MetricUnit, bind_correlation, logger, metrics
from backbone.partners.factory import oioi_client
from backbone.partners.oioi_client import OioiClient
from backbone.partners.retry import RetryPolicy
from backbone.timeutil import utc_now
from backbone.whitelist.logic import Dependencies, PushConfig, last_success_age, push_whitelist, retry_due
from backbone.whitelist.models import Outcome, PushAttempt, PushRequest
from backbone.whitelist.settings import WhitelistPushSettings
from backbone.whitelist.store import audit_store

# The documented budget (WHITELIST_RETRY_BUDGET_SECONDS, 120 s) bounds the retries of one
# rfid-post, not an attempt count: back-off capped at 20 s with "equal jitter" (at least half of
# the exponential delay, so the attempts cannot all bunch up in the first seconds), and the
# attempt cap only keeps a receiver that fails instantly from being hammered.
RFID_POST_MAX_ATTEMPTS = 30
RFID_POST_MAX_DELAY_SECONDS = 20.0
RECENT_ATTEMPTS = 10
"""Attempts the probe reads to decide a retry (LOCKED ones are skipped)."""


def equal_jitter(low: float, high: float) -> float:
    """Uniform in the upper half of [low, high]: spread out, but never close to no wait."""
    return random.uniform(low + (high - low) / 2, high)  # noqa: S311  (timing, not security)


class InvalidTrigger(ValueError):
    """The event is neither a schedule, a probe nor a valid manual trigger."""


def handle_event(
    event: Any, settings: WhitelistPushSettings, request_id: str | None = None
) -> dict[str, Any]:
    """Run what `event` asks for and return the answer (the audit record for a push)."""
    if isinstance(event, dict) and event.get("trigger") == "probe":
        audit = audit_store(settings.whitelist_audit_table)
        if not retry_due(audit.history(limit=RECENT_ATTEMPTS)):
            age = last_success_age(audit, utc_now())
            publish_age(age)
            return {"trigger": "probe", "lastSuccessAgeSeconds": age}
        request = PushRequest(trigger="retry", reason="the latest push failed; retried by the probe")
    else:
        request = parse_trigger(event)
    attempt_id = request_id or str(uuid.uuid4())
    bind_correlation(push_attempt=attempt_id, trigger=request.trigger)
    attempt = push_whitelist(
        request,
        Dependencies(
            keys=key_store(settings.charging_keys_table),
            audit=audit_store(settings.whitelist_audit_table),
            sender=rfid_client(settings),
        ),
        PushConfig(
            partner_identifier=get_partner_identifier(settings.oioi_partner_identifier_secret),
            policy=settings.guard_policy(),
            lock_ttl=timedelta(seconds=settings.whitelist_lock_seconds),
            page_size=settings.whitelist_page_size,
        ),
        now=utc_now(),
        attempt_id=attempt_id,
    )
    publish(attempt)
    logger.info(
        "whitelist push",
        extra={"outcome": attempt.outcome, "count": attempt.count, "detail": attempt.message},
    )
    return attempt.model_dump(by_alias=True, mode="json", exclude_none=True)


def parse_trigger(event: Any) -> PushRequest:
    """A scheduled event (EventBridge envelope) or a manual trigger object."""
    if isinstance(event, dict) and (
        event.get("detail-type") == "Scheduled Event" or event.get("source") == "aws.events"
    ):
        return PushRequest(trigger="schedule")
    try:
        return PushRequest.model_validate(event if isinstance(event, dict) else {})
    except ValidationError as error:
        problems = "; ".join(str(item["msg"]) for item in error.errors())
        expected = '{"trigger": "manual", "override": false, "reason": "..."}'
        raise InvalidTrigger(f"invalid trigger: {problems}; expected {expected}") from None


def publish(attempt: PushAttempt) -> None:
    """Metrics of one attempt (EMF): size, invalid UIDs, refusals, failures, age of last success."""
    if attempt.count is not None:
        metrics.add_metric(name="WhitelistSize", unit=MetricUnit.Count, value=attempt.count)
        metrics.add_metric(name="WhitelistInvalidUids", unit=MetricUnit.Count, value=attempt.invalid_count)
        metrics.add_metric(
            name="WhitelistDuplicateUids", unit=MetricUnit.Count, value=attempt.duplicate_count
        )
    metrics.add_metric(name="WhitelistPushRefused", unit=MetricUnit.Count, value=int(attempt.outcome.refused))
    metrics.add_metric(
        name="WhitelistPushFailed", unit=MetricUnit.Count, value=int(attempt.outcome is Outcome.FAILED)
    )
    publish_age(attempt.last_success_age_seconds)


def publish_age(age: float | None) -> None:
    """No value when there never was a success: the alarm treats missing data as breaching."""
    if age is not None:
        metrics.add_metric(name="WhitelistLastSuccessAgeSeconds", unit=MetricUnit.Seconds, value=age)


def rfid_client(settings: WhitelistPushSettings) -> OioiClient:
    """The OIOI client with a longer read timeout and retry budget: the receiver replaces a whole
    list per call."""
    return oioi_client(
        settings,
        RetryPolicy(
            max_attempts=RFID_POST_MAX_ATTEMPTS,
            max_delay=RFID_POST_MAX_DELAY_SECONDS,
            budget=settings.whitelist_retry_budget_seconds,
            jitter=equal_jitter,
        ),
        settings.whitelist_read_timeout_seconds,
    )
