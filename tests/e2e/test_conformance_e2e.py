"""`bbctl conformance` against our own endpoint on the local stack: the spec's cases all pass,
and what the run wrote is marked as test data."""

from __future__ import annotations

import json
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from backbone.keys.models import ChargingKey, KeyState
from backbone.oioi.identifiers import uid_to_key_identifier

pytestmark = pytest.mark.e2e

PARTNER_IDENTIFIER = "conformance-e2e-4d1f8b2c9a7e"


@pytest.fixture(scope="module")
def partner_key(stack: Any) -> str:
    created = stack.bbctl(
        "partners", "create", "--name", "Conformance E2E", "--partner-identifier", PARTNER_IDENTIFIER,
        "--messages", "connector-post-status,rfid-verify,session-post,station-post", "--json",
    )  # fmt: skip
    key: str = json.loads(created.stdout)["apiKey"]
    return key


@pytest.fixture(scope="module", autouse=True)
def staging_test_uids(stack: Any) -> None:
    """The OIOI staging test UIDs the kit verifies by default: one usable, one disabled."""
    serialize = TypeSerializer().serialize
    for uid, state in (("04523022AA4881", KeyState.ACTIVE), ("0477BD22AA4880", KeyState.DISABLED)):
        key = ChargingKey(
            uid=uid,
            keyIdentifier=uid_to_key_identifier(uid),
            visualNumber=f"E2E-{uid}",
            enabled=state is KeyState.ACTIVE,
            state=state,
            hasPaymentMethod=True,
        )
        stack.boto3_client("dynamodb").put_item(
            TableName=stack.ref("ChargingKeysTable"), Item={k: serialize(v) for k, v in key.to_item().items()}
        )


def test_given_our_endpoint_when_the_conformance_kit_runs_then_every_case_passes(
    stack: Any, partner_key: str
) -> None:
    done = stack.bbctl(
        "conformance", "--endpoint", f"{stack.api_url}/api/v4/request", "--key", partner_key,
        "--partner-identifier", PARTNER_IDENTIFIER, "--json", check=False,
    )  # fmt: skip

    report = json.loads(done.stdout)
    failures = [case for case in report["cases"] if case["verdict"] != "PASS"]
    assert failures == [], json.dumps(failures, indent=2)
    assert done.returncode == 0
    assert partner_key not in done.stdout + done.stderr

    # What it wrote carries the run id: stations soft-deleted again, CDR session ids prefixed.
    run_id = report["runId"]
    items = stack.boto3_client("dynamodb").scan(TableName=stack.ref("StationsTable"))["Items"]
    written = [item for item in items if item.get("kind", {}).get("S") == "station"
               and item["stationId"]["S"].startswith(run_id)]  # fmt: skip
    assert written
    assert all(item["deleted"]["BOOL"] for item in written)


def test_given_a_wrong_key_when_the_conformance_kit_runs_then_it_fails_and_exits_non_zero(stack: Any) -> None:
    done = stack.bbctl(
        "conformance", "--endpoint", f"{stack.api_url}/api/v4/request", "--key", "x" * 43, check=False
    )

    assert done.returncode == 1
    assert "FAIL" in done.stdout


def test_given_the_conformance_partner_s_traffic_then_partner_health_shows_it_seen_in_every_family(
    stack: Any, partner_key: str
) -> None:
    stack.bbctl(
        "conformance", "--endpoint", f"{stack.api_url}/api/v4/request", "--key", partner_key,
        "--partner-identifier", PARTNER_IDENTIFIER, check=False,
    )  # fmt: skip

    fired = stack.fire("PartnerHealthFunction", "Every15Minutes")
    health = json.loads(stack.bbctl("partners", "health", "--json").stdout)

    assert fired["status"] == "ok", fired
    assert "conformance-e2e" not in fired["result"]["silent"]
    [ours] = [partner for partner in health["partners"] if partner["partnerId"] == "conformance-e2e"]
    assert set(ours["families"]) == {"session-post", "rfid-verify", "poi"}
    assert ours["silent"] is False
    assert all(family["silenceSeconds"] < 300 for family in ours["families"].values())
