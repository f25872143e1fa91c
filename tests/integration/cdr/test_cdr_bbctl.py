"""`bbctl cdr show|driver|dlq|redrive` against moto: a driver's CDRs by the id an operator types;
dead letters with their reasons, redrive back to CdrQueue (SQS's move task where it exists, else
copy-then-delete), nothing lost on a failure."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from cdrfactory import oioi, session_post_text
from handler_cdr_ingest import handler
from test_cdr_ingest_handler import sqs_event

from backbone.aws.attributes import to_attributes
from backbone.cdr.models import REJECT_REASON
from backbone.cdr.parse import parse_cdr
from bbctl import Target
from bbctl import ops_cdr as dlq
from bbctl.__main__ import main as bbctl

pytestmark = pytest.mark.usefixtures("cdr_env")
Drain = Callable[[str], list[dict[str, Any]]]


@pytest.fixture
def cli(
    resources: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., str]:
    """Run `bbctl cdr ...` against moto; returns what it printed. Stack resolution (outputs,
    local names) is the e2e tests' business."""
    monkeypatch.setattr(Target, "output", lambda self, key, logical_id: resources[logical_id])

    def run(*argv: str, code: int = 0) -> str:
        capsys.readouterr()
        assert bbctl(["cdr", *argv, "--region", "eu-west-1"]) == code
        return capsys.readouterr().out

    return run


@pytest.fixture
def dead_letters(lambda_context: Any, aws: boto3.Session, resources: dict[str, str]) -> list[str]:
    """Two invalid CDRs parked by ingestion and one message that ran out of deliveries."""
    bad = [oioi(session_post_text(f"S-bad-{n}"), partner="acme#bad") for n in range(2)]
    handler(sqs_event(*bad), lambda_context)
    aws.client("sqs").send_message(QueueUrl=resources["CdrDeadLetterQueue"], MessageBody=bad[0].to_message())
    return [envelope.to_message() for envelope in bad]


def test_given_dead_letters_when_peeking_then_each_shows_its_reason_and_stays_in_the_queue(
    cli: Callable[..., str], dead_letters: list[str], aws: boto3.Session, resources: dict[str, str]
) -> None:
    printed = [json.loads(line) for line in cli("dlq", "--json").splitlines()]

    assert sorted(p["sessionId"] for p in printed) == ["S-bad-0", "S-bad-0", "S-bad-1"]
    reasons = [p["reason"] for p in printed]
    assert sum("must not contain '#'" in reason for reason in reasons) == 2  # parked by ingestion
    assert sum("maxReceiveCount" in reason for reason in reasons) == 1  # ran out of deliveries
    assert len(dlq.peek(aws.client("sqs"), resources["CdrDeadLetterQueue"], 10)) == 3  # not consumed


def test_given_dead_letters_when_redriven_then_they_are_back_on_the_cdr_queue_without_reject_notes(
    cli: Callable[..., str], dead_letters: list[str], queue_messages: Drain, resources: dict[str, str]
) -> None:
    assert "3 message(s) sent back" in cli("redrive")

    back = queue_messages(resources["CdrQueue"])
    assert sorted(m["Body"] for m in back) == sorted([*dead_letters, dead_letters[0]])
    assert all(REJECT_REASON not in m.get("MessageAttributes", {}) for m in back)
    assert queue_messages(resources["CdrDeadLetterQueue"]) == []


def test_given_dead_letters_when_redriven_then_progress_counts_on_stderr_and_stdout_stays_the_result(
    dead_letters: list[str],
    resources: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(Target, "output", lambda self, key, logical_id: resources[logical_id])
    capsys.readouterr()

    assert bbctl(["cdr", "redrive", "--region", "eu-west-1"]) == 0

    printed = capsys.readouterr()
    assert printed.err.splitlines()[-1] == "dead letters sent back: 3/3 done"
    assert "dead letters" not in printed.out
    assert printed.out.splitlines()[-1] == "3 message(s) sent back to the CDR queue"


def test_given_a_limit_when_redriving_then_only_that_many_move(
    cli: Callable[..., str], dead_letters: list[str], queue_messages: Drain, resources: dict[str, str]
) -> None:
    assert "2 message(s) sent back" in cli("redrive", "--max", "2")

    assert len(queue_messages(resources["CdrQueue"])) == 2
    assert len(queue_messages(resources["CdrDeadLetterQueue"])) == 1


def test_given_the_send_fails_midway_when_redriving_then_no_message_is_lost(
    dead_letters: list[str], aws: boto3.Session, resources: dict[str, str], queue_messages: Drain
) -> None:
    sqs = aws.client("sqs")
    sent: list[str] = []
    real_send = sqs.send_message

    def flaky_send(**kwargs: Any) -> Any:
        if len(sent) == 1:
            raise ConnectionError("network gone")
        sent.append(kwargs["MessageBody"])
        return real_send(**kwargs)

    sqs.send_message = flaky_send  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        dlq.redrive(sqs, resources["CdrDeadLetterQueue"], resources["CdrQueue"])

    on_queue = queue_messages(resources["CdrQueue"])
    in_dlq = queue_messages_after_visibility(aws, resources["CdrDeadLetterQueue"])
    assert len(on_queue) == 1
    assert len(on_queue) + len(in_dlq) == 3


def queue_messages_after_visibility(aws: boto3.Session, url: str) -> list[dict[str, Any]]:
    """Messages still in a queue, including those hidden by an interrupted receive."""
    sqs = aws.client("sqs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    count = int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )
    return [{}] * count


def test_given_an_ingested_session_when_shown_then_the_cdr_and_its_correction_are_listed(
    cli: Callable[..., str], lambda_context: Any
) -> None:
    handler(sqs_event(oioi(session_post_text("S-show", cost="14.32"), 1)), lambda_context)
    handler(sqs_event(oioi(session_post_text("S-show", cost="12.00"), 2)), lambda_context)

    shown = json.loads(cli("show", "S-show", "--json"))

    assert [(v["kind"], v["costAmount"]) for v in shown] == [("CDR", "14.32"), ("CORRECTION", "12.00")]
    assert "raw" not in shown[0]
    text = cli("show", "S-show", "--raw")
    assert "energy=16.5 kWh cost=14.32 EUR" in text
    assert '"session-id":"S-show"' in text
    assert "no CDR" in cli("show", "S-nothing", code=1)


def test_given_cdrs_of_a_driver_when_an_operator_types_the_uid_then_new_and_legacy_records_are_found(
    cli: Callable[..., str], lambda_context: Any, aws: boto3.Session, resources: dict[str, str]
) -> None:
    handler(sqs_event(oioi(session_post_text("S-new", uid="04523022AA4881"))), lambda_context)
    handler(sqs_event(oioi(session_post_text("S-other", uid="0477BD22AA4880"))), lambda_context)
    # Written before pseudonymisation at write: the raw id in driverKey, no driverHash, until
    # the retention purge rewrites it.
    legacy = parse_cdr(oioi(session_post_text("S-legacy", start="2026-02-01T11:00:00+01:00", stop=None)))
    item = legacy.to_item() | {"driverKey": "rfid#04523022AA4881"}
    aws.client("dynamodb").put_item(TableName=resources["CdrTable"], Item=to_attributes(item))

    shown = json.loads(cli("driver", "rfid", "4523022aa4881", "--json"))  # another spelling

    assert [v["sessionId"] for v in shown] == ["S-legacy", "S-new"]  # oldest start first
    assert [
        v["sessionId"]
        for v in json.loads(
            cli("driver", "rfid", "04523022AA4881", "--json", "--from", "2026-03-01T00:00:00Z")
        )
    ] == ["S-new"]
    pepper = aws.client("secretsmanager").get_secret_value(SecretId=resources["PrivacyPepperSecret"])
    assert pepper["SecretString"] not in cli("driver", "rfid", "04523022AA4881", "--raw")
    assert "no CDR for driver rfid#0477BD22AA4AAA" in cli("driver", "rfid", "0477BD22AA4AAA", code=1)


# --- review: CDRs stored with anomalies ---------------------------------------------------------


def test_given_flagged_cdrs_when_reviewed_then_listed_with_anomalies_resolved_once_and_left_unchanged(
    cli: Callable[..., str], lambda_context: Any, aws: boto3.Session, resources: dict[str, str]
) -> None:
    flagged = oioi(session_post_text("S-odd", currency="euro", energy='"1_6.5"'))
    clean = oioi(session_post_text("S-clean"))
    assert handler(sqs_event(flagged, clean), lambda_context) == {"batchItemFailures": []}

    [listed] = [json.loads(line) for line in cli("review", "list", "--json").splitlines()]
    assert (listed["partnerId"], listed["sessionId"], listed["needsReview"]) == ("acme-cpo", "S-odd", "OPEN")
    assert any(a.startswith("calculated-cost.currency") for a in listed["anomalies"])
    assert any(a.startswith("energy-consumed") for a in listed["anomalies"])
    assert "energyKwh" not in listed  # never guessed
    before = aws.client("dynamodb").get_item(
        TableName=resources["CdrTable"], Key={"pk": {"S": "acme-cpo#S-odd"}, "sk": {"S": "CDR"}}
    )["Item"]

    assert "resolved" in cli("review", "resolve", "acme-cpo", "S-odd", "--note", "billed 16.5 kWh by hand")
    cli("review", "resolve", "acme-cpo", "S-odd", "--note", "again", code=1)
    assert "0 CDR(s) awaiting review" in cli("review", "list")
    after = aws.client("dynamodb").get_item(
        TableName=resources["CdrTable"], Key={"pk": {"S": "acme-cpo#S-odd"}, "sk": {"S": "CDR"}}
    )["Item"]
    assert after["reviewNote"] == {"S": "billed 16.5 kWh by hand"}
    assert {k: v for k, v in after.items() if k not in ("reviewNote", "reviewedAt")} == {
        k: v for k, v in before.items() if k != "needsReview"
    }  # the CDR itself is untouched
    shown = json.loads(cli("show", "S-odd", "--json"))
    assert shown[0]["reviewNote"] == "billed 16.5 kWh by hand"
    assert "needsReview" not in shown[0]
