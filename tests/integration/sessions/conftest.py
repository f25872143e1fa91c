"""Session poller integration fixtures: moto executing the real ASL against the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import boto3
import handler_session_api
import handler_session_tasks
import pytest
from aws_lambda_powertools.utilities import parameters
from moto.core.config import default_user_config
from sessionharness import T0, Harness, create_poller, patch_moto, tap_event_bus

from backbone.keys.aws import KeyStore
from backbone.keys.lifecycle import new_key
from backbone.observability import metrics
from backbone.oioi.identifiers import uid_to_key_identifier
from backbone.sessions.wiring import session_api_dependencies, session_tasks_dependencies
from backbone.settings import load_settings
from simulator import DEFAULT_API_KEY, ManualClock, PlugsurfingSimulator

SESSION_KEY_UID = "E0E03336"


@pytest.fixture(scope="module")
def simulator() -> Iterator[PlugsurfingSimulator]:
    with PlugsurfingSimulator(port=0, clock=ManualClock(T0)) as sim:
        yield sim


@pytest.fixture
def poller(
    aws: boto3.Session,
    resources: dict[str, str],
    simulator: PlugsurfingSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Harness]:
    simulator.reset()
    clock = ManualClock(T0)
    simulator.clock = clock
    # The key every start names: ours (UID E0E03336) and created at Plugsurfing (3633e0e0).
    keys = KeyStore(aws.resource("dynamodb").Table(resources["ChargingKeysTable"]))
    if keys.get(SESSION_KEY_UID) is None:
        keys.put_new(new_key(SESSION_KEY_UID, "VN-SESSIONS-1", T0))
    simulator.add_emp_key(keyIdentifier=uid_to_key_identifier(SESSION_KEY_UID), visualNumber="VN-SESSIONS-1")
    monkeypatch.setitem(default_user_config["stepfunctions"], "execute_state_machine", True)
    state_machine_arn = create_poller(aws)
    aws.client("secretsmanager").put_secret_value(
        SecretId=resources["PlugsurfingApiKeySecret"], SecretString=DEFAULT_API_KEY
    )
    environment = {
        "PARTNER_MODE": "emp",
        "DRIVE_API_BASE_URL": simulator.drive_base_url,
        "PLUGSURFING_API_KEY_SECRET": resources["PlugsurfingApiKeySecret"],
        "SESSIONS_TABLE": resources["SessionsTable"],
        "SESSION_EVENT_BUS": resources["SessionEventBus"],
        "CDR_QUEUE_URL": resources["CdrQueue"],
        "SESSION_STATE_MACHINE_ARN": state_machine_arn,
        "CHARGING_KEYS_TABLE": resources["ChargingKeysTable"],
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(metrics.provider, "namespace", "PlugsurfingBackboneTest")
    _clear_caches()
    harness = Harness(
        session=aws,
        resources=resources,
        sim=simulator,
        clock=clock,
        state_machine_arn=state_machine_arn,
        events_queue_url=tap_event_bus(aws, resources["SessionEventBus"]),
    )
    # Both functions follow the simulator's clock: the real dependencies with its clock.
    monkeypatch.setattr(
        handler_session_tasks,
        "session_tasks_dependencies",
        lambda settings: replace(session_tasks_dependencies(settings), clock=clock.now),
    )
    monkeypatch.setattr(
        handler_session_api,
        "session_api_dependencies",
        lambda settings: replace(session_api_dependencies(settings), clock=clock.now),
    )
    patch_moto(harness, monkeypatch)
    yield harness
    _clear_caches()


def _clear_caches() -> None:
    load_settings.cache_clear()
    session_tasks_dependencies.cache_clear()
    session_api_dependencies.cache_clear()
    parameters.clear_caches()
