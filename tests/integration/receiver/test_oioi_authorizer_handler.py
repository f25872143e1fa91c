"""The authorizer handler and `bbctl partners` against the template's PartnersTable (moto)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from handler_oioi_authorizer import Unauthorized, handler
from oioiworld import World

from backbone.receiver.access import Caller, hash_api_key
from bbctl import Target
from bbctl.__main__ import main as bbctl

EventLoader = Callable[[str], Any]


@pytest.fixture
def cli(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., str]:
    """Run `bbctl partners ...` against moto's PartnersTable; returns what it printed.

    Stack resolution (CloudFormation outputs, local stack names) is exercised by the e2e tests."""
    monkeypatch.setattr(Target, "output", lambda self, key, logical_id: world.resources[logical_id])

    def run(*argv: str) -> str:
        capsys.readouterr()
        assert bbctl(["partners", *argv]) == 0
        return capsys.readouterr().out

    return run


def authorize(load_event: EventLoader, context: Any, header: str) -> dict[str, Any]:
    event = copy.deepcopy(load_event("oioi/authorizer-request.json"))
    event["headers"]["Authorization"] = header
    event["multiValueHeaders"]["Authorization"] = [header]
    return handler(event, context)


def create_key(cli: Callable[..., str], *messages: str, existing: bool = False) -> dict[str, Any]:
    """A key for partner `acme-cpo`; `existing` for another key of the same partner (rotation)."""
    printed = cli(
        "create", "--name", "ACME CPO", "--partner-identifier", "1", "123456-123456-abcdef-abc123-456def",
        "--messages", ",".join(messages or ("rfid-verify", "session-post")), "--json",
        *(["--existing"] if existing else []),
    )  # fmt: skip
    created: dict[str, Any] = json.loads(printed)
    return created


def test_given_a_key_created_with_the_cli_then_the_authorizer_allows_it_with_the_partners_grants(
    world: World, cli: Callable[..., str], load_event: EventLoader, lambda_context: Any
) -> None:
    created = create_key(cli)
    [item] = world.items("PartnersTable")
    assert item["keyHash"] == hash_api_key(created["apiKey"])
    assert created["apiKey"] not in json.dumps(item, default=str)

    policy = authorize(load_event, lambda_context, f"key={created['apiKey']}")
    assert policy["principalId"] == "acme-cpo"
    [statement] = policy["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    # The whole API and stage: the cached answer serves every later request with this key.
    assert statement["Resource"] == ["arn:aws:execute-api:eu-west-1:123456789012:oioi000000/staging/*/*"]
    assert policy["usageIdentifierKey"] == item["keyHash"]  # API Gateway throttles this key alone
    caller = Caller.from_context(policy["context"])
    assert caller.messages == {"rfid-verify", "session-post"}
    assert caller.partner_identifiers == {"1", "123456-123456-abcdef-abc123-456def"}
    assert caller.key_id == created["keyId"]


def test_given_an_unknown_key_then_the_authorizer_denies(
    world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    policy = authorize(load_event, lambda_context, "key=a39ff3fb-fe0a-40a3-bdde-df6372c07c89")
    [statement] = policy["policyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert "context" not in policy


def test_given_a_key_revoked_with_the_cli_then_it_is_denied_and_listed_as_revoked(
    world: World, cli: Callable[..., str], load_event: EventLoader, lambda_context: Any
) -> None:
    created = create_key(cli)
    assert f"Key {created['keyId']} of acme-cpo revoked" in cli("revoke", created["keyId"])
    policy = authorize(load_event, lambda_context, f"key={created['apiKey']}")
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    [listed] = json.loads(cli("list", "--json"))
    assert (listed["keyId"], listed["status"]) == (created["keyId"], "revoked")
    assert "apiKey" not in listed


def test_given_a_malformed_header_then_the_authorizer_fails_as_unauthorized(
    world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    event = load_event("oioi/authorizer-request-malformed.json")
    with pytest.raises(Unauthorized, match=r"^Unauthorized$"):  # API Gateway answers 401 to exactly this
        handler(event, lambda_context)


def test_given_the_partners_table_is_unreachable_then_the_authorizer_fails_closed(
    world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    """Any other failure makes API Gateway answer 500 (DEFAULT_5XX, code 100): never an Allow."""
    world.session.client("dynamodb").delete_table(TableName=world.resources["PartnersTable"])
    with pytest.raises(Exception) as failed:  # noqa: PT011 - any error but "Unauthorized"
        authorize(load_event, lambda_context, "key=a39ff3fb-fe0a-40a3-bdde-df6372c07c89")
    assert not isinstance(failed.value, Unauthorized)


def test_given_bad_create_options_then_the_cli_refuses_and_stores_nothing(
    world: World, cli: Callable[..., str]
) -> None:
    with pytest.raises(SystemExit, match="not accepted by this endpoint: rfid-post"):
        cli("create", "--name", "ACME", "--partner-identifier", "1", "--messages", "rfid-post")
    assert world.items("PartnersTable") == []


def test_given_several_keys_then_the_cli_lists_them_without_secrets(
    world: World, cli: Callable[..., str]
) -> None:
    first, second = create_key(cli, "rfid-verify"), create_key(cli, "station-post", existing=True)
    printed = cli("list")
    assert first["keyId"] in printed
    assert second["keyId"] in printed
    assert first["apiKey"] not in printed
    assert second["apiKey"] not in printed


# --- per-key throttling: each partner key is an API key of the usage plan ---------------------


def plan_keys(world: World) -> dict[str, dict[str, Any]]:
    """The usage plan's API keys by value (what the authorizer names as usageIdentifierKey)."""
    apigateway = world.session.client("apigateway")
    plan = world.resources["OioiPartnerUsagePlan"]
    in_plan = {key["id"] for key in apigateway.get_usage_plan_keys(usagePlanId=plan)["items"]}
    keys = apigateway.get_api_keys(includeValues=True)["items"]
    return {key["value"]: key for key in keys if key["id"] in in_plan}


def test_given_a_key_created_with_the_cli_then_its_usage_key_is_an_enabled_key_of_the_plan(
    world: World, cli: Callable[..., str], load_event: EventLoader, lambda_context: Any
) -> None:
    created = create_key(cli)
    usage_key = authorize(load_event, lambda_context, f"key={created['apiKey']}")["usageIdentifierKey"]

    key = plan_keys(world)[usage_key]
    assert key["enabled"] is True
    assert key["name"] == f"plugsurfing-backbone-dev:acme-cpo:{created['keyId']}"
    assert created["apiKey"] not in json.dumps(plan_keys(world), default=str)  # the hash, never the key


def test_given_a_key_revoked_with_the_cli_then_its_usage_key_leaves_the_plan(
    world: World, cli: Callable[..., str]
) -> None:
    kept, revoked = create_key(cli), create_key(cli, existing=True)
    cli("revoke", revoked["keyId"])

    assert set(plan_keys(world)) == {hash_api_key(kept["apiKey"])}
    cli("revoke", revoked["keyId"])  # again: nothing left to withdraw, no error
    assert set(plan_keys(world)) == {hash_api_key(kept["apiKey"])}


def test_given_the_usage_plan_is_missing_then_create_refuses_and_stores_no_key(
    world: World, cli: Callable[..., str]
) -> None:
    world.session.client("apigateway").delete_usage_plan(usagePlanId=world.resources["OioiPartnerUsagePlan"])
    with pytest.raises(SystemExit, match="no API Gateway usage plan"):
        create_key(cli)
    assert world.items("PartnersTable") == []  # a stored key API Gateway would refuse: never


def test_given_drift_between_keys_and_plan_then_sync_usage_restores_exactly_the_active_keys(
    world: World, cli: Callable[..., str]
) -> None:
    lost, orphan, fine = create_key(cli), create_key(cli, existing=True), create_key(cli, existing=True)
    apigateway = world.session.client("apigateway")
    by_value = plan_keys(world)
    lost_id = by_value[hash_api_key(lost["apiKey"])]["id"]
    apigateway.delete_usage_plan_key(usagePlanId=world.resources["OioiPartnerUsagePlan"], keyId=lost_id)
    apigateway.delete_api_key(apiKey=lost_id)  # e.g. deleted by hand in the console
    world.table("PartnersTable").delete_item(Key={"keyHash": hash_api_key(orphan["apiKey"])})  # restore

    printed = cli("sync-usage")

    assert set(plan_keys(world)) == {hash_api_key(lost["apiKey"]), hash_api_key(fine["apiKey"])}
    assert f"enrolled:  {lost['keyId']}" in printed
    assert f"withdrawn: {orphan['keyId']}" in printed
    assert "1 key(s) in place" in printed
    assert "enrolled" not in cli("sync-usage")  # in step now: nothing to do
