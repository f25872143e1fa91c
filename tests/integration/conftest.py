"""Integration tier: AWS emulated by moto in-process; the template's resources created in it by
devstack's creators (the local stack's), so tests, the local stack and infrastructure cannot drift."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from driverids import leaks
from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler

from devstack.emulator import (
    CREATORS,
    DEFAULT_LOCAL_VALUES,
    create_all,
    create_function,
    create_state_machine,
    load_local_values,
)
from devstack.template import Pseudo, Template

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"
REGION = "eu-west-1"
STACK_NAME = "backbone-test"  # physical names are "<stack>-<LogicalId>" or the template's own
# The tests run the handlers in-process and build the state machine they execute themselves:
# functions and state machines get placeholder ids only (creating them costs time per test).
_CREATORS = {
    kind: create for kind, create in CREATORS.items() if create not in (create_function, create_state_machine)
}


class TemplateResources(dict[str, str]):
    """Logical id -> physical id (table name, queue URL, secret ARN, bus name, topic ARN,
    usage plan id)."""


class SessionClients:
    """devstack's creators take `AwsClients`: here, one client per service of a boto3 session
    (moto's `mock_aws` intercepts them in-process)."""

    def __init__(self, session: boto3.Session) -> None:
        self._session = session
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service)  # type: ignore[call-overload]
        return self._clients[service]


def create_template_resources(session: boto3.Session) -> TemplateResources:
    """Create the template's resources as the local stack does (secrets hold its local values)."""
    template = Template(TEMPLATE_PATH, {"Stage": "local"}, Pseudo(region=REGION, stack_name=STACK_NAME))
    described = create_all(
        template, SessionClients(session), load_local_values(DEFAULT_LOCAL_VALUES), _CREATORS
    )
    return TemplateResources(
        {logical_id: str(item["ref"]) for logical_id, item in described.items() if item["emulated"]}
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    """moto in-process with fake credentials; yields a boto3 session."""
    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.Session(region_name=REGION)


@pytest.fixture
def resources(aws: boto3.Session) -> TemplateResources:
    """Every template table/queue/secret/bus/topic/usage plan, created in moto; logical id -> physical id."""
    return create_template_resources(aws)


@pytest.fixture
def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB checks a condition, writes and returns the old item as one step per request;
    moto takes no lock (its response layer reads the ALL_OLD item before the backend writes,
    its queries iterate dicts other threads change). Serialise moto's DynamoDB requests, whole,
    so concurrency tests measure our code's races and not moto's."""
    lock = threading.Lock()
    original = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> Any:
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", call_action)


@pytest.fixture(autouse=True)
def no_driver_identifier_logged() -> Iterator[io.StringIO]:
    """Every integration test is a privacy test too: the log lines its handlers wrote, as
    CloudWatch Logs would get them (through `RedactingFormatter`, our logger at DEBUG), must not
    hold any of the test data's driver identifiers, names or addresses in any spelling
    (tests/driverids.py). Yields the captured text (a test may plant a leak and clear it)."""
    from backbone.observability import logger

    buffer = io.StringIO()
    tap = logging.StreamHandler(buffer)
    tap.setFormatter(logger.registered_handler.formatter)
    tap.setLevel(logging.DEBUG)
    stdlib_logger = logging.getLogger(logger.name)
    stdlib_logger.addHandler(tap)
    previous_level = stdlib_logger.level
    stdlib_logger.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        stdlib_logger.setLevel(previous_level)
        stdlib_logger.removeHandler(tap)
    found = leaks(buffer.getvalue())
    assert not found, "log lines hold a driver identifier:\n" + "\n".join(found[:5])
