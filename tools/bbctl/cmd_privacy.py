"""`bbctl privacy ...`: data-subject requests (docs/privacy.md, "Data-subject requests").

    python -m bbctl privacy find  --uid UID | --contract-id ID | --user-id ID [--json]
    python -m bbctl privacy erase --uid UID | --contract-id ID | --user-id ID [--apply] [--json]
    python -m bbctl privacy replay --table RESTORED_TABLE --as LOGICAL_ID [--apply] [--json]

`find` lists every record held about the driver and what erasing would do to it; `erase` prints
that plan and, with `--apply`, carries it out and writes the erasure ledger; `replay` re-applies
the whole ledger to a table restored from point-in-time recovery. Each prints what must also be
requested from Plugsurfing. Decisions: `bbctl.privacy_plan`; reads and writes: `bbctl.ops_privacy`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

from backbone.aws.secrets import get_pepper
from backbone.timeutil import to_storage, utc_now
from bbctl import Target, add_target_arguments
from bbctl.ops_privacy import (
    DEAD_LETTER_QUEUES,
    LEDGER,
    Findings,
    Outcome,
    PrivacyTables,
    Request,
    dead_letters,
)
from bbctl.ops_privacy import replay_subject as ledger_subject
from bbctl.privacy_plan import TABLES, Step
from bbctl.progress import Progress

PEPPER_SECRET_SUFFIX = "privacy-pepper"  # noqa: S105 - a name, not a value; template.yaml PrivacyPepperSecret: Name "<stack>/privacy-pepper"


def register(groups: Any) -> None:
    group = groups.add_parser("privacy", help="data-subject requests: find, erase, replay after a restore")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")

    find = commands.add_parser("find", help="everything held about a driver, and what erase would do")
    _subject_arguments(find)
    find.set_defaults(func=_find)

    erase = commands.add_parser("erase", help="erase a driver's data (a dry run unless --apply)")
    _subject_arguments(erase)
    erase.add_argument("--apply", action="store_true", help="carry the plan out (default: only print it)")
    erase.set_defaults(func=_erase)

    replay = commands.add_parser(
        "replay", help="re-apply every erasure of the ledger to a table restored from point-in-time recovery"
    )
    replay.add_argument("--table", required=True, help="physical name of the restored table")
    replay.add_argument(
        "--as", dest="logical_id", required=True, choices=TABLES, help="which table it is a copy of"
    )
    replay.add_argument("--apply", action="store_true", help="carry it out (default: only print the plan)")
    replay.add_argument("--json", action="store_true", help="print JSON")
    add_target_arguments(replay)
    replay.set_defaults(func=_replay)


def _subject_arguments(parser: argparse.ArgumentParser) -> None:
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--uid", help="RFID UID in any case, with or without leading zeros")
    who.add_argument("--contract-id", help="contract (EVCO/eMI3) id, with or without separators")
    who.add_argument("--user-id", help="Drive user id (also the owner id of a user's keys)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_target_arguments(parser)


def _request(args: argparse.Namespace) -> Request:
    return Request(
        uids=(args.uid,) if args.uid else (),
        contract_ids=(args.contract_id,) if args.contract_id else (),
        user_ids=(args.user_id,) if args.user_id else (),
    )


def _tables(target: Target) -> PrivacyTables:
    names = {logical: target.output(f"{logical}Name", logical) for logical in (*TABLES, LEDGER)}
    return PrivacyTables(target.client("dynamodb"), target.resource("dynamodb"), names)


def _pepper(target: Target) -> str:
    DEFAULT_PROVIDERS["secrets"] = SecretsProvider(boto3_client=target.client("secretsmanager"))
    return get_pepper(f"{target.stack_name}/{PEPPER_SECRET_SUFFIX}", max_age=0)


def _findings(target: Target, args: argparse.Namespace, at: str) -> tuple[PrivacyTables, Findings]:
    tables = _tables(target)
    findings = tables.find(_request(args), _pepper(target), at)
    queues = [
        (_queue_url(target, output, logical), carries) for output, logical, carries in DEAD_LETTER_QUEUES
    ]
    findings.dead_letters = dead_letters(target.client("sqs"), queues)
    return tables, findings


def _queue_url(target: Target, output_key: str, logical_id: str) -> str:
    where = target.output(output_key, logical_id)
    if where.startswith("http"):
        return where
    return str(target.client("sqs").get_queue_url(QueueName=where)["QueueUrl"])


def _find(args: argparse.Namespace) -> int:
    _, findings = _findings(Target.from_args(args), args, to_storage(utc_now()))
    if args.json:
        print(json.dumps(findings.view(), indent=2))
        return 0
    _print_findings(findings, "found")
    return 0


def _erase(args: argparse.Namespace) -> int:
    at = to_storage(utc_now())
    tables, findings = _findings(Target.from_args(args), args, at)
    outcome: Outcome | None = None
    if args.apply and tables.needs_ledger(findings):
        tables.record_started(findings, at)
        with Progress("records erased", len(findings.changes)) as progress:
            outcome = tables.apply(findings.changes)
            progress.advance(sum(outcome.applied.values()))
        tables.record_done(findings, outcome, at)
    if args.json:
        view = findings.view() | {"applied": outcome.counts() if outcome else {}, "dryRun": not args.apply}
        view["leftForRerun"] = [step.view() for step in outcome.changed_meanwhile] if outcome else []
        print(json.dumps(view, indent=2))
        return 0
    _print_findings(findings, "plan" if not args.apply else "erased")
    if not args.apply:
        print(f"\ndry run: {len(findings.changes)} record(s) would change; add --apply to erase")
    elif outcome is None:
        print("\nnothing left to erase; the ledger already records this driver")
    else:
        print(f"\napplied: {json.dumps(outcome.counts())}; ledger entry {findings.ledger_key}")
        for step in outcome.changed_meanwhile:
            print(f"  changed meanwhile, run erase again: {step.table} {step.what}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    target = Target.from_args(args)
    tables = _tables(target)
    subject = ledger_subject(_pepper(target), tables.ledger())
    steps = tables.replay_plan(args.logical_id, args.table, subject, to_storage(utc_now()))
    changes = [step for step in steps if step.changes]
    outcome = tables.apply(changes, {args.logical_id: args.table}) if args.apply else None
    if args.json:
        view = {
            "table": args.table,
            "as": args.logical_id,
            "ledgerPseudonyms": len(subject.pseudonyms),
            "records": [step.view() for step in steps],
            "applied": outcome.counts() if outcome else {},
            "dryRun": not args.apply,
        }
        print(json.dumps(view, indent=2))
        return 0
    for step in steps:
        print(_line(step))
    verb = "applied" if args.apply else "would change (add --apply)"
    print(
        f"{len(changes)} record(s) of {args.table} {verb}; "
        f"ledger holds {len(subject.pseudonyms)} pseudonym(s)"
    )
    return 0


def _line(step: Step) -> str:
    return f"{step.table:<20} {step.action.value:<12} {step.what}\n{'':<34}why: {step.why}"


def _print_findings(findings: Findings, heading: str) -> None:
    print(f"{heading}: {len(findings.steps)} record(s) (ledger subject {findings.ledger_key})")
    for step in findings.steps:
        print(_line(step))
    print("\nPartnerActivityTable: per-partner times only, nothing about a driver")
    for queue in findings.dead_letters:
        if queue["messages"]:
            print(
                f"dead letters: {queue['messages']} message(s) in {queue['queue']} "
                f"may carry {queue['mayCarry']} (not read)"
            )
    print("\nto request from Plugsurfing:")
    for request in findings.plugsurfing() or ["nothing"]:
        print(f"  - {request}")
