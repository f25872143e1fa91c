"""What `bbctl whitelist` makes of the function's answers and of the audit."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from backbone.whitelist.models import Outcome, PushAttempt, PushRequest, SkippedUid
from bbctl.ops_whitelist import PushNotRun, describe, history_lines, invoke_push

AT = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


def attempt(**fields: Any) -> PushAttempt:
    values: dict[str, Any] = {
        "key": "2026-03-01T03:00:00.000Z#abcd1234",
        "at": AT,
        "attempt_id": "abcd1234-0000",
        "trigger": "manual",
        "outcome": Outcome.SENT,
        "message": "sent 2 UIDs",
    }
    return PushAttempt(**(values | fields))


class StubLambda:
    def __init__(self, payload: Any = None, function_error: bool = False, error: Exception | None = None):
        self.payload, self.function_error, self.error = payload, function_error, error
        self.events: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.events.append(json.loads(kwargs["Payload"]))
        if self.error is not None:
            raise self.error
        answer: dict[str, Any] = {"Payload": io.BytesIO(json.dumps(self.payload).encode())}
        if self.function_error:
            answer["FunctionError"] = "Unhandled"
        return answer


def test_given_a_manual_override_when_invoked_then_the_event_carries_it_and_the_answer_is_the_attempt() -> (
    None
):
    sent = attempt(override=True, reason="fleet left", outcome=Outcome.SENT)
    client = StubLambda(sent.model_dump(by_alias=True, mode="json", exclude_none=True))

    result = invoke_push(client, "fn", PushRequest(trigger="manual", override=True, reason="fleet left"))

    assert client.events == [{"trigger": "manual", "override": True, "reason": "fleet left"}]
    assert result == sent


def test_given_the_function_is_throttled_when_invoked_then_the_push_is_reported_as_in_progress() -> None:
    throttled = ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate"}}, "Invoke")

    with pytest.raises(PushNotRun, match="push already in progress"):
        invoke_push(StubLambda(error=throttled), "fn", PushRequest())


def test_given_the_function_fails_when_invoked_then_its_error_message_is_reported() -> None:
    client = StubLambda({"errorMessage": "invalid trigger: an override needs a reason"}, function_error=True)

    with pytest.raises(PushNotRun, match="override needs a reason"):
        invoke_push(client, "fn", PushRequest())


def test_given_a_refused_attempt_when_described_then_outcome_counts_and_skipped_uids_are_shown() -> None:
    refused = attempt(
        outcome=Outcome.REFUSED_SHRINK,
        message="refused: the list shrank by 50%",
        count=5,
        keys_read=6,
        sha256="f" * 64,
        payload_bytes=120,
        invalid_count=1,
        skipped=[SkippedUid(uid="zz", kind="invalid", reason="not hexadecimal")],
        previous_count=10,
        previous_at=AT,
    )

    text = describe(refused)

    assert "REFUSED_SHRINK: refused: the list shrank by 50%" in text
    assert "5 UIDs from 6 keys" in text
    assert "'zz' (invalid): not hexadecimal" in text
    assert "previous    10 UIDs sent at 2026-03-01T03:00:00.000Z" in text


def test_given_attempts_when_listed_then_one_line_each_after_the_header() -> None:
    lines = history_lines([attempt(count=2, result_code=0, attempts=1), attempt(outcome=Outcome.LOCKED)])

    assert lines[0].startswith("TIME")
    assert "SENT" in lines[1]
    assert "LOCKED" in lines[2]
    assert len(lines) == 3
