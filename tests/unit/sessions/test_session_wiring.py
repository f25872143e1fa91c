"""The deployment's partner mode decides what a start request must name, once, in wiring."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from backbone.aws import clients
from backbone.sessions.errors import InvalidStartRequest
from backbone.sessions.models import StartRequest
from backbone.sessions.settings import SessionApiSettings
from backbone.sessions.wiring import session_api_dependencies
from backbone.settings import settings_from

ENV = {
    "DRIVE_API_BASE_URL": "https://drive-api-stage.plugsurfing.com/drive",
    "PLUGSURFING_API_KEY_SECRET": "backbone/plugsurfing-api-key",
    "SESSIONS_TABLE": "SessionsTable",
    "SESSION_STATE_MACHINE_ARN": "arn:aws:states:eu-west-1:123456789012:stateMachine:poller",
}


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    yield
    session_api_dependencies.cache_clear()
    clients.reset()  # no client built here outlives the placeholder environment


def test_given_emp_mode_without_the_charging_keys_table_then_the_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="CHARGING_KEYS_TABLE"):
        settings_from(SessionApiSettings, {**ENV, "PARTNER_MODE": "emp"})


def test_given_drive_mode_then_a_start_must_name_its_user_and_records_drive() -> None:
    deps = session_api_dependencies(settings_from(SessionApiSettings, {**ENV, "PARTNER_MODE": "drive"}))
    request = StartRequest(request_id="r-1", connector_id="c-1", key_identifier="3633e0e0")

    with pytest.raises(InvalidStartRequest, match="userId"):
        deps.starts.prepare(request)
    assert deps.starts.mode == "drive"


def test_given_emp_mode_then_a_start_must_name_one_of_our_keys_and_records_emp() -> None:
    settings = settings_from(
        SessionApiSettings, {**ENV, "PARTNER_MODE": "emp", "CHARGING_KEYS_TABLE": "ChargingKeysTable"}
    )
    deps = session_api_dependencies(settings)
    request = StartRequest(request_id="r-1", connector_id="c-1", user_id="driver-1")

    with pytest.raises(InvalidStartRequest, match="keyIdentifier"):
        deps.starts.prepare(request)
    assert deps.starts.mode == "emp"
