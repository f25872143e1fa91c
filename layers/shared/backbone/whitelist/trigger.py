"""What WhitelistPushFunction is asked to do, doing it, and the metrics of the answer. Pure:
the push's data access comes in `WhitelistDependencies`.

Events:
- EventBridge "Scheduled Event" (WhitelistSchedule): a scheduled push.
- `{"trigger": "manual", "override": false, "reason": "..."}` (direct invoke, `bbctl whitelist push`).
- `{"trigger": "probe"}` (WhitelistAgeProbeRule, every 15 minutes): publish the age of the last
  success, so its alarm sees data whatever the push schedule is; and if the latest attempt
  FAILED, push again (trigger `retry`) until one succeeds or an operator's push ends it.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError

from backbone.observability import MetricUnit, bind_correlation, logger, metrics
from backbone.whitelist.models import Outcome, PushAttempt, PushRequest
from backbone.whitelist.ports import WhitelistDependencies
from backbone.whitelist.push import last_success_age, push_whitelist, retry_due

RECENT_ATTEMPTS = 10
"""Attempts the probe reads to decide a retry (LOCKED ones are skipped)."""


class InvalidTrigger(ValueError):
    """The event is neither a schedule, a probe nor a valid manual trigger."""


def handle_event(event: Any, deps: WhitelistDependencies, request_id: str | None = None) -> dict[str, Any]:
    """Run what `event` asks for and return the answer (the audit record for a push)."""
    if isinstance(event, dict) and event.get("trigger") == "probe":
        if not retry_due(deps.audit.history(limit=RECENT_ATTEMPTS)):
            age = last_success_age(deps.audit, deps.clock())
            publish_age(age)
            return {"trigger": "probe", "lastSuccessAgeSeconds": age}
        request = PushRequest(trigger="retry", reason="the latest push failed; retried by the probe")
    else:
        request = parse_trigger(event)
    attempt_id = request_id or str(uuid.uuid4())
    bind_correlation(push_attempt=attempt_id, trigger=request.trigger)
    attempt = push_whitelist(request, deps, attempt_id=attempt_id)
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
