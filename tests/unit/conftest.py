"""Unit tier: no network, no AWS. Any socket a test opens fails the test."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from pytest_socket import disable_socket, enable_socket


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()


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
