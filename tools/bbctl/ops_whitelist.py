"""Operator side of the whitelist push (`bbctl whitelist ...`): trigger the function, read and
present the audit. The CLI only parses arguments and prints what these return."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from backbone.timeutil import to_storage
from backbone.whitelist.aws import AuditStore
from backbone.whitelist.models import Outcome, PushAttempt, PushRequest
from backbone.whitelist.push import IN_PROGRESS

OK_OUTCOMES = frozenset({Outcome.SENT, Outcome.SKIPPED_UNCHANGED})


class PushNotRun(RuntimeError):
    """The function did not produce an attempt (busy, or it failed before auditing)."""


def invoke_push(lambda_client: Any, function_name: str, request: PushRequest) -> PushAttempt:
    """Run WhitelistPushFunction synchronously with a manual trigger; its audit record.

    Reserved concurrency 1 makes Lambda throttle a second concurrent invoke before our code runs,
    so a throttle means another push is running (the lock item gives the same answer inside).
    """
    event = request.model_dump(by_alias=True, exclude_none=True)
    try:
        response = lambda_client.invoke(
            FunctionName=function_name, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "TooManyRequestsException":
            raise PushNotRun(
                f"{IN_PROGRESS}: the push function is busy; see `bbctl whitelist history`"
            ) from None
        raise
    payload = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError") or not isinstance(payload, dict):
        message = payload.get("errorMessage") if isinstance(payload, dict) else payload
        raise PushNotRun(f"the push function failed: {message}")
    return PushAttempt.model_validate(payload)


def find_attempts(store: AuditStore, which: str) -> list[PushAttempt]:
    """`last` (newest attempt), `last-success` (the list the receiver has), or a time prefix."""
    if which == "last":
        return store.history(limit=1)
    if which == "last-success":
        last = store.last_success()
        return store.find(last.audit_key) if last else []
    return store.find(which)


def describe(attempt: PushAttempt) -> str:
    """Every audited fact of one attempt, one per line."""
    lines = [
        f"attempt     {attempt.key}",
        f"outcome     {attempt.outcome}: {attempt.message}",
        f"trigger     {attempt.trigger}"
        + (f" by {attempt.requested_by}" if attempt.requested_by else "")
        + (
            f" (override: {attempt.reason})"
            if attempt.override
            else (f" ({attempt.reason})" if attempt.reason else "")
        ),
    ]
    if attempt.overridden:
        lines.append(f"overridden  {', '.join(attempt.overridden)}")
    if attempt.count is not None:
        lines.append(
            f"list        {attempt.count} UIDs from {attempt.keys_read} keys, sha256 {attempt.sha256}, "
            f"{attempt.payload_bytes} bytes"
        )
        lines.append(f"skipped     {attempt.invalid_count} invalid, {attempt.duplicate_count} duplicate")
        lines.extend(f"            - {s.uid!r} ({s.kind}): {s.reason}" for s in attempt.skipped)
    if attempt.previous_count is not None and attempt.previous_at is not None:
        lines.append(f"previous    {attempt.previous_count} UIDs sent at {to_storage(attempt.previous_at)}")
    if attempt.attempts is not None:
        lines.append(
            f"rfid-post   result code {attempt.result_code}, processed {attempt.processed}, "
            f"{attempt.attempts} attempt(s), {attempt.duration_ms} ms"
        )
    if attempt.error:
        lines.append(f"error       {attempt.error}")
    if attempt.last_success_age_seconds is not None:
        age = attempt.last_success_age_seconds
        lines.append(
            f"last success {age / 60:.0f} min ago" if age < 3600 else f"last success {age / 3600:.1f} h ago"
        )
    return "\n".join(lines)


def history_lines(attempts: list[PushAttempt]) -> list[str]:
    """A table: newest first, one attempt per line."""
    columns = ("TIME".ljust(24), "TRIGGER".ljust(8), "OUTCOME".ljust(17), "COUNT".rjust(7))
    rows = [" ".join((*columns, "INVALID", "CODE", "TRIES", " REASON"))]
    for attempt in attempts:
        reason = ("override: " if attempt.override else "") + (attempt.reason or "")
        rows.append(
            f"{to_storage(attempt.at):24} {attempt.trigger:8} {attempt.outcome.value:17} "
            f"{_text(attempt.count):>7} {attempt.invalid_count:>7} {_text(attempt.result_code):>4} "
            f"{_text(attempt.attempts):>5}  {reason}"
        )
    return rows


def _text(value: int | None) -> str:
    return "-" if value is None else str(value)
