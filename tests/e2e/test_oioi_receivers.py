"""OIOI receivers end to end: a partner key made with `bbctl partners` against the local stack,
each message over real HTTP through API Gateway's authorizer and gateway responses, and the
spec's answers; wrong keys and bad bodies get the right status and code and change nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from boto3.dynamodb.types import TypeSerializer

from backbone.keys.models import ChargingKey, KeyState
from backbone.oioi.identifiers import uid_to_key_identifier

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "oioi"
IDENTIFIERS = ("1", "123456-123456-abcdef-abc123-456def")
ALL_MESSAGES = "connector-post-status,rfid-verify,session-post,station-post"


def seed(message: str, kind: str = "request") -> Any:
    return json.loads((FIXTURES / f"{message}.{kind}.json").read_text(encoding="utf-8"))


def bbctl(stack: Any, *argv: str, group: str = "partners") -> str:
    """`python -m bbctl partners ...` against the local stack, as an operator runs it."""
    return str(stack.bbctl(group, *argv).stdout)


def create_key(stack: Any, name: str, messages: str = ALL_MESSAGES) -> dict[str, Any]:
    printed = bbctl(
        stack,
        "create",
        "--name",
        name,
        "--partner-identifier",
        *IDENTIFIERS,
        "--messages",
        messages,
        "--force-shared-identifier",  # every test partner acts for the spec's example identifiers
        "--json",
    )
    created: dict[str, Any] = json.loads(printed)
    return created


class Partner:
    """A partner calling the OIOI endpoint with its key."""

    def __init__(self, url: str, api_key: str | None) -> None:
        self.url, self.api_key = url, api_key

    def send(
        self, body: Any, *, raw: bytes | None = None, authorization: str | None = None
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if authorization is not None or self.api_key is not None:
            headers["Authorization"] = authorization if authorization is not None else f"key={self.api_key}"
        content = raw if raw is not None else json.dumps(body).encode()
        return httpx.post(self.url, content=content, headers=headers, timeout=60)


def answer(response: httpx.Response) -> tuple[int, int]:
    return response.status_code, response.json()["result"]["code"]


@pytest.fixture(scope="module")
def endpoint(stack: Any) -> str:
    return f"{stack.api_url}/api/v4/request"


@pytest.fixture(scope="module")
def partner(stack: Any, endpoint: str) -> Partner:
    return Partner(endpoint, create_key(stack, "E2E CPO")["apiKey"])


@pytest.fixture(scope="module", autouse=True)
def staging_keys(stack: Any) -> None:
    """The OIOI staging test UIDs: 04523022AA4881 active with a payment method, 0477BD22AA4880
    inactive; 0477BD22AA4AAA does not exist."""
    table = stack.boto3_client("dynamodb")
    name = stack.ref("ChargingKeysTable")
    serialize = TypeSerializer().serialize
    for uid, state in (("04523022AA4881", KeyState.ACTIVE), ("0477BD22AA4880", KeyState.IN_STOCK)):
        key = ChargingKey(
            uid=uid,
            keyIdentifier=uid_to_key_identifier(uid),
            visualNumber=f"E2E-{uid}",
            enabled=state is KeyState.ACTIVE,
            state=state,
            hasPaymentMethod=True,
        )
        # The record's own serialisation, so the sparse whitelist attribute is right too.
        table.put_item(TableName=name, Item={k: serialize(v) for k, v in key.to_item().items()})


def stations(stack: Any) -> list[dict[str, Any]]:
    items = stack.boto3_client("dynamodb").scan(TableName=stack.ref("StationsTable"))["Items"]
    return sorted(items, key=lambda item: item["pk"]["S"])


# --- Each message, the spec's answer ------------------------------------------------------------


@pytest.mark.parametrize(
    ("uid", "code"), [("04523022AA4881", 0), ("0477BD22AA4880", 192), ("0477BD22AA4AAA", 191)]
)
def test_given_the_staging_test_uids_when_verified_then_0_192_191(
    partner: Partner, uid: str, code: int
) -> None:
    assert answer(partner.send({"rfid-verify": {"rfid": uid}})) == (200, code)


def test_given_the_session_post_example_then_success(partner: Partner) -> None:
    response = partner.send(seed("session-post"))
    assert (response.status_code, response.json()) == (200, seed("session-post", "response"))


def test_given_a_station_then_its_connector_status_is_accepted_and_stored(
    partner: Partner, stack: Any
) -> None:
    station = seed("station-post")
    station["station-post"]["station"]["deleted"] = False
    response = partner.send(station)
    assert (response.status_code, response.json()) == (200, seed("station-post", "response"))
    response = partner.send(seed("connector-post-status"))
    assert (response.status_code, response.json()) == (200, seed("connector-post-status", "response"))
    connector = stack.boto3_client("dynamodb").get_item(
        TableName=stack.ref("StationsTable"), Key={"pk": {"S": "CONNECTOR#DE*8PS*E123456"}}
    )["Item"]
    assert connector["status"]["S"] == "Available"


def test_given_the_station_post_example_deleting_then_success(partner: Partner) -> None:
    response = partner.send(seed("station-post"))
    assert (response.status_code, response.json()) == (200, seed("station-post", "response"))


def test_given_the_stage_path_then_the_same_endpoint_answers(partner: Partner, stack: Any) -> None:
    staged = Partner(f"{stack.api_url}/local/api/v4/request", partner.api_key)
    assert answer(staged.send({"rfid-verify": {"rfid": "04523022AA4881"}})) == (200, 0)


# --- Wrong keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),  # API Gateway answers without calling the authorizer
        ("Bearer abcdefabcdefabcdefabcdef", 401),
        ("key=a39ff3fb-fe0a-40a3-bdde-df6372c07c89", 403),
    ],
    ids=["missing", "malformed", "unknown"],
)
def test_given_a_wrong_key_then_401_or_403_with_code_210_and_nothing_changes(
    endpoint: str, stack: Any, authorization: str | None, status: int
) -> None:
    before = stations(stack)
    caller = Partner(endpoint, None)
    station = seed("station-post")
    station["station-post"]["station"]["id"] = "wrong-key-station"
    response = caller.send(station, authorization=authorization)
    assert answer(response) == (status, 210)
    assert response.json()["error"]
    assert stations(stack) == before


def test_given_a_revoked_key_then_403_code_210(stack: Any, endpoint: str) -> None:
    created = create_key(stack, "E2E Revoked CPO")
    bbctl(stack, "revoke", created["keyId"])
    assert answer(Partner(endpoint, created["apiKey"]).send({"rfid-verify": {"rfid": "04523022AA4881"}})) == (
        403,
        210,
    )


def test_given_a_key_not_allowed_the_message_then_403_code_220(stack: Any, endpoint: str) -> None:
    verifier = Partner(endpoint, create_key(stack, "E2E Verifier", "rfid-verify")["apiKey"])
    assert answer(verifier.send(seed("session-post"))) == (403, 220)
    assert answer(verifier.send({"rfid-verify": {"rfid": "04523022AA4881"}})) == (200, 0)


def test_given_keys_then_bbctl_lists_them_without_the_keys(stack: Any, partner: Partner) -> None:
    listed = json.loads(bbctl(stack, "list", "--json"))
    assert any(entry["name"] == "E2E CPO" and entry["status"] == "active" for entry in listed)
    assert partner.api_key not in json.dumps(listed)


# --- Bad bodies ---------------------------------------------------------------------------------

BAD_BODIES = [
    ("not-json", b'{"station-post": {', 400, 230),
    ("two-messages", json.dumps({**seed("rfid-verify"), **seed("station-post")}).encode(), 400, 230),
    ("unknown-message", b'{"station-push": {}}', 400, 230),
    ("not-accepted", json.dumps(seed("rfid-post")).encode(), 400, 220),
    ("bad-uid", b'{"rfid-verify": {"rfid": "04523022AA48ZZ"}}', 400, 230),
    ("not-utf8", b'{"rfid-verify": {"rfid": "\xff04523022AA4881"}}', 400, 230),
    ("invalid-station", b'{"station-post": {"station": {"id": "x"}, "partner-identifier": "1"}}', 400, 230),
    ("too-large", json.dumps({"station-post": {"padding": "x" * 70_000}}).encode(), 413, 230),
]  # fmt: skip


@pytest.mark.parametrize(("case", "raw", "status", "code"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_given_a_bad_body_then_the_right_status_and_code_and_nothing_changes(
    partner: Partner, stack: Any, case: str, raw: bytes, status: int, code: int
) -> None:
    before = stations(stack)
    response = partner.send(None, raw=raw)
    assert answer(response) == (status, code), response.text
    assert response.json()["error"]
    assert stations(stack) == before


def test_given_another_partners_station_id_then_403_code_211(
    stack: Any, endpoint: str, partner: Partner
) -> None:
    station = seed("station-post")
    station["station-post"]["station"].update(id="e2e-owned", deleted=False, connectors=[])
    assert answer(partner.send(station)) == (200, 0)
    other = Partner(endpoint, create_key(stack, "E2E Other CPO")["apiKey"])
    before = stations(stack)
    assert answer(other.send(station)) == (403, 211)
    assert stations(stack) == before


def test_the_openapi_description_is_served(stack: Any) -> None:
    response = httpx.get(f"{stack.api_url}/openapi.yaml", timeout=30)
    assert response.status_code == 200
    assert "/api/v4/request" in response.text


def test_given_one_partner_floods_then_only_its_key_is_throttled_429_with_retry_after(
    stack: Any, endpoint: str
) -> None:
    """API Gateway throttles each partner key on its own (usage plan OioiPartnerUsagePlan)."""
    flooding = Partner(endpoint, create_key(stack, "Flooding CPO")["apiKey"])
    calm = Partner(endpoint, create_key(stack, "Calm CPO")["apiKey"])
    apigateway = stack.boto3_client("apigateway")
    [plan] = [p for p in apigateway.get_usage_plans()["items"] if p["name"].endswith("OioiPartnerUsagePlan")]
    limits = plan["throttle"]
    apigateway.update_usage_plan(
        usagePlanId=plan["id"],
        patchOperations=[
            {"op": "replace", "path": "/throttle/burstLimit", "value": "3"},
            {"op": "replace", "path": "/throttle/rateLimit", "value": "0"},  # no refill: deterministic
        ],
    )
    try:
        answers = [flooding.send(seed("session-post")) for _ in range(5)]
        calm_answer = calm.send(seed("session-post"))
    finally:
        apigateway.update_usage_plan(
            usagePlanId=plan["id"],
            patchOperations=[
                {"op": "replace", "path": "/throttle/burstLimit", "value": str(limits["burstLimit"])},
                {"op": "replace", "path": "/throttle/rateLimit", "value": str(int(limits["rateLimit"]))},
            ],
        )

    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert answer(answers[3]) == (429, 200)
    assert answers[3].headers["Retry-After"] == "1"
    assert answer(calm_answer) == (200, 0)  # another partner's key is not slowed down


def test_given_a_key_missing_from_the_usage_plan_then_403_code_220_until_sync_usage(
    stack: Any, endpoint: str
) -> None:
    created = create_key(stack, "Drifted CPO")
    partner = Partner(endpoint, created["apiKey"])
    apigateway = stack.boto3_client("apigateway")
    [key] = [k for k in apigateway.get_api_keys()["items"] if k["name"].endswith(created["keyId"])]
    apigateway.update_api_key(
        apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]
    )

    refused = partner.send(seed("session-post"))
    assert answer(refused) == (403, 220)
    assert "not enabled on this endpoint" in refused.json()["error"]

    assert f"enrolled:  {created['keyId']}" in bbctl(stack, "sync-usage")
    assert answer(partner.send(seed("session-post"))) == (200, 0)


def test_given_the_walkthrough_demo_load_then_its_printed_key_is_admitted_and_verifies_rfids(
    stack: Any, endpoint: str
) -> None:
    """`bbctl demo load` (README walkthrough) issues a key the endpoint admits, usage plan included."""
    printed = bbctl(stack, "load", "--api-url", stack.api_url, group="demo")
    assert "station-post demo-station-1: HTTP 200" in printed
    exports = [line for line in printed.splitlines() if line.startswith("export OIOI_KEY=")]
    api_key = exports[-1].removeprefix("export OIOI_KEY=")
    assert answer(Partner(endpoint, api_key).send({"rfid-verify": {"rfid": "04523022AA4881"}})) == (200, 0)


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (("--name", "Plugsurfing"), "reserved"),
        (("--name", "x", "--partner-id", "x#y"), "lower-case letters"),
        (("--name", "E2E-CPO"), "exists already"),
        (("--name", "x", "--partner-id", "e2ecpo"), "only in case or separators"),
    ],
)
def test_given_a_partner_id_that_would_write_under_another_then_bbctl_refuses_and_issues_nothing(
    stack: Any, partner: Partner, argv: tuple[str, ...], reason: str
) -> None:
    before = json.loads(bbctl(stack, "list", "--json"))

    refused = stack.bbctl(
        "partners", "create", *argv, "--partner-identifier", "e2e-unique-identifier-0001",
        "--messages", "session-post", check=False,
    )  # fmt: skip

    assert refused.returncode != 0
    assert reason in refused.stderr
    assert json.loads(bbctl(stack, "list", "--json")) == before


def test_given_a_station_value_dynamodb_cannot_hold_over_http_then_400_code_230_names_it(
    stack: Any, partner: Partner
) -> None:
    body = json.dumps(seed("station-post")).replace('"speed": 3.7', '"speed": 1e200').encode()
    assert b"1e200" in body

    response = partner.send(None, raw=body)

    assert answer(response) == (400, 230)
    assert "speed" in response.json()["error"]
