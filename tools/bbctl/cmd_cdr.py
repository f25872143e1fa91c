"""`bbctl cdr ...`: look at CDRs and at the CDR dead-letter queue, and redrive it
(docs/cdr-ingestion.md).

    python -m bbctl cdr show SESSION_ID [--raw] [--json]
    python -m bbctl cdr driver {rfid,evco-id,username,drive-user} ID [--from T] [--to T] [--raw] [--json]
    python -m bbctl cdr dlq [--limit N] [--json]
    python -m bbctl cdr redrive [--max N]
    python -m bbctl cdr review list [--limit N] [--json]
    python -m bbctl cdr review resolve PARTNER_ID SESSION_ID --note TEXT [--correction HASH]
    python -m bbctl cdr export --from DAY --to DAY [--partner P] [--format csv|jsonl] [--out DIR]
    python -m bbctl cdr billing-days [--dry-run]

Logic: `bbctl.ops_cdr` (queries, review, peek, redrive), `bbctl.ops_export` (the billing export,
by `backbone.billing.export`: docs/billing-feed.md, "Export").
"""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from backbone.billing.aws import DynamoBillingDays
from backbone.billing.export import MAX_DAYS
from backbone.cdr.intake import driver_spelling
from backbone.cdr.models import Driver, DriverType, RecordKind, StoredCdr
from backbone.timeutil import utc_now
from bbctl import Target, add_target_arguments, ops_cdr, ops_export
from bbctl.ops_cdr import CdrRecords
from bbctl.progress import Progress, count_calls
from bbctl.pseudonyms import stack_pseudonymiser


def register(groups: Any) -> None:
    group = groups.add_parser("cdr", help="CDRs: show one session, the dead-letter queue, redrive it")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")

    show = commands.add_parser("show", help="the CDR and corrections of a session id (any partner)")
    show.add_argument("session_id", metavar="SESSION_ID")
    show.add_argument("--raw", action="store_true", help="include the partner's payload text")
    show.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    add_target_arguments(show)
    show.set_defaults(func=_show)

    driver = commands.add_parser(
        "driver", help="a driver's CDRs by UID, EVCO ID, username or Drive user id (oldest start first)"
    )
    driver.add_argument("type", choices=[kind.value for kind in DriverType], help="identifier type")
    driver.add_argument("identifier", metavar="ID", help="as the driver's key shows it, any spelling")
    driver.add_argument("--from", dest="start", type=_time, help="sessions started at or after (RFC 3339)")
    driver.add_argument("--to", dest="end", type=_time, help="sessions started at or before (RFC 3339)")
    driver.add_argument("--raw", action="store_true", help="include the stored (redacted) payload text")
    driver.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    add_target_arguments(driver)
    driver.set_defaults(func=_driver)

    peek = commands.add_parser(
        "dlq", help="messages in the CDR dead-letter queue, with reasons (not consumed)"
    )
    peek.add_argument("--limit", type=int, default=10, help="at most this many (default 10)")
    peek.add_argument("--json", action="store_true", help="one JSON object per line")
    add_target_arguments(peek)
    peek.set_defaults(func=_dlq)

    redrive = commands.add_parser("redrive", help="send dead letters back to the CDR queue")
    redrive.add_argument("--max", type=int, dest="max_messages", help="move at most N messages")
    add_target_arguments(redrive)
    redrive.set_defaults(func=_redrive)

    review = commands.add_parser("review", help="CDRs stored with anomalies: list them, resolve one")
    reviews = review.add_subparsers(dest="review_command", required=True, metavar="ACTION")
    listing = reviews.add_parser("list", help="flagged CDRs awaiting review, oldest first, with anomalies")
    listing.add_argument("--limit", type=int, help="at most this many")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    add_target_arguments(listing)
    listing.set_defaults(func=_review_list)
    resolve = reviews.add_parser(
        "resolve", help="mark a flagged CDR reviewed (the CDR itself is never changed)"
    )
    resolve.add_argument("partner_id", metavar="PARTNER_ID")
    resolve.add_argument("session_id", metavar="SESSION_ID")
    resolve.add_argument("--note", required=True, help="what was decided (kept on the record)")
    resolve.add_argument(
        "--correction", metavar="HASH", help="resolve this correction (payload hash prefix), not the CDR"
    )
    add_target_arguments(resolve)
    resolve.set_defaults(func=_review_resolve)

    _register_export(commands)


def _register_export(commands: Any) -> None:
    export = commands.add_parser(
        "export",
        help="the daily billing export of a range of days, to a folder (the same files as the bucket's)",
    )
    export.add_argument("--from", dest="first", type=date.fromisoformat, required=True, metavar="YYYY-MM-DD")
    export.add_argument("--to", dest="last", type=date.fromisoformat, required=True, metavar="YYYY-MM-DD")
    export.add_argument("--partner", help="this partner's records only (its file; a manifest of it alone)")
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    export.add_argument("--out", type=Path, default=Path("cdr-export"), help="folder (default ./cdr-export)")
    add_target_arguments(export)
    export.set_defaults(func=_export)

    backfill = commands.add_parser(
        "billing-days",
        help="give billingDay to FINAL records stored before it existed (once, after the upgrade)",
    )
    backfill.add_argument("--dry-run", action="store_true", help="count them, change nothing")
    add_target_arguments(backfill)
    backfill.set_defaults(func=_billing_days)


def _queue_url(target: Target, output_key: str, logical_id: str) -> str:
    where = target.output(output_key, logical_id)
    if where.startswith("http"):
        return where
    return str(target.client("sqs").get_queue_url(QueueName=where)["QueueUrl"])


def _show(args: argparse.Namespace) -> int:
    records = _store(Target.from_args(args)).by_session(args.session_id)
    if not records:
        print(f"no CDR for session {args.session_id}")
        return 1
    return _print(records, args)


def _driver(args: argparse.Namespace) -> int:
    target = Target.from_args(args)
    kind = DriverType(args.type)
    driver = Driver(type=kind, id=driver_spelling(kind, args.identifier.strip()))
    records = _store(target).by_driver(driver, stack_pseudonymiser(target), args.start, args.end)
    if not records:
        print(f"no CDR for driver {driver.key}")
        return 1
    return _print(records, args)


def _time(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset")
    return value


def _print(records: list[StoredCdr], args: argparse.Namespace) -> int:
    views = []
    for stored in records:
        view = stored.view()
        if not args.raw:
            view.pop("raw")
        views.append(view)
    if args.json:
        print(json.dumps(views, indent=2))
        return 0
    for view in views:
        cost = f"{view.get('costAmount')} {view.get('costCurrency')}" if "costAmount" in view else "-"
        print(
            f"{view['kind']:<10} {view['status']:<8} partner={view['partnerId']} source={view['source']} "
            f"energy={view.get('energyKwh', '-')} kWh cost={cost} started={view.get('startedAt', '-')} "
            f"stopped={view.get('stoppedAt', '-')} received={view['receivedAt']} "
            f"hash={view['payloadHash'][:12]}"
        )
        for anomaly in view.get("anomalies", ()):
            print(f"           anomaly: {anomaly}")
        if args.raw:
            print(f"           raw: {view['raw']}")
    return 0


def _store(target: Target) -> CdrRecords:
    return CdrRecords(target.client("dynamodb"), target.output("CdrTableName", "CdrTable"))


def _review_list(args: argparse.Namespace) -> int:
    shown = 0
    for stored in _store(Target.from_args(args)).awaiting_review(args.limit):
        shown += 1
        view = stored.view()
        if args.json:
            print(json.dumps(view))
            continue
        print(
            f"{view['partnerId']} {view['sessionId']} {view['kind']} {view['status']} "
            f"received={view['receivedAt']} hash={view['payloadHash'][:12]}"
        )
        for anomaly in view.get("anomalies", ()):
            print(f"    {anomaly}")
    if not args.json:
        print(f"{shown} CDR(s) awaiting review")
    return 0


def _review_resolve(args: argparse.Namespace) -> int:
    store = _store(Target.from_args(args))
    records = store.history(args.partner_id, args.session_id)
    wanted = [
        stored
        for stored in records
        if (stored.kind is RecordKind.CORRECTION) == bool(args.correction)
        and stored.cdr.payload_hash.startswith(args.correction or "")
    ]
    if len(wanted) != 1:
        what = f"correction {args.correction}" if args.correction else "CDR"
        print(f"no single {what} of session {args.session_id} for partner {args.partner_id}")
        return 1
    [stored] = wanted
    if not stored.awaiting_review:
        print(f"{stored.cdr.pk} {stored.sk} is not awaiting review")
        return 1
    if not store.resolve_review(stored, args.note, utc_now()):
        print(f"{stored.cdr.pk} {stored.sk} changed meanwhile (replaced or resolved); list again")
        return 1
    print(f"resolved: {stored.cdr.pk} {stored.sk}")
    return 0


def _dlq(args: argparse.Namespace) -> int:
    target = Target.from_args(args)
    url = _queue_url(target, "CdrDeadLetterQueueUrl", "CdrDeadLetterQueue")
    letters = ops_cdr.peek(target.client("sqs"), url, args.limit)
    for letter in letters:
        if args.json:
            print(json.dumps(letter.view()))
        else:
            print(
                f"{letter.message_id} sent={letter.sent_at} source={letter.source} "
                f"partner={letter.partner_id} session={letter.session_id}\n    reason: {letter.reason}"
            )
    if not args.json:
        print(f"{len(letters)} message(s) shown")
    return 0


def _redrive(args: argparse.Namespace) -> int:
    target = Target.from_args(args)
    sqs = target.client("sqs")
    dead_letters = _queue_url(target, "CdrDeadLetterQueueUrl", "CdrDeadLetterQueue")
    waiting = int(
        sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"
        ]["ApproximateNumberOfMessages"]
    )
    total = waiting if args.max_messages is None else min(args.max_messages, waiting)
    with Progress("dead letters sent back", total) as progress:
        # Counted as each copy is deleted from the DLQ (after its send succeeded); a move task
        # runs inside SQS and reports nothing here.
        count_calls(sqs, "DeleteMessage", progress)
        result = ops_cdr.redrive(
            sqs,
            dead_letters,
            _queue_url(target, "CdrQueueUrl", "CdrQueue"),
            args.max_messages,
            move_task=not target.local,  # the local stack's SQS has no StartMessageMoveTask
        )
    if result.method == "move-task":
        print(
            f"SQS is moving the dead letters back (task {result.task_handle}); "
            "`bbctl cdr dlq` shows what is left"
        )
    else:
        if result.move_task_error:
            print(f"StartMessageMoveTask not available ({result.move_task_error}); copying instead")
        print(f"{result.moved} message(s) sent back to the CDR queue")
    return 0


def _export(args: argparse.Namespace) -> int:
    if args.first > args.last or (args.last - args.first).days >= MAX_DAYS:
        print(f"--from must not be after --to, and at most {MAX_DAYS} days")
        return 2
    target = Target.from_args(args)
    records = DynamoBillingDays(target.client("dynamodb"), target.output("CdrTableName", "CdrTable"))
    exports, sink = ops_export.export_range(
        records, args.out, args.first, args.last, partner_id=args.partner, fmt=args.format
    )
    for path in sink.written:
        print(path)
    print(f"{sum(export.rows for export in exports)} CDR(s) over {len(exports)} day(s) in {args.out}")
    return 0


def _billing_days(args: argparse.Namespace) -> int:
    target = Target.from_args(args)
    done = ops_export.backfill_billing_days(
        target.client("dynamodb"), target.output("CdrTableName", "CdrTable"), dry_run=args.dry_run
    )
    if args.dry_run:
        print(f"{done.examined} FINAL record(s) without a billing day (dry run: nothing changed)")
    else:
        print(f"{done.set} of {done.examined} FINAL record(s) without a billing day given one")
    return 0
