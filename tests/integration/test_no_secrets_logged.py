"""No secret ever reaches a log line: the partner API keys we issue (checked by the authorizer,
present in every request the receiver sees), and the two keys we hold for Plugsurfing (read
from Secrets Manager, sent by the partner clients), on the happy paths and the error paths.

Everything a function could print is captured: our logger at DEBUG, the Powertools handler's
output (what CloudWatch Logs would get, after `RedactingFormatter`), the raw log records of our
logger and the libraries at INFO (`caplog`, before any redaction: this proves the code does not
log them in the first place), stdout/stderr (metrics), and the exceptions that escape a handler
(Lambda prints them). botocore's DEBUG logging prints whole responses, Secrets Manager's
included: it stays off in Lambda (root logger at WARNING) and must never be turned on there.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import handler_oioi_authorizer
import handler_oioi_receiver
import httpx
import pytest
import respx
from aws_lambda_powertools.utilities import parameters

from backbone.aws import clients
from backbone.observability import logger, metrics
from backbone.partners.errors import PartnerError
from backbone.partners.factory import oioi_client, plugsurfing_client
from backbone.partners.retry import RetryPolicy
from backbone.receiver.dispatch import ACCEPTED_MESSAGES
from backbone.receiver.wiring import oioi_authorizer_dependencies, oioi_receiver_dependencies
from backbone.settings import OioiClientSettings, PlugsurfingApiSettings, load_settings
from bbctl.ops_partners import PartnerAccessTable as DynamoPartnerAccess
from bbctl.partner_keys import issue_key

PLUGSURFING_KEY = "ps-live-3b9f0c2e7a1d4f6b8e5c"  # test values, asserted absent from every output
OIOI_KEY = "oioi-live-9d8c7b6a5f4e3d2c1b0a"
DRIVE_BASE = "https://drive-api-stage.plugsurfing.com/drive"
OIOI_ENDPOINT = "https://dev-api.plugsurfing.com/api/v4/request"
EventLoader = Callable[[str], Any]


@dataclass
class Captured:
    """Everything logged or printed while a test ran."""

    records: pytest.LogCaptureFixture
    formatted: io.StringIO
    std: pytest.CaptureFixture[str]
    escaped: list[str]

    def text(self) -> str:
        out, err = self.std.readouterr()
        raw = [
            f"{record.getMessage()} {record.__dict__!r} "
            + ("".join(traceback.format_exception(*record.exc_info)) if record.exc_info else "")
            for record in self.records.records
        ]
        return "\n".join([self.formatted.getvalue(), out, err, *raw, *self.escaped])

    def assert_clean(self, *secrets: str) -> None:
        text = self.text()
        assert text.strip(), "nothing was captured: the capture is broken, not the code clean"
        for secret in secrets:
            assert secret not in text
            assert secret[:16] not in text  # no prefix of it either


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> Iterator[Captured]:
    buffer = io.StringIO()
    handler = logger.registered_handler
    previous_stream = handler.setStream(buffer)  # type: ignore[attr-defined]
    previous_level = logger.log_level
    logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.INFO)  # every library (httpx logs each request at INFO)
    caplog.set_level(logging.DEBUG, logger=logger.name)  # ours, down to each partner attempt
    try:
        yield Captured(caplog, buffer, capsys, [])
    finally:
        logger.setLevel(previous_level)
        handler.setStream(previous_stream)  # type: ignore[attr-defined]


@pytest.fixture
def env(aws: boto3.Session, resources: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The receiver's and authorizer's tables, and our two partner keys in Secrets Manager."""
    secrets = aws.client("secretsmanager")
    secrets.put_secret_value(SecretId=resources["PlugsurfingApiKeySecret"], SecretString=PLUGSURFING_KEY)
    secrets.put_secret_value(
        SecretId=resources["OioiApiKeySecret"], SecretString=json.dumps({"apiKey": OIOI_KEY})
    )
    for name, value in {
        "CHARGING_KEYS_TABLE": resources["ChargingKeysTable"],
        "STATIONS_TABLE": resources["StationsTable"],
        "CDR_QUEUE_URL": resources["CdrQueue"],
        "PARTNERS_TABLE": resources["PartnersTable"],
        "POWERTOOLS_SERVICE_NAME": "secrets-test",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(metrics, "namespace", "PlugsurfingBackboneTest")
    caches = (
        load_settings,
        oioi_receiver_dependencies,
        oioi_authorizer_dependencies,
        plugsurfing_client,
        oioi_client,
    )
    for cached in caches:
        cached.cache_clear()
    clients.reset()
    parameters.clear_caches()
    yield
    for cached in caches:
        cached.cache_clear()
    clients.reset()
    parameters.clear_caches()


@pytest.fixture
def partner_key(env: None, resources: dict[str, str], aws: boto3.Session) -> str:
    """A partner API key issued the way `bbctl partners create` does."""
    store = DynamoPartnerAccess(aws.client("dynamodb"), resources["PartnersTable"])
    issued = issue_key(
        store,
        enrol=lambda access: None,  # the authorizer is called directly: no API Gateway here
        name="ACME CPO",
        partner_identifiers=["1"],
        messages=ACCEPTED_MESSAGES,
        accepted_messages=ACCEPTED_MESSAGES,
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return issued.api_key


def authorize(load_event: EventLoader, context: Any, header: str, captured: Captured) -> Any:
    event = copy.deepcopy(load_event("oioi/authorizer-request.json"))
    event["headers"]["Authorization"] = header
    event["multiValueHeaders"]["Authorization"] = [header]
    try:
        return handler_oioi_authorizer.handler(event, context)
    except Exception as error:  # Lambda prints what escapes a handler
        captured.escaped.append("".join(traceback.format_exception(error)))
        return None


def receive(load_event: EventLoader, context: Any, api_key: str, event_name: str) -> dict[str, Any]:
    event = copy.deepcopy(load_event(event_name))
    event["headers"]["Authorization"] = f"key={api_key}"
    event["multiValueHeaders"]["Authorization"] = [f"key={api_key}"]
    response: dict[str, Any] = handler_oioi_receiver.handler(event, context)
    return response


def fast(client: Any) -> Any:
    """Retries without waiting (the default policy sleeps between attempts)."""
    client.http.retry_policy = RetryPolicy(max_attempts=3, sleep=lambda _: None, jitter=lambda low, high: 0)
    return client


def test_given_valid_unknown_revoked_and_malformed_keys_then_the_authorizer_logs_none_of_them(
    partner_key: str, load_event: EventLoader, lambda_context: Any, captured: Captured
) -> None:
    allowed = authorize(load_event, lambda_context, f"key={partner_key}", captured)
    assert allowed["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    unknown = "k3y-that-nobody-issued-0123456789abcdef"
    denied = authorize(load_event, lambda_context, f"key={unknown}", captured)
    assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert authorize(load_event, lambda_context, f"Bearer {partner_key}", captured) is None  # malformed: 401
    assert authorize(load_event, lambda_context, f"key={partner_key}!", captured) is None

    captured.assert_clean(partner_key, unknown)


def test_given_requests_carrying_the_key_then_the_receiver_logs_it_on_no_path(
    partner_key: str,
    resources: dict[str, str],
    aws: boto3.Session,
    load_event: EventLoader,
    lambda_context: Any,
    captured: Captured,
) -> None:
    assert receive(load_event, lambda_context, partner_key, "oioi/rfid-verify.json")["statusCode"] == 200
    assert receive(load_event, lambda_context, partner_key, "oioi/error-bad-json.json")["statusCode"] == 400
    # A storage failure: the receiver logs the exception with its traceback (answer 503).
    aws.client("dynamodb").delete_table(TableName=resources["ChargingKeysTable"])
    assert receive(load_event, lambda_context, partner_key, "oioi/rfid-verify.json")["statusCode"] >= 500

    captured.assert_clean(partner_key)


@respx.mock(assert_all_mocked=True)
def test_given_partner_errors_then_our_plugsurfing_and_oioi_keys_are_in_no_log_line(
    env: None,
    resources: dict[str, str],
    respx_mock: respx.MockRouter,
    captured: Captured,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[str] = []

    def failing(status: int) -> Callable[[httpx.Request], httpx.Response]:
        def respond(request: httpx.Request) -> httpx.Response:
            sent.append(request.headers.get("x-api-key") or request.headers.get("Authorization") or "")
            return httpx.Response(status, json={"message": "upstream failure"})

        return respond

    respx_mock.get(f"{DRIVE_BASE}/emp/v1/charging-keys").mock(side_effect=failing(500))
    respx_mock.put(url__regex=rf"{DRIVE_BASE}/emp/v1/charging-keys/.*").mock(side_effect=failing(403))
    respx_mock.post(OIOI_ENDPOINT).mock(side_effect=failing(401))
    monkeypatch.setenv("DRIVE_API_BASE_URL", DRIVE_BASE)
    monkeypatch.setenv("PLUGSURFING_API_KEY_SECRET", resources["PlugsurfingApiKeySecret"])
    monkeypatch.setenv("OIOI_ENDPOINT_URL", OIOI_ENDPOINT)
    monkeypatch.setenv("OIOI_API_KEY_SECRET", resources["OioiApiKeySecret"])
    plugsurfing = fast(plugsurfing_client(load_settings(PlugsurfingApiSettings)))
    oioi = fast(oioi_client(load_settings(OioiClientSettings)))

    calls: list[Callable[[], object]] = [
        lambda: list(plugsurfing.list_charging_keys()),  # 500 three times, then ServerError
        lambda: plugsurfing.enable_charging_key("8148aa22305204"),  # 403: our key refused
        lambda: oioi.post_rfids(["04523022AA4881"], "partner-identifier-0001"),  # 401
    ]
    failures = 0
    for call in calls:
        try:
            call()
        except PartnerError as error:
            failures += 1
            captured.escaped.append("".join(traceback.format_exception(error)) + repr(error))
            logger.exception("partner call failed")  # what a handler's error path would do
    assert failures == len(calls)

    # The keys were sent (so they were in reach of every log statement on the way) ...
    assert PLUGSURFING_KEY in sent
    assert f"key={OIOI_KEY}" in sent
    # ... and the calls were counted without them.
    captured.assert_clean(PLUGSURFING_KEY, OIOI_KEY)
