"""The simulator plays the CPO/Plugsurfing side toward the local stack (issue 14): OIOI messages
built from the spec by the simulator, not from our fixtures, posted to our endpoint with a partner
key made by `bbctl partners create`; and the OIOI receiver answering without `result`."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from boto3.dynamodb.types import TypeSerializer
from waiting import eventually

from backbone.keys.models import ChargingKey, KeyState
from backbone.oioi.identifiers import uid_to_key_identifier, validate_evse_id

pytestmark = pytest.mark.e2e

PARTNER_IDENTIFIER = "123456-123456-abcdef-abc123-456def"  # the spec's example identifier
MESSAGES = "connector-post-status,rfid-verify,session-post,station-post"
ID_SHAPES = ["glossary", "real-world"]


@pytest.fixture(scope="module")
def api_key(stack: Any) -> str:
    printed = stack.bbctl(
        "partners", "create", "--name", "Simulated CPO", "--partner-identifier", PARTNER_IDENTIFIER,
        "--messages", MESSAGES, "--force-shared-identifier", "--json",
    ).stdout  # fmt: skip
    return str(json.loads(printed)["apiKey"])


@pytest.fixture(scope="module")
def cpo(stack: Any, api_key: str) -> Callable[..., list[dict[str, Any]]]:
    """Ask the simulator to send OIOI messages to our endpoint; what our endpoint answered."""

    def send(message: str | None, **options: Any) -> list[dict[str, Any]]:
        body = {
            "url": f"{stack.api_url}/api/v4/request",
            "key": api_key,
            "partner_identifier": PARTNER_IDENTIFIER,
            **({"message": message} if message else {}),
            **options,
        }
        response = httpx.post(f"{stack.sim_url}/_sim/oioi/send", json=body, timeout=120)
        assert response.status_code == 200, response.text
        exchanges: list[dict[str, Any]] = response.json()["exchanges"]
        return exchanges

    return send


def answered(exchange: dict[str, Any]) -> tuple[int, int]:
    return exchange["status"], exchange["answer"]["result"]["code"]


def current_cdr(stack: Any, session_id: str) -> dict[str, Any] | None:
    """The session's current record: its key from BySession (which projects keys, kind and
    status only), the item from the table."""
    dynamodb = stack.boto3_client("dynamodb")
    keys = dynamodb.query(
        TableName=stack.ref("CdrTable"),
        IndexName="BySession",
        KeyConditionExpression="sessionId = :s",
        ExpressionAttributeValues={":s": {"S": session_id}},
    )["Items"]
    current = [{"pk": key["pk"], "sk": key["sk"]} for key in keys if key["sk"]["S"] == "CDR"]
    if not current:
        return None
    item: dict[str, Any] | None = dynamodb.get_item(
        TableName=stack.ref("CdrTable"), Key=current[0], ConsistentRead=True
    ).get("Item")
    return item


def final_cdr(stack: Any, session_id: str) -> dict[str, Any]:
    def final() -> dict[str, Any] | None:
        item = current_cdr(stack, session_id)
        return item if item and item["status"]["S"] == "FINAL" else None

    found: dict[str, Any] = eventually(final)
    return found


@pytest.mark.parametrize("ids", ID_SHAPES)
def test_given_a_cpo_posting_an_ongoing_then_a_final_cdr_then_one_final_cdr_is_stored(
    stack: Any, cpo: Callable[..., list[dict[str, Any]]], ids: str
) -> None:
    ongoing, final = cpo("session-post", ids=ids, phase="ongoing-then-final")

    assert answered(ongoing) == (200, 0)
    assert answered(final) == (200, 0)
    sent = final["request"]["session-post"]
    assert "stop" not in ongoing["request"]["session-post"]["session-interval"]
    done = final_cdr(stack, sent["session-id"])
    assert Decimal(done["energyKwh"]["N"]) == Decimal("16.5")
    assert (done["costAmount"], done["costCurrency"]) == ({"N": "14.32"}, {"S": "EUR"})
    shown = json.loads(stack.bbctl("cdr", "show", sent["session-id"], "--json").stdout)
    assert [(view["kind"], view["status"]) for view in shown] == [("CDR", "FINAL")]


def test_given_a_cpo_repeating_a_final_cdr_then_the_duplicate_changes_nothing(
    stack: Any, cpo: Callable[..., list[dict[str, Any]]]
) -> None:
    [first] = cpo("session-post", ids="real-world")
    session_id = first["request"]["session-post"]["session-id"]
    done = final_cdr(stack, session_id)

    repeats = cpo(None, body=first["request"], repeat=2)  # the very same message again

    assert [answered(exchange) for exchange in repeats] == [(200, 0), (200, 0)]
    time.sleep(5)  # the repeats went through the queue by now; they must change nothing
    assert current_cdr(stack, session_id) == done
    shown = json.loads(stack.bbctl("cdr", "show", session_id, "--json").stdout)
    assert [(view["kind"], view["status"]) for view in shown] == [("CDR", "FINAL")]


@pytest.fixture(scope="module")
def staging_keys(stack: Any) -> None:
    """Seed 002 "UIDs to test RFID": 04523022AA4881 active (a user with a payment method),
    0477BD22AA4880 inactive; 0477BD22AA4AAA does not exist."""
    client, name = stack.boto3_client("dynamodb"), stack.ref("ChargingKeysTable")
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
        client.put_item(TableName=name, Item={k: serialize(v) for k, v in key.to_item().items()})


@pytest.mark.usefixtures("staging_keys")
@pytest.mark.parametrize(
    ("uid", "code"), [("04523022AA4881", 0), ("0477BD22AA4880", 192), ("0477BD22AA4AAA", 191)]
)
def test_given_a_cpo_verifying_the_staging_test_uids_then_0_192_191(
    cpo: Callable[..., list[dict[str, Any]]], uid: str, code: int
) -> None:
    [exchange] = cpo("rfid-verify", fields={"rfid": uid})

    assert answered(exchange) == (200, code)


@pytest.mark.parametrize("ids", ID_SHAPES)
def test_given_a_cpo_posting_a_station_then_a_connector_status_then_both_are_accepted_and_stored(
    stack: Any, cpo: Callable[..., list[dict[str, Any]]], ids: str
) -> None:
    [station] = cpo("station-post", ids=ids)
    connector_id = station["request"]["station-post"]["station"]["connectors"][0]["id"]

    [status] = cpo(
        "connector-post-status", ids=ids, fields={"connector-id": connector_id, "status": "Occupied"}
    )

    assert (answered(station), answered(status)) == ((200, 0), (200, 0))
    one_spelling = validate_evse_id(connector_id)  # stations are keyed by it, however it was sent
    stored = stack.boto3_client("dynamodb").get_item(
        TableName=stack.ref("StationsTable"), Key={"pk": {"S": f"CONNECTOR#{one_spelling}"}}
    )["Item"]
    assert stored["status"]["S"] == "Occupied"


@pytest.fixture
def oioi_without_result(stack: Any) -> Iterator[None]:
    """The simulated OIOI receiver answers 2xx without `result` for this test only."""
    switch = f"{stack.sim_url}/_sim/oioi/answers"
    httpx.post(switch, json={"result": "omit"}, timeout=10).raise_for_status()
    try:
        yield
    finally:
        httpx.post(switch, json={"result": "include"}, timeout=10).raise_for_status()


@pytest.mark.usefixtures("oioi_without_result")
def test_given_oioi_answers_without_result_when_the_whitelist_is_pushed_then_it_is_recorded_sent(
    stack: Any,
) -> None:
    uid = f"04E2{secrets.token_hex(5).upper()}"
    key = ChargingKey(
        uid=uid,
        keyIdentifier=uid_to_key_identifier(uid),
        visualNumber=f"E2E-NR-{uid}",
        enabled=True,
        state=KeyState.ACTIVE,
    )
    serialize = TypeSerializer().serialize
    stack.boto3_client("dynamodb").put_item(
        TableName=stack.ref("ChargingKeysTable"), Item={k: serialize(v) for k, v in key.to_item().items()}
    )

    pushed = stack.bbctl(
        "whitelist", "push", "--override", "--reason", "e2e: OIOI answer without result", "--json"
    )

    attempt = json.loads(pushed.stdout)
    assert (attempt["outcome"], "resultCode" in attempt) == ("SENT", False)
    latest = httpx.get(f"{stack.sim_url}/_sim/whitelists", timeout=10).json()
    assert uid in latest["latest"]["local-partner-identifier-0001"]
