"""CdrIngestFunction against the template's CdrTable and CDR queues in moto: sample events,
re-delivery, poison records, throttling, concurrent deliveries, the stream and every access
pattern billing uses."""

from __future__ import annotations

import copy
import io
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.retries.standard import ExponentialBackoff
from cdrfactory import drive, drive_session_text, emitted_metrics, oioi, session_post_text
from cdrfakes import pseudonymise_for_tests
from cdrtable import CdrTable
from handler_cdr_ingest import handler
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
from moto.dynamodb.models import DynamoDBBackend
from test_cdr_merge import updates

from backbone.aws.attributes import from_attributes, to_attributes
from backbone.aws.clients import CONFIGS
from backbone.cdr.envelope import CdrEnvelope
from backbone.cdr.ingest import Outcome, ingest, ingest_batch
from backbone.cdr.models import REJECT_REASON, CdrStatus, Driver, DriverType, RecordKind
from backbone.cdr.parse import parse_cdr
from backbone.cdr.pseudonymise import legacy_rewrite, pseudonymised
from backbone.privacy.cdr import pseudonymise_update

EventLoader = Callable[[str], Any]
Items = Callable[[], dict[tuple[str, str], Any]]
pytestmark = pytest.mark.usefixtures("cdr_env")


def sqs_event(*envelopes: CdrEnvelope | str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{number}",
                "receiptHandle": f"r-{number}",
                "body": envelope if isinstance(envelope, str) else envelope.to_message(),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1772384700000",
                    "SenderId": "123456789012",
                    "ApproximateFirstReceiveTimestamp": "1772384700001",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:CdrQueue",
                "awsRegion": "eu-west-1",
            }
            for number, envelope in enumerate(envelopes)
        ]
    }


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def test_given_the_mixed_batch_when_handled_then_only_the_malformed_envelope_fails(
    load_event: EventLoader,
    lambda_context: Any,
    cdr_store: CdrTable,
    queue_messages: Callable[[str], list[dict[str, Any]]],
    resources: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    event = load_event("cdr/event-sqs-mixed-batch.json")

    response = handler(event, lambda_context)

    malformed = event["Records"][4]["messageId"]
    assert failed_ids(response) == [malformed]  # retried by SQS, DLQ after maxReceiveCount
    assert cdr_store.by_session("acme-2026-03-01-0003")[0].cdr.status is CdrStatus.ONGOING
    assert cdr_store.by_session("acme-2026-03-01-0004")[0].cdr.status is CdrStatus.FINAL
    assert cdr_store.by_session("Zw4z33VbNYC")[0].cdr.energy_kwh == Decimal("1.840")
    assert cdr_store.by_session("acme-2026-03-01-0002") == []
    [parked] = queue_messages(resources["CdrDeadLetterQueue"])
    assert parked["Body"] == event["Records"][3]["body"]
    assert "partner-identifier" in parked["MessageAttributes"][REJECT_REASON]["StringValue"]
    counted = emitted_metrics(capsys.readouterr().out)
    assert (counted["CdrRejected"], counted["CdrCreated"]) == (1, 3)


def test_given_a_whole_batch_delivered_again_then_no_item_is_added_or_changed(
    load_event: EventLoader,
    lambda_context: Any,
    table_items: Items,
    stream: Callable[[], list[Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    event = load_event("cdr/event-sqs-mixed-batch.json")
    handler(event, lambda_context)
    before = table_items()
    stream()
    capsys.readouterr()

    response = handler(copy.deepcopy(event), lambda_context)

    assert len(response["batchItemFailures"]) == 1  # the malformed one, again
    assert table_items() == before
    assert stream() == []  # billing sees nothing new
    assert emitted_metrics(capsys.readouterr().out)["CdrDuplicate"] == 3


def test_given_an_ongoing_update_then_the_final_cdr_then_the_stream_shows_insert_then_modify(
    load_event: EventLoader, lambda_context: Any, cdr_store: CdrTable, stream: Callable[[], list[Any]]
) -> None:
    handler(load_event("cdr/event-sqs-session-post-ongoing.json"), lambda_context)
    handler(load_event("cdr/event-sqs-session-post-final.json"), lambda_context)

    [stored] = cdr_store.history("acme-cpo", "acme-2026-03-01-0001")
    assert stored.cdr.status is CdrStatus.FINAL
    assert (stored.cdr.energy_kwh, stored.cdr.cost and stored.cdr.cost.amount) == (
        Decimal("16.5"),
        Decimal("14.32"),
    )
    records = stream()
    assert [record["eventName"] for record in records] == ["INSERT", "MODIFY"]
    modify = records[1]["dynamodb"]
    assert modify["OldImage"]["status"] == {"S": "ONGOING"}
    assert modify["NewImage"]["status"] == {"S": "FINAL"}


def test_given_cdrs_of_both_sources_then_no_item_holds_a_driver_identifier_outside_driver_id(
    lambda_context: Any, table_items: Items
) -> None:
    token = '"identifier-type": "rfid", "token": "login-4711"}'
    post = session_post_text("S-p", uid="4523022aa4881").replace('"identifier-type": "rfid"}', token)
    remote = json.loads(drive_session_text("D-p")) | {
        "keyIdentifier": "3633e0e0",
        "contractId": "DE-9FS-C045DS363-E",
    }
    handler(sqs_event(oioi(post), drive(json.dumps(remote), user_id="ourTestUser")), lambda_context)

    items = {pk: from_attributes(item) for (pk, _), item in table_items().items()}
    oioi_item, drive_item = items["acme-cpo#S-p"], items["plugsurfing#D-p"]
    assert (oioi_item["driverId"], drive_item["driverId"]) == ("04523022AA4881", "ourTestUser")
    for item, hashed in ((oioi_item, "rfid#04523022AA4881"), (drive_item, "drive-user#ourTestUser")):
        assert item["driverHash"] == pseudonymise_for_tests(hashed)
        assert item["driverKey"] == f"{hashed.split('#')[0]}#{item['driverHash']}"
        text = json.dumps({name: value for name, value in item.items() if name != "driverId"}, default=str)
        for identifier in (
            "4523022AA4881",
            "4523022aa4881",
            "login-4711",
            "ourTestUser",
            "3633e0e0",
            "C045DS363",
        ):
            assert identifier not in text


def test_given_a_pseudonymised_cdr_when_delivered_again_then_duplicate_and_billing_sees_nothing(
    lambda_context: Any,
    aws: boto3.Session,
    resources: dict[str, str],
    table_items: Items,
    stream: Callable[[], list[Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    envelope = oioi(session_post_text("S-purged"))
    handler(sqs_event(envelope), lambda_context)
    [item] = table_items().values()
    # The retention purge / an erasure (backbone.privacy.cdr): driverId becomes the pseudonym.
    aws.client("dynamodb").update_item(
        TableName=resources["CdrTable"],
        Key={"pk": item["pk"], "sk": item["sk"]},
        **pseudonymise_update(item["driverHash"]["S"], "2026-06-01T00:00:00.000Z"),
    )
    purged = table_items()
    stream()
    capsys.readouterr()

    handler(sqs_event(envelope), lambda_context)

    assert table_items() == purged
    assert stream() == []
    assert emitted_metrics(capsys.readouterr().out)["CdrDuplicate"] == 1
    [stored] = purged.values()
    assert stored["driverId"] == stored["driverHash"]
    assert stored["payloadHash"] == item["payloadHash"]


def test_given_a_legacy_item_when_rewritten_then_only_identity_fields_change_and_redelivery_is_duplicate(
    lambda_context: Any,
    aws: boto3.Session,
    resources: dict[str, str],
    cdr_store: CdrTable,
    stream: Callable[[], list[Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    envelope = oioi(session_post_text("S-legacy", uid="04523022AA4881"))
    cdr = parse_cdr(envelope)  # written before pseudonymisation at write: raw id in the key
    legacy = cdr.to_item() | {"driverKey": "rfid#04523022AA4881"}
    client = aws.client("dynamodb")
    client.put_item(TableName=resources["CdrTable"], Item=to_attributes(legacy))
    stream()
    update = legacy_rewrite(legacy, pseudonymise_for_tests)
    assert update is not None

    client.update_item(
        TableName=resources["CdrTable"], Key={"pk": {"S": cdr.pk}, "sk": {"S": "CDR"}}, **update
    )

    [modify] = stream()
    old, new = modify["dynamodb"]["OldImage"], modify["dynamodb"]["NewImage"]
    assert {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)} == {
        "driverHash",
        "driverKey",
        "raw",
    }
    assert "04523022AA4881" not in json.dumps({k: v for k, v in new.items() if k != "driverId"})
    uid = Driver(type=DriverType.RFID, id="04523022AA4881")
    assert [r.cdr.session_id for r in cdr_store.by_driver(uid, pseudonymise_for_tests)] == ["S-legacy"]
    assert cdr_store.by_index("ByDriver", "rfid#04523022AA4881") == []
    capsys.readouterr()
    handler(sqs_event(envelope), lambda_context)
    assert emitted_metrics(capsys.readouterr().out)["CdrDuplicate"] == 1
    assert stream() == []


def test_given_values_floats_cannot_hold_when_stored_then_dynamodb_returns_them_exactly(
    lambda_context: Any, cdr_store: CdrTable, aws: boto3.Session, resources: dict[str, str]
) -> None:
    raw = session_post_text("S-exact", energy="0.30000000000000004", cost="0.10")
    handler(sqs_event(oioi(raw)), lambda_context)

    [stored] = cdr_store.by_session("S-exact")
    assert stored.cdr.energy_kwh == Decimal("0.30000000000000004")
    item = aws.client("dynamodb").get_item(
        TableName=resources["CdrTable"], Key={"pk": {"S": "acme-cpo#S-exact"}, "sk": {"S": "CDR"}}
    )["Item"]
    assert item["energyKwh"] == {"N": "0.30000000000000004"}
    assert item["costAmount"] == {"N": "0.10"}
    # The partner's text, its numbers as spelled; only the driver identifier is replaced.
    assert '"energy-consumed":0.30000000000000004' in item["raw"]["S"]
    assert '"amount":0.10' in item["raw"]["S"]
    expected = json.loads(raw)
    expected["user"]["identifier"] = item["driverHash"]["S"]
    assert json.loads(item["raw"]["S"]) == expected


def test_given_a_final_cdr_when_a_different_one_arrives_then_a_correction_item_is_added(
    lambda_context: Any, cdr_store: CdrTable, capsys: pytest.CaptureFixture[str]
) -> None:
    first = oioi(session_post_text("S-corr", cost="14.32"), 1)
    second = oioi(session_post_text("S-corr", cost="13.00"), 2)
    handler(sqs_event(first), lambda_context)

    handler(sqs_event(second, second), lambda_context)

    records = cdr_store.history("acme-cpo", "S-corr")
    assert [r.kind for r in records] == [RecordKind.CDR, RecordKind.CORRECTION]
    assert records[0].cdr == pseudonymised(parse_cdr(first), pseudonymise_for_tests)
    assert records[1].cdr.payload_hash == parse_cdr(second).payload_hash
    assert emitted_metrics(capsys.readouterr().out)["CdrCorrection"] == 1


class _Throttled(DynamodbException):
    def __init__(self) -> None:
        super().__init__(
            ERROR_TYPE_PREFIX + "ProvisionedThroughputExceededException", message="throughput exceeded"
        )


def throttle(monkeypatch: pytest.MonkeyPatch, session_id: str, times: int | None) -> dict[str, int]:
    """DynamoDB answers ProvisionedThroughputExceeded to writes of one session (`times` times,
    or always), as under a hot partition: a PutItem of it, or a whole TransactWriteItems with
    one of its items. Returns the call counters (all, and per operation)."""
    put, transact = DynamoDBBackend.put_item, DynamoDBBackend.transact_write_items
    calls = {"throttled": 0, "PutItem": 0, "TransactWriteItems": 0}

    def hot(operation: str, item_attrs: dict[str, Any]) -> bool:
        if item_attrs.get("sessionId") == {"S": session_id} and (times is None or calls["throttled"] < times):
            calls["throttled"] += 1
            calls[operation] += 1
            return True
        return False

    def put_item(
        self: DynamoDBBackend, table_name: str, item_attrs: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        if hot("PutItem", item_attrs):
            raise _Throttled
        return put(self, table_name, item_attrs, *args, **kwargs)

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> Any:
        if any(hot("TransactWriteItems", item["Put"]["Item"]) for item in transact_items if "Put" in item):
            raise _Throttled
        return transact(self, transact_items)

    monkeypatch.setattr(DynamoDBBackend, "put_item", put_item)
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", transact_write_items)
    monkeypatch.setattr(
        ExponentialBackoff, "delay_amount", lambda self, context: 0.0
    )  # retry without waiting
    return calls


def test_given_dynamodb_throttles_briefly_when_ingesting_then_boto3_retries_and_the_cdr_is_stored(
    lambda_context: Any, cdr_store: CdrTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = throttle(monkeypatch, "S-hot", times=2)

    response = handler(sqs_event(oioi(session_post_text("S-hot"))), lambda_context)

    assert response["batchItemFailures"] == []
    assert calls["throttled"] == 2
    assert len(cdr_store.by_session("S-hot")) == 1


def test_given_dynamodb_keeps_throttling_one_session_then_only_that_record_fails_and_is_retried_later(
    lambda_context: Any, cdr_store: CdrTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = throttle(monkeypatch, "S-hot", times=None)
    event = sqs_event(
        oioi(session_post_text("S-a")), oioi(session_post_text("S-hot")), oioi(session_post_text("S-b"))
    )

    response = handler(event, lambda_context)

    assert failed_ids(response) == ["m-1"]
    # boto3 retried the batch's write, then the record's own write, then gave it back to SQS
    attempts = CONFIGS["batch"].retries["total_max_attempts"]
    assert (calls["TransactWriteItems"], calls["PutItem"]) == (attempts, attempts)
    assert cdr_store.by_session("S-hot") == []
    assert len(cdr_store.by_session("S-a")) == len(cdr_store.by_session("S-b")) == 1


@pytest.mark.usefixtures("atomic_dynamodb")
def test_given_threads_delivering_the_same_session_concurrently_then_one_cdr_and_one_correction(
    cdr_store: CdrTable, resources: dict[str, str]
) -> None:
    sent = [
        oioi(session_post_text("S-race", stop=None, charging_stop=None, energy="3.2", cost=None), 1),
        oioi(session_post_text("S-race", stop=None, charging_stop=None, energy="9.7", cost=None), 2),
        oioi(session_post_text("S-race", cost="14.32"), 3),
        oioi(session_post_text("S-race", cost="12.00"), 4),
    ]
    barrier = threading.Barrier(8)
    outcomes: list[Outcome] = []
    errors: list[BaseException] = []

    def deliver(offset: int) -> None:
        store = CdrTable(boto3.client("dynamodb", region_name="eu-west-1"), resources["CdrTable"])
        barrier.wait()
        try:
            for envelope in sent[offset:] + sent[:offset]:
                outcomes.append(ingest(parse_cdr(envelope), store))
        except BaseException as error:  # pragma: no cover - surfaced by the assert below
            errors.append(error)

    threads = [threading.Thread(target=deliver, args=(i % 4,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    records = cdr_store.history("acme-cpo", "S-race")
    assert [r.kind for r in records] == [RecordKind.CDR, RecordKind.CORRECTION]
    assert records[0].cdr.is_final
    assert {records[0].cdr.payload_hash, records[1].cdr.payload_hash} == {
        parse_cdr(sent[2]).payload_hash,
        parse_cdr(sent[3]).payload_hash,
    }
    assert outcomes.count(Outcome.CREATED) == 1
    assert outcomes.count(Outcome.CORRECTION) == 1


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data(), updates(max_finals=1))
def test_any_order_of_the_same_updates_ends_in_the_same_dynamodb_items(
    cdr_store: CdrTable, table_items: Items, data: st.DataObject, sent: list[CdrEnvelope]
) -> None:
    """The property of the unit tests, against DynamoDB's own condition expressions (moto)."""
    example = data.draw(st.uuids()).hex

    def play(envelopes: list[CdrEnvelope], partner: str) -> dict[str, Any]:
        for envelope in envelopes:
            ingest(parse_cdr(envelope.model_copy(update={"partner_id": partner})), cdr_store)
        return {
            sk: {k: v for k, v in item.items() if k not in ("pk", "partnerId")}
            for (pk, sk), item in table_items().items()
            if pk == f"{partner}#S-1"
        }

    assert play(data.draw(st.permutations(sent)), f"a{example}") == play(sent, f"b{example}")


def test_every_access_pattern_finds_its_cdrs(lambda_context: Any, cdr_store: CdrTable) -> None:
    morning = session_post_text("S-m", uid="04523022AA4881", evse="DE*8PS*ETABCD*1")
    evening = session_post_text(
        "S-e",
        uid="4523022aa4881",  # the same key, written another way
        evse="DE*8PS*ETABCD*2",
        start="2026-03-01T19:00:00+01:00",
        charging_start="2026-03-01T19:30:00+01:00",
        charging_stop="2026-03-01T21:30:00+01:00",
        stop="2026-03-01T22:00:00+01:00",
    )
    contract = session_post_text("S-c", uid="DE-8PS-C0CD0C002-Q", identifier_type="evco-id")
    other_partner = oioi(session_post_text("S-m"), partner="other-cpo")
    remote = drive(drive_session_text("D-1"))
    handler(sqs_event(oioi(morning), oioi(evening), oioi(contract), other_partner, remote), lambda_context)

    def ids(records: list[Any]) -> list[str]:
        return sorted(f"{r.cdr.partner_id}/{r.cdr.session_id}" for r in records)

    assert ids(cdr_store.by_session("S-m")) == ["acme-cpo/S-m", "other-cpo/S-m"]
    assert ids(cdr_store.history("acme-cpo", "S-m")) == ["acme-cpo/S-m"]

    def driver_key(key: str) -> str:
        kind = key.split("#", 1)[0]
        return f"{kind}#{pseudonymise_for_tests(key)}"

    assert ids(cdr_store.by_index("ByDriver", driver_key("rfid#04523022AA4881"))) == [
        "acme-cpo/S-e",
        "acme-cpo/S-m",
        "other-cpo/S-m",
    ]
    assert ids(cdr_store.by_index("ByDriver", driver_key("evco-id#DE8PSC0CD0C002Q"))) == ["acme-cpo/S-c"]
    assert ids(cdr_store.by_index("ByDriver", driver_key("drive-user#ourTestUser"))) == ["plugsurfing/D-1"]
    evening_only = cdr_store.by_index(
        "ByDriver",
        driver_key("rfid#04523022AA4881"),
        start=datetime(2026, 3, 1, 17, tzinfo=UTC),
        end=datetime(2026, 3, 2, tzinfo=UTC),
    )
    assert ids(evening_only) == ["acme-cpo/S-e"]
    assert cdr_store.by_index("ByDriver", "rfid#04523022AA4881") == []  # no raw id in any index
    # What an operator types, in any spelling (bbctl cdr driver): the same records.
    uid = Driver(type=DriverType.RFID, id="04523022AA4881")
    assert ids(cdr_store.by_driver(uid, pseudonymise_for_tests)) == [
        "acme-cpo/S-e",
        "acme-cpo/S-m",
        "other-cpo/S-m",
    ]


def test_given_a_record_that_fails_to_store_then_its_log_names_message_session_and_reason(
    monkeypatch: pytest.MonkeyPatch, lambda_context: Any, log_output: io.StringIO
) -> None:
    throttle(monkeypatch, "S-fail", times=None)

    batch = sqs_event(oioi(session_post_text("S-ok")), oioi(session_post_text("S-fail")))
    response = handler(batch, lambda_context)

    assert failed_ids(response) == ["m-1"]
    [line] = [json.loads(text) for text in log_output.getvalue().splitlines() if "not stored" in text]
    assert (line["message_id"], line["session_id"], line["level"]) == ("m-1", "S-fail", "ERROR")
    assert "ProvisionedThroughputExceeded" in line["reason"]


@pytest.mark.usefixtures("atomic_dynamodb")
def test_given_20_parallel_deliveries_of_one_session_in_batches_then_one_cdr_and_one_correction(
    cdr_store: CdrTable, resources: dict[str, str]
) -> None:
    """20 Lambda instances, each with a batch holding the session's updates in its own order."""
    sent = [
        oioi(session_post_text("S-race20", stop=None, charging_stop=None, energy="3.2", cost=None), 1),
        oioi(session_post_text("S-race20", stop=None, charging_stop=None, energy="9.7", cost=None), 2),
        oioi(session_post_text("S-race20", cost="14.32"), 3),
        oioi(session_post_text("S-race20", cost="12.00"), 4),
        oioi(session_post_text("S-other"), 5),
    ]
    barrier = threading.Barrier(20)
    outcomes: list[Outcome | Exception] = []

    def deliver(offset: int) -> None:
        store = CdrTable(boto3.client("dynamodb", region_name="eu-west-1"), resources["CdrTable"])
        batch = [parse_cdr(envelope) for envelope in sent[offset:] + sent[:offset]]
        barrier.wait()
        outcomes.extend(ingest_batch(batch, store))

    threads = [threading.Thread(target=deliver, args=(i % len(sent),)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [o for o in outcomes if isinstance(o, Exception)] == []
    records = cdr_store.history("acme-cpo", "S-race20")
    assert [r.kind for r in records] == [RecordKind.CDR, RecordKind.CORRECTION]
    assert records[0].cdr.is_final
    assert {records[0].cdr.payload_hash, records[1].cdr.payload_hash} == {
        parse_cdr(sent[2]).payload_hash,
        parse_cdr(sent[3]).payload_hash,
    }
    assert len(cdr_store.history("acme-cpo", "S-other")) == 1
    assert outcomes.count(Outcome.CREATED) == 2  # S-race20 and S-other, once each
    assert outcomes.count(Outcome.CORRECTION) == 1


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data(), updates(max_finals=1))
def test_any_order_and_batching_of_the_same_updates_ends_in_the_dynamodb_items_of_one_by_one_ingestion(
    cdr_store: CdrTable, table_items: Items, data: st.DataObject, sent: list[CdrEnvelope]
) -> None:
    """Batches through TransactWriteItems and DynamoDB's own condition expressions (moto)."""
    example = data.draw(st.uuids()).hex
    order = data.draw(st.permutations(sent))
    cuts = sorted(set(data.draw(st.lists(st.integers(0, len(sent)), max_size=3))))

    def items_of(partner: str) -> dict[str, Any]:
        return {
            sk: {k: v for k, v in item.items() if k not in ("pk", "partnerId")}
            for (pk, sk), item in table_items().items()
            if pk == f"{partner}#S-1"
        }

    batched = [parse_cdr(envelope.model_copy(update={"partner_id": f"a{example}"})) for envelope in order]
    for start, end in zip([0, *cuts], [*cuts, len(batched)], strict=True):
        assert not [r for r in ingest_batch(batched[start:end], cdr_store) if isinstance(r, Exception)]
    for envelope in sent:
        ingest(parse_cdr(envelope.model_copy(update={"partner_id": f"b{example}"})), cdr_store)

    assert items_of(f"a{example}") == items_of(f"b{example}")
