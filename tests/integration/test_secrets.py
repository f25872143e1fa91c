"""Partner API keys read from Secrets Manager (moto) through Powertools, cached, never leaked."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import boto3
import httpx
import pytest
import respx
from aws_lambda_powertools.utilities import parameters

from backbone.aws.secrets import SecretFormatError, get_api_key, get_partner_identifier
from backbone.partners.factory import oioi_client, plugsurfing_client
from backbone.settings import OioiClientSettings, PlugsurfingApiSettings

DRIVE_BASE = "https://drive-api-stage.plugsurfing.com/drive"
OIOI_ENDPOINT = "https://dev-api.plugsurfing.com/api/v4/request"


@pytest.fixture
def secrets(aws: boto3.Session) -> Iterator[object]:
    """A Secrets Manager client, with Powertools' cache and our client factories emptied around
    each test so no value or client leaks from one test to the next."""
    parameters.clear_caches()
    plugsurfing_client.cache_clear()
    oioi_client.cache_clear()
    yield aws.client("secretsmanager")
    parameters.clear_caches()
    plugsurfing_client.cache_clear()
    oioi_client.cache_clear()


@pytest.mark.parametrize(
    "stored",
    [
        "plain-key-123",
        "  plain-key-123\n",
        json.dumps({"apiKey": "plain-key-123"}),
        '{"apiKey": "plain-key-123", "x": 1}',
    ],
    ids=["plain", "padded", "json", "json-with-extra"],
)
def test_given_a_plain_or_json_secret_when_read_then_the_api_key_is_returned(
    secrets: object, stored: str
) -> None:
    secrets.create_secret(Name="partner/key", SecretString=stored)  # type: ignore[attr-defined]
    assert get_api_key("partner/key") == "plain-key-123"


def test_given_a_binary_json_secret_when_read_then_the_api_key_is_returned(secrets: object) -> None:
    secrets.create_secret(Name="partner/bin", SecretBinary=b'{"apiKey": "bin-key"}')  # type: ignore[attr-defined]
    assert get_api_key("partner/bin") == "bin-key"


@pytest.mark.parametrize(
    "stored",
    ['{"api_key": "sk-HIDDEN"}', '{"apiKey": ""}', "{sk-HIDDEN", "   "],
    ids=["wrong-field", "empty-key", "broken-json", "blank"],
)
def test_given_a_secret_without_a_key_when_read_then_it_fails_without_echoing_the_value(
    secrets: object, stored: str
) -> None:
    secrets.create_secret(Name="partner/bad", SecretString=stored)  # type: ignore[attr-defined]
    with pytest.raises(SecretFormatError) as raised:
        get_api_key("partner/bad")
    assert "partner/bad" in str(raised.value)
    assert "HIDDEN" not in str(raised.value)
    assert raised.value.__cause__ is None


@pytest.mark.parametrize(
    "stored",
    ["Kq3vX9mPz2LwT8rB", json.dumps({"partnerIdentifier": "Kq3vX9mPz2LwT8rB"})],
    ids=["plain", "json"],
)
def test_given_our_partner_identifier_secret_then_it_is_read(secrets: object, stored: str) -> None:
    secrets.create_secret(Name="oioi/partner-identifier", SecretString=stored)  # type: ignore[attr-defined]
    assert get_partner_identifier("oioi/partner-identifier") == "Kq3vX9mPz2LwT8rB"


@pytest.mark.parametrize("stored", ["HIDDEN-short", "   ", '{"apiKey": "HIDDEN-but-long-enough"}'])
def test_given_a_partner_identifier_too_short_or_missing_then_it_fails_without_echoing_it(
    secrets: object, stored: str
) -> None:
    """OIOI: a random string of at least 16 characters; anything else is refused, never sent."""
    secrets.create_secret(Name="oioi/partner-identifier", SecretString=stored)  # type: ignore[attr-defined]
    with pytest.raises(SecretFormatError) as raised:
        get_partner_identifier("oioi/partner-identifier")
    assert "oioi/partner-identifier" in str(raised.value)
    assert "HIDDEN" not in str(raised.value)


def test_given_a_cached_key_when_the_secret_rotates_then_the_old_key_is_served_until_max_age(
    secrets: object,
) -> None:
    secrets.create_secret(Name="partner/rotating", SecretString="first")  # type: ignore[attr-defined]
    assert get_api_key("partner/rotating", max_age=1) == "first"
    secrets.put_secret_value(SecretId="partner/rotating", SecretString="second")  # type: ignore[attr-defined]
    assert get_api_key("partner/rotating", max_age=1) == "first"  # cached: no Secrets Manager call
    time.sleep(1.1)
    assert get_api_key("partner/rotating", max_age=1) == "second"


def test_given_the_default_max_age_when_the_secret_is_gone_then_the_cached_key_is_still_served(
    secrets: object,
) -> None:
    secrets.create_secret(Name="partner/cached", SecretString="k")  # type: ignore[attr-defined]
    assert get_api_key("partner/cached") == "k"
    secrets.delete_secret(SecretId="partner/cached", ForceDeleteWithoutRecovery=True)  # type: ignore[attr-defined]
    assert get_api_key("partner/cached") == "k"  # warm invocations do not call Secrets Manager
    parameters.clear_caches()  # a cold start: now the deletion shows
    with pytest.raises(parameters.exceptions.GetParameterError):
        get_api_key("partner/cached")


def test_given_settings_when_building_clients_twice_then_the_same_client_is_reused(secrets: object) -> None:
    plugsurfing = PlugsurfingApiSettings(drive_api_base_url=DRIVE_BASE, plugsurfing_api_key_secret="ps")
    oioi = OioiClientSettings(oioi_endpoint_url=OIOI_ENDPOINT, oioi_api_key_secret="oioi")
    assert plugsurfing_client(plugsurfing) is plugsurfing_client(plugsurfing)
    assert oioi_client(oioi) is oioi_client(oioi)


def test_given_secrets_when_the_clients_call_then_each_sends_its_key_in_its_header(secrets: object) -> None:
    secrets.create_secret(Name="ps", SecretString=json.dumps({"apiKey": "drive-key"}))  # type: ignore[attr-defined]
    secrets.create_secret(Name="oioi", SecretString="oioi-key")  # type: ignore[attr-defined]
    drive = plugsurfing_client(
        PlugsurfingApiSettings(drive_api_base_url=DRIVE_BASE, plugsurfing_api_key_secret="ps")
    )
    oioi = oioi_client(OioiClientSettings(oioi_endpoint_url=OIOI_ENDPOINT, oioi_api_key_secret="oioi"))
    with respx.mock(assert_all_called=True) as partner:
        drive_route = partner.post(f"{DRIVE_BASE}/v1/users/u1/sessions/s1/stop").mock(
            return_value=httpx.Response(200)
        )
        oioi_route = partner.post(OIOI_ENDPOINT).mock(
            return_value=httpx.Response(200, json={"rfid": {"processed": 0}, "result": {"code": 0}})
        )
        drive.stop_session("u1", "s1")
        oioi.post_rfids([], "partner-1")
    assert drive_route.calls.last.request.headers["x-api-key"] == "drive-key"
    assert oioi_route.calls.last.request.headers["Authorization"] == "key=oioi-key"


def test_given_a_rotated_secret_when_the_cache_expires_then_the_same_client_sends_the_new_key(
    secrets: object,
) -> None:
    secrets.create_secret(Name="ps", SecretString="old-key")  # type: ignore[attr-defined]
    settings = PlugsurfingApiSettings(drive_api_base_url=DRIVE_BASE, plugsurfing_api_key_secret="ps")
    client = plugsurfing_client(settings)
    with respx.mock() as partner:
        route = partner.post(f"{DRIVE_BASE}/v1/users/u1/sessions/s1/stop").mock(
            return_value=httpx.Response(200)
        )
        client.stop_session("u1", "s1")
        secrets.put_secret_value(SecretId="ps", SecretString="new-key")  # type: ignore[attr-defined]
        parameters.clear_caches()  # what max_age expiry does in a warm Lambda
        plugsurfing_client(settings).stop_session("u1", "s1")
    assert [call.request.headers["x-api-key"] for call in route.calls] == ["old-key", "new-key"]
