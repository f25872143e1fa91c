"""Progress of long operator commands: counts on stderr as work goes, at most one line per
interval (rewritten in place on a terminal), a final count; boto3 calls counted by their hooks."""

from __future__ import annotations

import contextlib
import io

import boto3
from botocore.stub import Stubber

from bbctl.progress import Progress, count_calls


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_given_work_over_time_when_advancing_then_a_line_per_interval_and_a_final_count() -> None:
    stream, clock = io.StringIO(), Clock()

    with Progress("keys written", 300, stream=stream, interval=1.0, clock=clock) as progress:
        for _ in range(3):
            progress.advance(100)  # three batches within the same second: one line at most
        clock.now = 1.5
        progress.advance(0)

    assert stream.getvalue().splitlines() == ["keys written: 300/300", "keys written: 300/300 done"]


def test_given_a_slow_loop_when_iterating_then_each_interval_shows_the_count_so_far() -> None:
    stream, clock = io.StringIO(), Clock()
    progress = Progress("orders read", stream=stream, interval=1.0, clock=clock)

    for _ in progress.iterate(range(4)):
        clock.now += 0.6
    progress.finish()

    assert stream.getvalue().splitlines() == ["orders read: 2", "orders read: 4", "orders read: 4 done"]


def test_given_a_terminal_when_advancing_then_the_line_is_rewritten_in_place() -> None:
    stream, clock = Terminal(), Clock()

    with Progress("sent back", 2, stream=stream, interval=0.0, clock=clock) as progress:
        progress.advance()
        progress.advance()

    assert stream.getvalue() == "\rsent back: 1/2\rsent back: 2/2\rsent back: 2/2 done\n"


def test_given_nothing_counted_when_done_then_nothing_is_printed() -> None:
    stream = io.StringIO()

    with Progress("sent back", 0, stream=stream):
        pass

    assert stream.getvalue() == ""


def test_given_a_boto3_client_when_its_calls_succeed_then_each_advances_by_its_units() -> None:
    client = boto3.client(
        "dynamodb", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stream = io.StringIO()
    progress = Progress("keys written", stream=stream, interval=0.0)
    count_calls(client, "TransactWriteItems", progress, lambda params: len(params["TransactItems"]))
    items = [{"Put": {"TableName": "keys", "Item": {"uid": {"S": f"{n}"}}}} for n in range(3)]

    with Stubber(client) as stub:
        stub.add_response("transact_write_items", {})
        stub.add_client_error("transact_write_items", "TransactionCanceledException")
        stub.add_response("describe_table", {"Table": {"TableName": "keys"}})
        client.transact_write_items(TransactItems=items)
        with contextlib.suppress(client.exceptions.TransactionCanceledException):
            client.transact_write_items(TransactItems=items)
        client.describe_table(TableName="keys")  # another operation: not counted

    assert progress.count == 3  # the refused transaction wrote nothing
