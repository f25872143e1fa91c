"""Fixtures shared by every test tier."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class LambdaContext:
    """The parts of the Lambda context object our handlers and Powertools read."""

    function_name: str = "test-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2026/01/01/[$LATEST]test"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def load_event() -> Callable[[str], Any]:
    """Load a sample event from `events/` (the same files the README's local invokes use)."""

    def load(name: str) -> Any:
        return json.loads((REPO_ROOT / "events" / name).read_text(encoding="utf-8"))

    return load


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the Powertools handler writes (CloudWatch Logs in Lambda), as in one invocation: no
    appended keys from before, none left after (`inject_lambda_context(clear_state=True)`)."""
    from backbone.observability import logger

    logger.clear_state()
    buffer = io.StringIO()
    previous = logger.registered_handler.setStream(buffer)  # type: ignore[attr-defined]
    yield buffer
    logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]
    logger.clear_state()
