"""`bbctl orders ...`: charging-key orders (docs/key-orders.md).

EMP orders (crawled from Plugsurfing, fulfilled from stock):
    python -m bbctl orders list [--state BACKORDERED] | show ORDER_ID | retry ORDER_ID | crawl
    python -m bbctl orders export-fulfilment [--since 2026-03-01] > fulfilment.csv
    python -m bbctl orders map-org ORG_ID FLEET_ID | unmap-org ORG_ID | orgs
Drive orders (a key ordered for a user):
    python -m bbctl orders order-key USER_ID --address-line1 ... --taxation-country DE
    python -m bbctl orders drive-list [--user USER_ID] [--state UNSETTLED] | drive-show REQUEST_ID | track
    python -m bbctl orders receipt USER_ID ORDER_ID
    python -m bbctl orders pricing [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from backbone.errors import DomainError
from backbone.orders.aws import DynamoDriveOrderStore, DynamoOrderStore, SqsQueue
from backbone.orders.models import DriveOrderRequest, DriveRequestState, KeyOrder, KeyOrderState
from backbone.timeutil import from_storage, to_storage, utc_now
from bbctl import Target, add_target_arguments, ops_orders
from bbctl.progress import Progress

Run = Callable[[argparse.Namespace], int]


def register(groups: Any) -> None:
    orders = groups.add_parser("orders", help="charging-key orders: EMP fulfilment and Drive orders")
    commands = orders.add_subparsers(dest="command", required=True, metavar="COMMAND")

    command = _command(commands, "list", "list EMP key orders", _list)
    command.add_argument("--state", choices=[state.value for state in KeyOrderState])
    command.add_argument("--json", action="store_true", help="one JSON object per line")

    _command(commands, "show", "one EMP order with its keys and state", _show).add_argument("order_id")
    _command(commands, "retry", "enqueue an EMP order for fulfilment again", _retry).add_argument("order_id")
    _command(commands, "crawl", "crawl Plugsurfing's EMP orders now (OrderCrawlFunction)", _crawl)

    command = _command(
        commands, "export-fulfilment", "CSV for the warehouse: assigned orders, address, keys", _export
    )
    command.add_argument("--since", type=_moment, help="assigned at or after (ISO date or time, UTC)")

    command = _command(commands, "map-org", "map an organisation ('*': default) to a fleet id", _map_org)
    command.add_argument("organization_id", metavar="ORG_ID")
    command.add_argument("fleet_id", metavar="FLEET_ID")
    _command(commands, "unmap-org", "remove an organisation's mapping", _unmap_org).add_argument(
        "organization_id", metavar="ORG_ID"
    )
    _command(commands, "orgs", "list organisation -> fleet mappings", _orgs)

    command = _command(commands, "order-key", "order a key for a Drive user (DriveOrderQueue)", _order_key)
    command.add_argument("user_id", metavar="USER_ID")
    command.add_argument("--request-id", help="idempotency key (default: a new UUID)")
    for name in ("address-line1", "postal-code", "city", "country"):
        command.add_argument(f"--{name}", required=True)
    for name in ("address-line2", "first-name", "last-name", "company-name"):
        command.add_argument(f"--{name}")
    command.add_argument("--taxation-country", required=True, help="two-letter code, e.g. DE")
    command.add_argument("--payment-option-id", help="Stripe payment option (default: the user's)")

    command = _command(commands, "drive-list", "list Drive order requests", _drive_list)
    command.add_argument("--user", help="only this user's requests")
    command.add_argument("--state", choices=[state.value for state in DriveRequestState])
    command.add_argument("--json", action="store_true", help="one JSON object per line")
    _command(commands, "drive-show", "one Drive order request", _drive_show).add_argument("request_id")
    _command(commands, "track", "poll the state of open Drive orders now", _track)

    command = _command(commands, "receipt", "URL of a Drive order's receipt", _receipt)
    command.add_argument("user_id", metavar="USER_ID")
    command.add_argument("order_id", metavar="ORDER_ID", help="Plugsurfing's order id (drive-show: orderId)")

    command = _command(commands, "pricing", "price of ordering a charging key, per country (Drive)", _pricing)
    command.add_argument("--json", action="store_true", help="the answer as JSON")


def _command(commands: Any, name: str, text: str, run: Run) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(name, help=text, description=text)
    add_target_arguments(parser)
    parser.add_argument("--table", default=os.environ.get("ORDERS_TABLE"), help=argparse.SUPPRESS)
    parser.add_argument("--drive-table", default=os.environ.get("DRIVE_ORDERS_TABLE"), help=argparse.SUPPRESS)
    parser.set_defaults(func=_guarded(run))
    return parser


def _guarded(run: Run) -> Run:
    """Refusals and bad input are one line on stderr and exit 1, never a traceback."""

    def guarded(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except DomainError as error:
            print(f"error: {error.detail}", file=sys.stderr)
        except (ValueError, ValidationError) as error:
            print(f"error: {error}", file=sys.stderr)
        return 1

    return guarded


# --- where -------------------------------------------------------------------------------------


def _orders(args: argparse.Namespace) -> DynamoOrderStore:
    target = Target.from_args(args)
    table = args.table or target.output("OrdersTableName", "OrdersTable")
    return DynamoOrderStore(target.resource("dynamodb").Table(table))


def _drive_orders(args: argparse.Namespace) -> DynamoDriveOrderStore:
    target = Target.from_args(args)
    table = args.drive_table or target.output("DriveOrdersTableName", "DriveOrdersTable")
    return DynamoDriveOrderStore(target.resource("dynamodb").Table(table))


def _queue(args: argparse.Namespace, output_key: str, logical_id: str) -> SqsQueue:
    target = Target.from_args(args)
    sqs = target.client("sqs")
    where = target.output(output_key, logical_id)
    url = where if where.startswith("http") else sqs.get_queue_url(QueueName=where)["QueueUrl"]
    return SqsQueue(sqs, url)


def _invoke(args: argparse.Namespace, output_key: str, logical_id: str, event: dict[str, Any]) -> Any:
    target = Target.from_args(args)
    answer = target.client("lambda").invoke(
        FunctionName=target.output(output_key, logical_id), Payload=json.dumps(event).encode()
    )
    payload = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError"):
        print(json.dumps(payload, indent=2), file=sys.stderr)
        raise SystemExit(1)
    return payload


# --- EMP orders --------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    orders = ops_orders.list_orders(_orders(args), KeyOrderState(args.state) if args.state else None)
    if args.json:
        for order in orders:
            print(json.dumps(ops_orders.order_view(order)))
        return 0
    print(f"{'ORDER':<14} {'STATE':<13} {'QTY':>3} {'ORGANISATION':<14} {'FLEET':<14} {'CREATED':<24} NOTE")
    for order in orders:
        print(
            f"{order.order_id:<14} {order.state.value:<13} {order.quantity:>3} "
            f"{order.organization_id or '-':<14} {order.fleet_id or '-':<14} "
            f"{to_storage(order.created_at):<24} {_note(order)}"
        )
    return 0


def _note(order: KeyOrder) -> str:
    if order.last_error:
        return order.last_error
    return " ".join(key.visual_number for key in order.keys)


def _show(args: argparse.Namespace) -> int:
    order = _orders(args).get(args.order_id)
    if order is None:
        print(f"error: no key order {args.order_id!r}", file=sys.stderr)
        return 1
    print(json.dumps(ops_orders.order_view(order), indent=2))
    return 0


def _retry(args: argparse.Namespace) -> int:
    order = ops_orders.retry_order(_orders(args), _queue(args, "OrderQueueUrl", "OrderQueue"), args.order_id)
    print(f"{order.order_id} ({order.state.value}) enqueued for fulfilment")
    return 0


def _crawl(args: argparse.Namespace) -> int:
    print(json.dumps(_invoke(args, "OrderCrawlFunctionName", "OrderCrawlFunction", {}), indent=2))
    return 0


def _export(args: argparse.Namespace) -> int:
    with Progress("assigned orders read") as progress:
        orders = progress.iterate(_orders(args).by_state(KeyOrderState.ASSIGNED))
        csv_text = ops_orders.fulfilment_csv(orders, args.since)
    sys.stdout.write(csv_text)
    return 0


def _map_org(args: argparse.Namespace) -> int:
    queue = _queue(args, "OrderQueueUrl", "OrderQueue")
    requeued = ops_orders.map_org(_orders(args), queue, args.organization_id, args.fleet_id, utc_now())
    print(f"organisation {args.organization_id} -> fleet {args.fleet_id}")
    if requeued:
        print(f"{len(requeued)} waiting order(s) enqueued again: {', '.join(requeued)}")
    return 0


def _unmap_org(args: argparse.Namespace) -> int:
    if not ops_orders.unmap_org(_orders(args), args.organization_id):
        print(f"error: organisation {args.organization_id!r} has no mapping", file=sys.stderr)
        return 1
    print(f"organisation {args.organization_id} unmapped")
    return 0


def _orgs(args: argparse.Namespace) -> int:
    print(f"{'ORGANISATION':<24} {'FLEET':<24} UPDATED")
    for mapping in ops_orders.org_mappings(_orders(args)):
        print(f"{mapping.organization_id:<24} {mapping.fleet_id:<24} {to_storage(mapping.updated_at)}")
    return 0


# --- Drive orders ------------------------------------------------------------------------------


def _order_key(args: argparse.Namespace) -> int:
    address = {
        "addressLine1": args.address_line1,
        "addressLine2": args.address_line2,
        "postalCode": args.postal_code,
        "city": args.city,
        "country": args.country,
        "firstName": args.first_name,
        "lastName": args.last_name,
        "companyName": args.company_name,
    }
    request = DriveOrderRequest.model_validate(
        {
            "requestId": args.request_id or str(uuid.uuid4()),
            "userId": args.user_id,
            "address": {name: value for name, value in address.items() if value is not None},
            "taxationCountry": args.taxation_country,
            "paymentOptionId": args.payment_option_id,
        }
    )
    body = request.model_dump(by_alias=True, exclude_none=True)
    queue = _queue(args, "DriveOrderQueueUrl", "DriveOrderQueue")
    ops_orders.queue_drive_order(queue.client, queue.queue_url, body)
    print(f"request {request.request_id} queued (python -m bbctl orders drive-show {request.request_id})")
    return 0


def _drive_list(args: argparse.Namespace) -> int:
    store = _drive_orders(args)
    records = store.by_user(args.user) if args.user else list(ops_orders.drive_records(store))
    chosen = sorted(
        (r for r in records if not args.state or r.state == args.state), key=lambda r: r.created_at
    )
    if args.json:
        for record in chosen:
            print(json.dumps(ops_orders.order_view(record)))
        return 0
    print(f"{'REQUEST':<38} {'USER':<16} {'STATE':<9} {'ORDER':<12} {'ORDER STATE':<36} {'SINCE':<24} NOTE")
    for r in chosen:
        since = to_storage(r.order_state_since) if r.order_state_since else "-"
        print(
            f"{r.request_id:<38} {r.user_id:<16} {r.state.value:<9} {r.order_id or '-':<12} "
            f"{r.order_state_label():<36} {since:<24} {r.last_error or ''}"
        )
    return 0


def _drive_show(args: argparse.Namespace) -> int:
    record = _drive_orders(args).get(args.request_id)
    if record is None:
        print(f"error: no Drive order request {args.request_id!r}", file=sys.stderr)
        return 1
    print(json.dumps(ops_orders.order_view(record), indent=2))
    return 0


def _track(args: argparse.Namespace) -> int:
    summary = _invoke(args, "DriveOrderFunctionName", "DriveOrderFunction", {"action": "track"})
    print(json.dumps(summary, indent=2))
    return 0


def _receipt(args: argparse.Namespace) -> int:
    event = {"action": "receipt", "userId": args.user_id, "orderId": args.order_id}
    answer = _invoke(args, "DriveOrderFunctionName", "DriveOrderFunction", event)
    if "url" not in answer:
        print(f"error: no receipt: {answer.get('error')}", file=sys.stderr)
        return 1
    print(answer["url"])
    return 0


def _pricing(args: argparse.Namespace) -> int:
    """Asked of DriveOrderFunction, which holds the Plugsurfing key (this CLI never does)."""
    answer = _invoke(args, "DriveOrderFunctionName", "DriveOrderFunction", {"action": "pricing"})
    if "countries" not in answer:
        print(f"error: no pricing: {answer.get('error')}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(answer, indent=2))
        return 0
    print(f"{'country':8} {'price incl. VAT':>16} {'VAT':>6}")
    for price in answer["countries"]:
        amount = f"{price['priceMinorInclVat'] / 100:.2f} {price['currency']}"
        print(f"{price['country']:8} {amount:>16} {price['vat']:>5g}%")
    return 0


def _moment(text: str) -> datetime:
    """An ISO date (midnight UTC) or a time with a zone."""
    if len(text) == 10:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    return from_storage(text)
