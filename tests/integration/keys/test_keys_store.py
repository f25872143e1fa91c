"""The charging-keys table in moto: conditional writes, the sparse whitelist index, claims."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from backbone.keys import lifecycle as logic
from backbone.keys.aws import KeyStore
from backbone.keys.errors import ConcurrentModification, DuplicateKey, OutOfStock
from backbone.keys.models import KeyState, PartnerView, SyncState
from bbctl.key_import import import_keys

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def add(keys: KeyStore, count: int, *, start: int = 0, minutes_apart: int = 1) -> list[str]:
    """`count` IN_STOCK keys, created one minute apart (oldest first)."""
    created = [
        logic.new_key(f"0A0B{n:04X}", f"V-{n}", NOW + timedelta(minutes=n * minutes_apart))
        for n in range(start, start + count)
    ]
    keys.put_new_many(created)
    return [key.uid for key in created]


def test_given_a_key_when_added_twice_then_duplicate_and_the_first_stays(keys):
    keys.put_new(logic.new_key("3633E0E0", "V-1", NOW))
    with pytest.raises(DuplicateKey):
        keys.put_new(logic.new_key("3633e0e0", "V-2", NOW))
    assert keys.get("3633E0E0").visual_number == "V-1"


def test_given_a_uid_taken_in_a_later_transaction_when_importing_many_then_nothing_stays(keys):
    keys.put_new(logic.new_key("0A0B00C8", "OLD", NOW))  # the 201st key of the batch below
    batch = [logic.new_key(f"0A0B{n:04X}", f"V-{n}", NOW) for n in range(250)]
    with pytest.raises(DuplicateKey) as raised:
        keys.put_new_many(batch)
    assert raised.value.uids == ["0A0B00C8"]
    assert [key.uid for key in keys.iter_keys()] == ["0A0B00C8"]  # the first 200 were rolled back


def test_given_a_csv_when_imported_into_the_table_then_keys_are_findable_by_uid_visual_and_state(keys):
    text = "uid,visual_number,type\n3633E0E0,DE-9FS-C045DS363-E,card\n04523022AA4881,DE*8PS*CD0C00*2,tag\n"
    assert import_keys(text, keys, NOW).ok
    assert keys.find("DE*8PS*CD0C00*2").uid == "04523022AA4881"
    assert keys.find("3633e0e0").type == "card"
    assert {k.uid for k in keys.iter_keys(KeyState.IN_STOCK)} == {"3633E0E0", "04523022AA4881"}
    again = import_keys(text, keys, NOW)
    assert [e.line for e in again.errors] == [2, 3]


def test_given_two_writers_with_the_same_version_when_saving_then_the_second_is_refused(keys):
    keys.put_new(logic.new_key("3633E0E0", "V-1", NOW))
    read_by_both = keys.get("3633E0E0")
    keys.save(logic.enable(read_by_both, NOW), expected_version=read_by_both.version)
    with pytest.raises(ConcurrentModification):
        keys.save(logic.mark_lost(read_by_both, NOW), expected_version=read_by_both.version)
    assert keys.get("3633E0E0").state is KeyState.ACTIVE
    assert keys.get("3633E0E0").version == 1


def test_given_a_sync_outcome_when_a_change_is_saved_later_then_neither_overwrites_the_other(keys):
    keys.put_new(logic.new_key("3633E0E0", "V-1", NOW))
    stale = keys.get("3633E0E0")
    keys.record_sync(
        "3633E0E0",
        state=SyncState.SYNCED,
        error=None,
        partner=PartnerView(key_id="e0e03336", enabled=False),
        attempts=0,
        now=NOW,
        contract_id="DE-PSF-C00000001-X",
    )
    saved = keys.save(logic.enable(stale, NOW), expected_version=stale.version)  # sync did not bump version
    key = keys.get("3633E0E0")
    assert saved.version == key.version == 1
    assert key.partner == PartnerView(key_id="e0e03336", enabled=False)
    assert key.contract_id == "DE-PSF-C00000001-X"
    assert (key.state, key.sync_state) == (KeyState.ACTIVE, SyncState.PENDING)


def whitelist(keys: KeyStore, now: datetime, page_size: int = 1000) -> list[str]:
    return [uid for page in keys.iter_whitelist_pages(now, page_size=page_size) for uid in page]


def test_given_enabled_disabled_and_lost_keys_when_whitelisting_then_only_enabled_valid_keys(keys):
    uids = add(keys, 5)
    validity = {
        uids[3]: {"valid_to": NOW - timedelta(days=1)},  # expired
        uids[4]: {"valid_from": NOW + timedelta(days=1)},  # not yet valid
    }
    for uid in uids:
        logic.change_key(keys, uid, lambda k: logic.enable(k.model_copy(update=validity.get(k.uid, {})), NOW))
    logic.change_key(keys, uids[1], lambda k: logic.disable(k, NOW))
    logic.change_key(keys, uids[2], lambda k: logic.mark_lost(k, NOW))
    assert whitelist(keys, NOW) == [uids[0]]
    assert whitelist(keys, NOW + timedelta(days=2)) == [uids[0], uids[4]]


def test_given_many_enabled_keys_when_whitelisting_with_small_pages_then_pages_cover_them_all(keys):
    uids = add(keys, 23)
    for uid in uids:
        logic.change_key(keys, uid, lambda k: logic.enable(k, NOW))
    pages = list(keys.iter_whitelist_pages(NOW, page_size=10))
    assert [len(page) for page in pages] == [10, 10, 3]
    assert sorted(uid for page in pages for uid in page) == sorted(uids)


def test_given_stock_when_an_order_claims_keys_then_the_oldest_are_reserved_for_it(keys):
    uids = add(keys, 5)
    claimed = keys.claim_in_stock(2, "order-1", NOW)
    assert sorted(key.uid for key in claimed) == uids[:2]
    assert all(key.state is KeyState.RESERVED and key.order_id == "order-1" for key in claimed)
    assert keys.get(uids[0]).version == 1


def test_given_a_processor_that_crashed_when_it_claims_again_then_it_gets_the_same_keys(keys):
    add(keys, 5)
    first = keys.claim_in_stock(3, "order-1", NOW)
    again = keys.claim_in_stock(3, "order-1", NOW)
    assert sorted(k.uid for k in again) == sorted(k.uid for k in first)
    assert len(list(keys.iter_keys(KeyState.IN_STOCK))) == 2


def test_given_too_little_stock_when_claiming_then_out_of_stock_keeps_what_was_claimed(keys):
    add(keys, 2)
    with pytest.raises(OutOfStock) as raised:
        keys.claim_in_stock(3, "order-1", NOW)
    assert (len(raised.value.claimed), raised.value.missing) == (2, 1)
    add(keys, 1, start=10)
    assert len(keys.claim_in_stock(3, "order-1", NOW)) == 3  # resumed after restocking


def test_given_concurrent_orders_when_claiming_then_no_key_is_given_twice(keys, atomic_dynamodb):
    add(keys, 40)
    orders = [f"order-{n}" for n in range(12)]

    def claim(order_id: str) -> list[str]:
        try:
            return [key.uid for key in keys.claim_in_stock(3, order_id, NOW)]
        except OutOfStock as short:
            return [key.uid for key in short.claimed]

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = dict(zip(orders, pool.map(claim, orders), strict=True))
    claimed = [uid for uids in results.values() for uid in uids]
    assert len(claimed) == len(set(claimed)) == 36
    for order_id, uids in results.items():
        assert {keys.get(uid).order_id for uid in uids} == {order_id}
