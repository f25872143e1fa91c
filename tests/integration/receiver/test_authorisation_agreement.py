"""Online and offline authorisation agree (issue 14, defect 3): over generated key sets written the
way the product writes them, the whitelist the push reads (the sparse Whitelist index, moto) is
exactly the set of UIDs the rfid-verify receiver answers 0 for, and keys written by the old rule
agree again after `reindex_whitelist` (the documented upgrade step)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from handler_oioi_receiver import handler
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oioiworld import World

from backbone.keys.aws import KeyStore
from backbone.keys.models import WHITELIST_PARTITION, ChargingKey, KeyState
from backbone.oioi.identifiers import uid_to_key_identifier
from bbctl.ops_keys import reindex_whitelist

EventLoader = Callable[[str], Any]
HOUR = timedelta(hours=1)
# Window ends well away from "now" (the handler reads its own clock a little later).
OFFSETS = st.sampled_from([None, -48 * HOUR, -HOUR, HOUR, 48 * HOUR])


@st.composite
def key_fields(draw: st.DrawFn) -> dict[str, Any]:
    valid_from, valid_to = draw(OFFSETS), draw(OFFSETS)
    return {
        "enabled": draw(st.booleans()),
        "state": draw(st.sampled_from(list(KeyState))),
        "hasPaymentMethod": draw(st.booleans()),
        "validFrom": valid_from,
        "validTo": valid_to,
    }


KEY_SETS = st.lists(
    st.tuples(key_fields(), st.none() | key_fields()),  # as created, then (maybe) one lifecycle save
    min_size=1,
    max_size=6,
)


def new_key(number: int, fields: dict[str, Any], now: datetime) -> ChargingKey:
    uid = f"04AA00{number:08X}"
    values = dict(fields)
    for name in ("validFrom", "validTo"):
        values[name] = None if fields[name] is None else now + fields[name]
    return ChargingKey(uid=uid, keyIdentifier=uid_to_key_identifier(uid), visualNumber=f"V-{uid}", **values)


def write_keys(store: KeyStore, key_sets: list[tuple[dict[str, Any], dict[str, Any] | None]]) -> list[str]:
    now = datetime.now(UTC)
    uids = []
    for number, (created, changed) in enumerate(key_sets):
        key = store.put_new(new_key(number, created, now))
        if changed is not None:
            update = dict(new_key(number, changed, now))
            update = {
                name: update[name]
                for name in ("enabled", "state", "has_payment_method", "valid_from", "valid_to")
            }
            store.save(key.model_copy(update=update), expected_version=0)
        uids.append(key.uid)
    return uids


def clear(world: World) -> None:
    table = world.table("ChargingKeysTable")
    for item in table.scan(ProjectionExpression="uid")["Items"]:
        table.delete_item(Key={"uid": item["uid"]})


def verify_codes(uids: list[str], load_event: EventLoader, context: Any) -> dict[str, int]:
    """What the receiver answers a CPO for each UID (through the handler, like API Gateway)."""
    template = load_event("oioi/rfid-verify.json")
    codes = {}
    for uid in uids:
        event = copy.deepcopy(template)
        event["body"], event["isBase64Encoded"] = json.dumps({"rfid-verify": {"rfid": uid}}), False
        response = handler(event, context)
        assert response["statusCode"] == 200, response
        codes[uid] = json.loads(response["body"])["result"]["code"]
    return codes


def whitelist(store: KeyStore) -> set[str]:
    return {uid for page in store.iter_whitelist_pages(datetime.now(UTC)) for uid in page}


def test_given_a_key_without_payment_method_then_it_is_refused_online_and_not_whitelisted(
    world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    clear(world)
    store = KeyStore(world.table("ChargingKeysTable"))
    paying, not_paying = write_keys(
        store,
        [
            (
                {
                    "enabled": True,
                    "state": KeyState.ACTIVE,
                    "hasPaymentMethod": True,
                    "validFrom": None,
                    "validTo": None,
                },
                None,
            ),
            (
                {
                    "enabled": True,
                    "state": KeyState.ACTIVE,
                    "hasPaymentMethod": False,
                    "validFrom": None,
                    "validTo": None,
                },
                None,
            ),
        ],
    )

    assert verify_codes([paying, not_paying], load_event, lambda_context) == {paying: 0, not_paying: 193}
    assert whitelist(store) == {paying}


@given(key_sets=KEY_SETS)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_given_any_key_set_then_the_whitelist_is_exactly_the_uids_rfid_verify_answers_0_for(
    key_sets: list[tuple[dict[str, Any], dict[str, Any] | None]],
    world: World,
    load_event: EventLoader,
    lambda_context: Any,
) -> None:
    clear(world)
    store = KeyStore(world.table("ChargingKeysTable"))
    uids = write_keys(store, key_sets)

    codes = verify_codes(uids, load_event, lambda_context)

    assert whitelist(store) == {uid for uid, code in codes.items() if code == 0}


def test_given_keys_written_by_the_old_rule_when_reindexed_then_online_and_offline_agree_again(
    world: World, load_event: EventLoader, lambda_context: Any
) -> None:
    clear(world)
    table = world.table("ChargingKeysTable")
    store = KeyStore(table)
    active = {"enabled": True, "state": KeyState.ACTIVE, "validFrom": None, "validTo": None}
    paying, not_paying = write_keys(
        store, [(active | {"hasPaymentMethod": True}, None), (active | {"hasPaymentMethod": False}, None)]
    )
    # Before the payment method was part of the rule, every enabled ACTIVE key carried the attribute.
    table.update_item(
        Key={"uid": not_paying},
        UpdateExpression="SET #wl = :wl",
        ExpressionAttributeNames={"#wl": "whitelist"},
        ExpressionAttributeValues={":wl": WHITELIST_PARTITION},
    )
    assert whitelist(store) == {paying, not_paying}

    dry = reindex_whitelist(store, apply=False)
    report = reindex_whitelist(store)
    again = reindex_whitelist(store)

    assert (dry.removed, report.removed, report.added, again.removed) == ([not_paying], [not_paying], [], [])
    codes = verify_codes([paying, not_paying], load_event, lambda_context)
    assert whitelist(store) == {uid for uid, code in codes.items() if code == 0} == {paying}
