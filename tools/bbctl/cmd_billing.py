"""`bbctl billing ...`: the billing feed's events (docs/billing-feed.md, "Events").

    python -m bbctl billing tap [--follow] [--json]     billing events on BillingEventBus
    python -m bbctl billing tap --remove                take the tap (rule and queue) away again
    python -m bbctl billing republish --since T [--until T] [--partner P] [--dry-run]
                                                        publish again the events of the CDRs
                                                        received in [since, until), same ids

Logic: `bbctl.ops_billing`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from backbone.billing.aws import EventBridgeBillingBus
from backbone.timeutil import from_storage, to_storage, utc_now
from bbctl import Target, add_target_arguments
from bbctl.ops_billing import BillingEventTap, republish, stored_between

TAP_NAME = "bbctl-billing-events"


def register(groups: Any) -> None:
    group = groups.add_parser("billing", help="the billing feed: watch its events, republish them")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")

    tap = commands.add_parser("tap", help="billing events on BillingEventBus, as they are published")
    tap.add_argument("--follow", action="store_true", help="keep printing events as they come (Ctrl-C)")
    tap.add_argument("--json", action="store_true", help="each event as one line of JSON")
    tap.add_argument("--remove", action="store_true", help="remove the tap (rule and queue) and exit")
    add_target_arguments(tap)
    tap.set_defaults(func=_tap)

    again = commands.add_parser(
        "republish", help="publish again the events of the CDRs received in a time window (same event ids)"
    )
    again.add_argument("--since", required=True, type=_time, help="UTC time, e.g. 2026-03-01T00:00:00Z")
    again.add_argument("--until", type=_time, help="exclusive (default: now)")
    again.add_argument("--partner", help="only this partner id")
    again.add_argument("--dry-run", action="store_true", help="count the events, publish nothing")
    add_target_arguments(again)
    again.set_defaults(func=_republish)


def _time(text: str) -> str:
    try:
        return to_storage(from_storage(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a time: {text}") from error


def _tap(args: argparse.Namespace) -> int:
    target = Target.from_args(args)
    bus = target.output("BillingEventBusName", "BillingEventBus")
    tap = BillingEventTap(target.client("events"), target.client("sqs"), bus, TAP_NAME)
    if args.remove:
        tap.remove()
        print(f"removed the tap {TAP_NAME} from {bus}")
        return 0
    queue_url = tap.attach()
    print(f"# billing events on {bus} (tap queue {TAP_NAME})", file=sys.stderr)
    try:
        while True:
            for event in tap.read(queue_url, wait_seconds=5 if args.follow else 1):
                print(json.dumps(event, sort_keys=True) if args.json else _line(event), flush=True)
            if not args.follow:
                return 0
    except KeyboardInterrupt:
        return 130


def _line(event: dict[str, Any]) -> str:
    detail = event.get("detail", {})
    cost = f"{detail.get('costAmount')} {detail.get('costCurrency')}" if detail.get("costAmount") else "-"
    review = (
        "  needs review: " + ", ".join(detail.get("anomalies") or []) if detail.get("needsReview") else ""
    )
    return (
        f"{event.get('detail-type', '?'):<13} {detail.get('eventId')}  {detail.get('partnerId')} "
        f"{detail.get('sessionId')} {detail.get('kind')} {detail.get('status')} "
        f"energy={detail.get('energyKwh') or '-'} kWh cost={cost}{review}"
    )


def _republish(args: argparse.Namespace) -> int:
    target = Target.from_args(args)
    table = target.resource("dynamodb").Table(target.output("CdrTableName", "CdrTable"))
    bus = None
    if not args.dry_run:
        bus = EventBridgeBillingBus(
            target.client("events"), target.output("BillingEventBusName", "BillingEventBus")
        )
    until = args.until or to_storage(utc_now())
    report = republish(stored_between(table, args.since, until, args.partner), bus)
    counts = ", ".join(f"{count} {name}" for name, count in sorted(report.events.items())) or "no events"
    verb = "would publish" if args.dry_run else "published"
    print(f"{report.records} stored record(s) received in [{args.since}, {until}): {verb} {counts}")
    for failed in report.failed:
        print(f"failed: {failed} (run again)", file=sys.stderr)
    return 1 if report.failed else 0
