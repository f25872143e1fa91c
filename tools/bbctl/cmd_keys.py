"""`bbctl keys ...`: import, list, show and change charging keys (docs/charging-keys.md).

Every change goes through the layer's lifecycle rules (`backbone.keys.lifecycle`) and is written with
optimistic locking; the table's stream then syncs it to Plugsurfing (KeySyncFunction).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backbone.errors import DomainError
from backbone.keys import lifecycle as logic
from backbone.keys.aws import KeyStore
from backbone.keys.models import ChargingKey, KeyState
from backbone.timeutil import utc_now
from bbctl import Target, add_target_arguments
from bbctl.key_import import import_keys
from bbctl.ops_keys import reindex_whitelist
from bbctl.progress import Progress, count_calls


def register(groups: Any) -> None:
    keys = groups.add_parser("keys", help="charging keys: import, list, show, enable/disable/lost/assign")
    commands = keys.add_subparsers(dest="command", required=True, metavar="COMMAND")

    command = _command(commands, "import", "add keys from a CSV file (all or nothing)", _import)
    command.add_argument(
        "file", type=Path, help="CSV with a header: uid,visual_number[,type,contract_id,...]"
    )
    command.add_argument("--skip-bad", action="store_true", help="import the good rows, report the bad")
    command.add_argument(
        "--uid-order",
        choices=["big", "little"],
        default="big",
        help="byte order the reader printed the uid column in (default big: MSB first, the OIOI form)",
    )

    command = _command(commands, "list", "list keys", _list)
    command.add_argument("--state", choices=[state.value for state in KeyState])
    command.add_argument("--owner", help="user or fleet id")
    command.add_argument("--json", action="store_true", help="one JSON object per line")

    command = _command(commands, "show", "show one key with its sync state", _show)
    command.add_argument("key", metavar="UID|VISUAL", help="UID (any byte-padding/case) or visual number")

    for name, text in (
        ("enable", "enable a key (ACTIVE): authorises, whitelisted, enabled at Plugsurfing"),
        ("disable", "disable a key at once (DISABLED): refused, off the whitelist, disabled at Plugsurfing"),
        ("lost", "mark a key lost (LOST, final): like disable, and it can never be used again"),
    ):
        _command(commands, name, text, _lifecycle).add_argument("key", metavar="UID|VISUAL")

    command = _command(commands, "assign", "assign a key to a user or a fleet (ASSIGNED)", _assign)
    command.add_argument("key", metavar="UID|VISUAL")
    owner = command.add_mutually_exclusive_group(required=True)
    owner.add_argument("--user", help="user id (Drive mode: the Plugsurfing user id)")
    owner.add_argument("--fleet", help="fleet id (EMP mode: sent as fleetId)")

    command = _command(commands, "rename", "set the owner's label of a key (Drive shows it)", _rename)
    command.add_argument("key", metavar="UID|VISUAL")
    command.add_argument("name")

    command = _command(
        commands, "reconcile", "compare with Plugsurfing now (KeyReconcileFunction)", _reconcile
    )
    command.add_argument("--repair", action="store_true", help="also repair missing/mismatched keys")

    command = _command(
        commands,
        "reindex-whitelist",
        "make every key's whitelist index entry agree with the charging rule (upgrade step)",
        _reindex_whitelist,
    )
    command.add_argument("--dry-run", action="store_true", help="report only, change nothing")


def _command(
    commands: Any, name: str, text: str, run: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(name, help=text, description=text)
    add_target_arguments(parser)
    parser.add_argument("--table", default=os.environ.get("CHARGING_KEYS_TABLE"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--partner-mode",
        choices=["emp", "drive"],
        default=os.environ.get("PARTNER_MODE"),
        help="default: the stack's PartnerMode parameter (emp locally)",
    )
    parser.set_defaults(func=_guarded(run))
    return parser


def _guarded(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Business refusals are printed as one line and exit 1, never as a traceback."""

    def guarded(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except DomainError as error:
            print(f"error: {error.detail}", file=sys.stderr)
            return 1

    return guarded


def _store(args: argparse.Namespace) -> KeyStore:
    target = Target.from_args(args)
    table = args.table or target.output("ChargingKeysTableName", "ChargingKeysTable")
    return KeyStore(target.resource("dynamodb").Table(table))


def _drive_mode(args: argparse.Namespace) -> bool:
    """Drive activates keys for a user: enabling needs a user owner there."""
    return (args.partner_mode or Target.from_args(args).parameter("PartnerMode", "emp")) == "drive"


# --- commands ------------------------------------------------------------------------------------


def _import(args: argparse.Namespace) -> int:
    text = args.file.read_text(encoding="utf-8-sig")
    store = _store(args)
    rows = max(0, len([line for line in text.splitlines() if line.strip()]) - 1)  # less the header
    client = store.table.meta.client
    with Progress("keys checked against the table", rows) as checked:
        count_calls(client, "BatchGetItem", checked, _requested_keys)
        with Progress("keys written", rows) as written:
            count_calls(client, "TransactWriteItems", written, lambda params: len(params["TransactItems"]))
            result = import_keys(text, store, utc_now(), skip_bad=args.skip_bad, uid_order=args.uid_order)
    for error in result.errors:
        print(f"{args.file}:{error}", file=sys.stderr)
    if result.errors and not args.skip_bad:
        print(
            f"nothing imported: {len(result.errors)} bad row(s) of {result.total_rows}; "
            "fix them or use --skip-bad",
            file=sys.stderr,
        )
        return 1
    skipped = f", {len(result.errors)} bad row(s) skipped" if result.errors else ""
    print(f"imported {len(result.imported)} key(s) as IN_STOCK{skipped}")
    return 0


def _requested_keys(params: Any) -> int:
    return sum(len(request.get("Keys", [])) for request in params.get("RequestItems", {}).values())


def _list(args: argparse.Namespace) -> int:
    store = _store(args)
    if args.owner:
        keys: Any = store.list_by_owner(args.owner)
        if args.state:
            keys = [key for key in keys if key.state == args.state]
    else:
        keys = store.iter_keys(KeyState(args.state) if args.state else None)
    if args.json:
        for key in keys:
            print(json.dumps(_view(key)))
        return 0
    print(f"{'UID':<20} {'VISUAL NUMBER':<24} {'STATE':<9} {'ON':<3} {'OWNER':<24} SYNC")
    for key in keys:
        owner = f"{key.owner_type}:{key.owner_id}" if key.owner_id else "-"
        on = "yes" if key.enabled else "no"
        sync = key.sync_state.value + (f" ({key.sync_error})" if key.sync_error else "")
        print(f"{key.uid:<20} {key.visual_number:<24} {key.state.value:<9} {on:<3} {owner:<24} {sync}")
    return 0


def _show(args: argparse.Namespace) -> int:
    key = _store(args).find(args.key)
    if key is None:
        print(f"error: no charging key with UID or visual number {args.key!r}", file=sys.stderr)
        return 1
    print(json.dumps(_view(key), indent=2))
    return 0


def _lifecycle(args: argparse.Namespace) -> int:
    now = utc_now()
    changes: dict[str, Callable[[ChargingKey], ChargingKey]] = {
        "enable": lambda key: logic.enable(key, now, user_owner_required=_drive_mode(args)),
        "disable": lambda key: logic.disable(key, now),
        "lost": lambda key: logic.mark_lost(key, now),
    }
    return _apply(args, changes[args.command])


def _assign(args: argparse.Namespace) -> int:
    now = utc_now()
    if args.user:
        return _apply(args, lambda key: logic.assign(key, args.user, "user", now))
    return _apply(args, lambda key: logic.assign(key, args.fleet, "fleet", now))


def _rename(args: argparse.Namespace) -> int:
    now = utc_now()
    return _apply(args, lambda key: logic.rename(key, args.name, now))


def _apply(args: argparse.Namespace, change: Callable[[ChargingKey], ChargingKey]) -> int:
    key = logic.change_key(_store(args), args.key, change)
    enabled = "enabled" if key.enabled else "not enabled"
    print(f"{key.uid} ({key.visual_number}): {key.state.value}, {enabled}; sync {key.sync_state.value}")
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    target = Target.from_args(args)
    function = target.output("KeyReconcileFunctionName", "KeyReconcileFunction")
    answer = target.client("lambda").invoke(
        FunctionName=function, Payload=json.dumps({"repair": bool(args.repair)}).encode()
    )
    payload = json.loads(answer["Payload"].read() or b"null")
    print(json.dumps(payload, indent=2))
    return 1 if answer.get("FunctionError") else 0


def _reindex_whitelist(args: argparse.Namespace) -> int:
    report = reindex_whitelist(_store(args), apply=not args.dry_run)
    verb = "would change" if args.dry_run else "changed"
    print(
        f"checked {report.checked} keys; {verb}: {len(report.added)} added to and "
        f"{len(report.removed)} removed from the whitelist index"
    )
    for label, uids in (
        ("added", report.added),
        ("removed", report.removed),
        ("unreadable (left alone)", report.unreadable),
        ("changed meanwhile (its own write decided)", report.changed_meanwhile),
    ):
        if uids:
            print(f"{label}: {' '.join(uids[:50])}{' ...' if len(uids) > 50 else ''}")
    return 0


def _view(key: ChargingKey) -> dict[str, Any]:
    """The key as stored (camelCase attributes), for `show` and `list --json`."""
    return key.model_dump(by_alias=True, exclude_none=True, mode="json")
