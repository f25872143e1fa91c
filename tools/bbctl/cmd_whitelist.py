"""`bbctl whitelist ...`: push the RFID whitelist now, and read the push audit (docs/whitelist-push.md).

python -m bbctl whitelist push [--override --reason R]
python -m bbctl whitelist history [--limit N]
python -m bbctl whitelist show <time-prefix|last|last-success> [--uids]
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from botocore.config import Config

from backbone.whitelist.aws import AuditStore
from backbone.whitelist.models import PushAttempt, PushRequest
from bbctl import Target, add_target_arguments
from bbctl.ops_whitelist import (
    OK_OUTCOMES,
    PushNotRun,
    describe,
    find_attempts,
    history_lines,
    invoke_push,
)

INVOKE_READ_TIMEOUT_S = 330  # above the function's Timeout (300 s)


def register(groups: Any) -> None:
    whitelist = groups.add_parser("whitelist", help="RFID whitelist push (rfid-post): push now, audit")
    commands = whitelist.add_subparsers(dest="command", required=True, metavar="COMMAND")

    command = _command(commands, "push", "push the whitelist now (WhitelistPushFunction)", _push)
    command.add_argument(
        "--override", action="store_true", help="send even if a guard refuses (empty list, shrink)"
    )
    command.add_argument("--reason", help="why (required with --override; audited)")

    command = _command(commands, "history", "recent push attempts, newest first", _history)
    command.add_argument("--limit", type=int, default=20)

    command = _command(commands, "show", "one attempt with every audited fact", _show)
    command.add_argument(
        "attempt",
        metavar="TIME|last|last-success",
        help="a time (prefix) from history, e.g. 2026-03-01T03:00",
    )
    command.add_argument("--uids", action="store_true", help="also print the UIDs a SENT attempt pushed")


def _command(
    commands: Any, name: str, text: str, run: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(name, help=text, description=text)
    add_target_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--table", default=os.environ.get("WHITELIST_AUDIT_TABLE"), help=argparse.SUPPRESS)
    parser.set_defaults(func=run)
    return parser


def _store(args: argparse.Namespace) -> AuditStore:
    target = Target.from_args(args)
    table = args.table or target.output("WhitelistAuditTableName", "WhitelistAuditTable")
    return AuditStore(target.resource("dynamodb").Table(table))


def _print(attempt: PushAttempt, as_json: bool) -> None:
    if as_json:
        print(json.dumps(attempt.model_dump(by_alias=True, mode="json", exclude_none=True), indent=2))
    else:
        print(describe(attempt))


# --- commands ------------------------------------------------------------------------------------


def _push(args: argparse.Namespace) -> int:
    if args.override and not (args.reason or "").strip():
        print("error: --override needs --reason (it is audited with the push)", file=sys.stderr)
        return 2
    request = PushRequest(
        trigger="manual", override=args.override, reason=args.reason, requested_by=getpass.getuser()
    )
    target = Target.from_args(args)
    function = target.output("WhitelistPushFunctionName", "WhitelistPushFunction")
    client = target.session.client(
        "lambda",
        endpoint_url=target.endpoint_url,
        # One attempt: a retried invoke must not start a second push behind our back.
        config=Config(read_timeout=INVOKE_READ_TIMEOUT_S, retries={"max_attempts": 1, "mode": "standard"}),
    )
    try:
        attempt = invoke_push(client, function, request)
    except PushNotRun as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    _print(attempt, args.json)
    return 0 if attempt.outcome in OK_OUTCOMES else 1


def _history(args: argparse.Namespace) -> int:
    attempts = _store(args).history(limit=args.limit)
    if args.json:
        for attempt in attempts:
            print(json.dumps(attempt.model_dump(by_alias=True, mode="json", exclude_none=True)))
    else:
        print("\n".join(history_lines(attempts)))
    return 0


def _show(args: argparse.Namespace) -> int:
    store = _store(args)
    attempts = find_attempts(store, args.attempt)
    if not attempts:
        print(
            f"error: no push attempt matches {args.attempt!r} (see `bbctl whitelist history`)",
            file=sys.stderr,
        )
        return 1
    for index, attempt in enumerate(attempts):
        if index:
            print()
        _print(attempt, args.json)
        if args.uids:
            uids = store.sent_uids(attempt)
            print(
                "\n".join(uids) if uids is not None else "(no UID list stored: only SENT attempts keep one)"
            )
    return 0
