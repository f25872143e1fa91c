"""The shared AWS and partner rules every capability relies on: what a failed condition is, what
is worth retrying, and what a CDR enqueue failure looks like to the caller."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from backbone.aws.attributes import from_attributes, plain, to_attributes
from backbone.aws.cdr_queue import CdrQueueUnavailable, SqsCdrQueue
from backbone.aws.errors import error_code, is_condition_failed
from backbone.errors import TemporaryFailure
from backbone.partners.errors import (
    BadRequest,
    Conflict,
    PartnerUnavailable,
    ServerError,
    TooManyRequests,
    is_transient,
)


def client_error(code: str, **extra: Any) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, **extra}, "Op")


def test_given_a_refused_condition_then_it_is_a_condition_failure() -> None:
    assert is_condition_failed(client_error("ConditionalCheckFailedException"))
    cancelled = client_error(
        "TransactionCanceledException",
        CancellationReasons=[{"Code": "None"}, {"Code": "ConditionalCheckFailed"}],
    )
    assert is_condition_failed(cancelled)


def test_given_other_failures_then_they_are_not_condition_failures() -> None:
    assert not is_condition_failed(client_error("ProvisionedThroughputExceededException"))
    assert not is_condition_failed(
        client_error("TransactionCanceledException", CancellationReasons=[{"Code": "ThrottlingError"}])
    )
    assert not is_condition_failed(ValueError("x"))
    assert error_code(ValueError("x")) == ""
    assert error_code(client_error("ResourceNotFoundException")) == "ResourceNotFoundException"


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("cut"),
        PartnerUnavailable("gone", last_error=httpx.ConnectError("refused")),
        TooManyRequests("slow down", status=429),
        ServerError("boom", status=502),
        Conflict("timeout", status=408),
    ],
)
def test_given_no_answer_or_a_busy_partner_then_it_is_transient(error: Exception) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        BadRequest("bad", status=400),
        Conflict("exists", status=409),
        httpx.UnsupportedProtocol("ftp://"),
        ValueError(),
    ],
)
def test_given_an_answer_that_will_not_change_then_it_is_not_transient(error: Exception) -> None:
    assert not is_transient(error)


def test_given_item_values_then_attributes_round_trip_and_numbers_come_back_plain() -> None:
    item = {"pk": "s#1", "kwh": Decimal("16.5"), "count": 3, "tags": ["a"], "nested": {"n": Decimal(2)}}
    back = from_attributes(to_attributes(item))
    assert back == item
    assert plain(back) == {"pk": "s#1", "kwh": 16.5, "count": 3, "tags": ["a"], "nested": {"n": 2}}
    assert isinstance(plain(back)["nested"]["n"], int)


class FailingSqs:
    def send_message(self, **_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://sqs")


class Envelope:
    def to_message(self) -> str:
        return "{}"


def test_given_sqs_down_when_a_cdr_is_sent_then_a_temporary_failure_says_nothing_was_queued() -> None:
    with pytest.raises(CdrQueueUnavailable) as raised:
        SqsCdrQueue(FailingSqs(), "https://sqs/q").send(Envelope())  # type: ignore[arg-type]
    assert isinstance(raised.value, TemporaryFailure)
    assert raised.value.http_status == 503
