"""`bbctl sessions ...`: remote charging sessions (docs/session-poller.md).

    python -m bbctl sessions show ID [--json]      status, times and history (request or session id)
    python -m bbctl sessions watch ID              print each change until the session is settled
    python -m bbctl sessions events [--follow]     SessionStatusChanged events from the bus
    python -m bbctl sessions events --remove       take the event tap away again

Starting and stopping go through the internal API (SigV4-signed, see the doc); these commands
only read SessionsTable and the event bus.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from backbone.errors import DomainError
from backbone.sessions.aws import DynamoSessionStore
from backbone.sessions.commands import find_session
from backbone.sessions.models import HistoryEntry, SessionRecord, is_settled
from backbone.timeutil import to_storage
from bbctl import Target, add_target_arguments
from bbctl.ops_sessions import SessionEventTap

Run = Callable[[argparse.Namespace], int]
TAP_NAME = "bbctl-session-events"


def register(groups: Any) -> None:
    sessions = groups.add_parser("sessions", help="remote charging sessions: status, history, events")
    commands = sessions.add_subparsers(dest="command", required=True, metavar="COMMAND")

    command = _command(commands, "show", "one session: status, times and history", _show)
    command.add_argument("identifier", metavar="ID", help="our request id or the partner's session id")
    command.add_argument("--json", action="store_true", help="the record as JSON")

    command = _command(commands, "watch", "print each change of a session until it is settled", _watch)
    command.add_argument("identifier", metavar="ID")
    command.add_argument("--interval", type=float, default=2.0, help="seconds between reads (default 2)")
    command.add_argument("--timeout", type=float, default=900.0, help="give up after this many seconds")

    command = _command(commands, "events", "SessionStatusChanged events on SessionEventBus", _events)
    command.add_argument("--follow", action="store_true", help="keep printing events as they come (Ctrl-C)")
    command.add_argument("--remove", action="store_true", help="remove the tap (rule and queue) and exit")


def _command(commands: Any, name: str, text: str, run: Run) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(name, help=text, description=text)
    add_target_arguments(parser)
    parser.set_defaults(func=_guarded(run))
    return parser


def _guarded(run: Run) -> Run:
    """Refusals are one line on stderr and exit 1, never a traceback."""

    def guarded(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except DomainError as error:
            print(f"error: {error.detail}", file=sys.stderr)
        except KeyboardInterrupt:
            return 130
        return 1

    return guarded


def _store(args: argparse.Namespace) -> DynamoSessionStore:
    target = Target.from_args(args)
    table = target.output("SessionsTableName", "SessionsTable")
    return DynamoSessionStore(target.resource("dynamodb").Table(table))


def _show(args: argparse.Namespace) -> int:
    record = find_session(args.identifier, _store(args))
    if args.json:
        print(json.dumps(record.view(), indent=2))
        return 0
    print(_summary(record))
    for entry in record.history:
        print(_line(entry))
    return 0


def _watch(args: argparse.Namespace) -> int:
    store = _store(args)
    record = find_session(args.identifier, store)
    print(_summary(record))
    printed = 0
    deadline = time.monotonic() + args.timeout
    while True:
        for entry in record.history[printed:]:
            print(_line(entry), flush=True)
        printed = len(record.history)
        if is_settled(record.status, record.balance_status):
            return 0
        if time.monotonic() > deadline:
            print(f"still {record.status} after {args.timeout:.0f} s", file=sys.stderr)
            return 1
        time.sleep(args.interval)
        record = find_session(record.request_id, store)


def _events(args: argparse.Namespace) -> int:
    target = Target.from_args(args)
    bus = target.output("SessionEventBusName", "SessionEventBus")
    tap = SessionEventTap(target.client("events"), target.client("sqs"), bus, TAP_NAME)
    if args.remove:
        tap.remove()
        print(f"removed the tap {TAP_NAME} from {bus}")
        return 0
    queue_url = tap.attach()
    print(f"# events on {bus} (tap queue {TAP_NAME})", file=sys.stderr)
    while True:
        for event in tap.read(queue_url, wait_seconds=5 if args.follow else 1):
            detail = event.get("detail", {})
            print(
                f"{detail.get('at')}  {detail.get('requestId')}  "
                f"{detail.get('previousStatus')} -> {detail.get('status')}"
                + (f"  balance {detail['balanceStatus']}" if detail.get("balanceStatus") else "")
                + (f"  ({detail['note']})" if detail.get("note") else ""),
                flush=True,
            )
        if not args.follow:
            return 0


def _summary(record: SessionRecord) -> str:
    who = f"user {record.user_id}" if record.user_id else f"key {record.key_identifier}"
    balance = f", balance {record.balance_status}" if record.balance_status else ""
    stop = f", stop requested {to_storage(record.stop_requested_at)}" if record.stop_requested_at else ""
    return (
        f"{record.request_id}: {record.status}{balance} - session {record.session_id or '-'} "
        f"({record.mode}, {who}, connector {record.connector_id}){stop}\n"
        f"  execution {record.execution_arn}"
    )


def _line(entry: HistoryEntry) -> str:
    balance = f" balance {entry.balance_status}" if entry.balance_status else ""
    note = f"  ({entry.note})" if entry.note else ""
    return f"  {to_storage(entry.at)}  {entry.status}{balance}{note}"
