"""No driver identifier reaches a log line, on moto (docs/privacy.md, "Logs and traces").

Every integration test already fails if a handler it ran logged one of the test data's driver
identifiers (`no_driver_identifier_logged`, tests/integration/conftest.py). These tests show that
check sees the handlers' lines and fails on a leak: the receiver answering rfid-verify for the
seed's staging UID, on the happy path and with its table gone (the exception and its traceback
logged), and a planted `logger.info(uid)`.
"""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import boto3
import pytest
from driverids import leaks
from test_no_secrets_logged import EventLoader, env, partner_key, receive  # noqa: F401 (fixtures)

from backbone.observability import logger

UID = "04523022AA4881"  # seed 002: the active staging UID


def rfid_verify(load_event: EventLoader, uid: str) -> EventLoader:
    def load(name: str) -> Any:
        event = copy.deepcopy(load_event(name))
        event["body"] = json.dumps({"rfid-verify": {"rfid": uid}})
        return event

    return load


def test_given_rfid_verify_for_a_staging_uid_on_every_path_then_the_receiver_logs_no_spelling_of_it(
    partner_key: str,  # noqa: F811 (the fixture imported above)
    resources: dict[str, str],
    aws: boto3.Session,
    load_event: EventLoader,
    lambda_context: Any,
    no_driver_identifier_logged: io.StringIO,
) -> None:
    verify = rfid_verify(load_event, UID)
    assert receive(verify, lambda_context, partner_key, "oioi/rfid-verify.json")["statusCode"] == 200
    aws.client("dynamodb").delete_table(TableName=resources["ChargingKeysTable"])
    assert receive(verify, lambda_context, partner_key, "oioi/rfid-verify.json")["statusCode"] >= 500

    text = no_driver_identifier_logged.getvalue()
    assert '"request failed"' in text, "the failure was logged, traceback and all: the capture works"
    assert leaks(text, [UID]) == []


def test_given_a_planted_log_of_a_uid_then_the_check_catches_it(
    no_driver_identifier_logged: io.StringIO,
) -> None:
    uid = "04523022334881"  # all digits: no shape the formatter could recognise
    logger.info(uid)

    assert leaks(no_driver_identifier_logged.getvalue(), [uid]) != []
    assert leaks(no_driver_identifier_logged.getvalue(), [uid.lower()]) != []
    no_driver_identifier_logged.truncate(0)  # planted on purpose: not a finding of this test


@pytest.mark.parametrize("spelling", [UID, UID.lower(), "8148aa22305204", "8148AA22305204"])
def test_given_a_planted_log_of_a_known_uid_in_any_spelling_then_the_suite_check_knows_it(
    spelling: str,
) -> None:
    # What the autouse check compares with (tests/driverids.py): each spelling of the seed's UID.
    assert leaks(f'{{"message": "key {spelling} synced"}}') != []
