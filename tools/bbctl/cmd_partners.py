"""`bbctl partners`: API keys of the partners that call our OIOI endpoint.

    python -m bbctl partners create --name "ACME CPO" --partner-identifier 4f1c...e9 \
        --messages session-post,rfid-verify,station-post,connector-post-status
    python -m bbctl partners list
    python -m bbctl partners revoke KEY_ID
    python -m bbctl partners sync-usage
    python -m bbctl partners health [--forget PARTNER_ID]

`create` prints the key once; only its SHA-256 is stored. Each key is also an API key of the
stack's usage plan, so API Gateway throttles every partner key on its own: `create` enrols it,
`revoke` withdraws it, `sync-usage` repairs drift. `health` shows, per partner with an active key,
when each message family last got an accepted message through and whether it is silent (the rule
of PartnerSilenceAlarm). Logic: `backbone.receiver.access`, `bbctl.ops_partners` and
`backbone.partner_health`.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta
from typing import Any

from backbone.partner_health.aws import DynamoPartnerActivity
from backbone.partner_health.check import partner_health
from backbone.partner_health.ports import HealthDependencies
from backbone.partner_health.rule import Family, PartnerHealth
from backbone.partner_health.wiring import ActiveKeyOwners
from backbone.receiver.access import PartnerAccess
from backbone.receiver.dispatch import ACCEPTED_MESSAGES
from backbone.timeutil import to_storage, utc_now
from bbctl import Target, add_target_arguments
from bbctl.ops_partners import PartnerAccessTable, PartnerUsagePlan, UsagePlanNotFound
from bbctl.partner_keys import issue_key, revoke_key


def register(groups: Any) -> None:
    group = groups.add_parser("partners", help="partner API keys for the OIOI endpoint")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")

    create = commands.add_parser("create", help="issue a key (printed once)")
    create.add_argument(
        "--name", required=True, help="partner display name; keys of one name share ownership"
    )
    create.add_argument(
        "--partner-identifier",
        dest="partner_identifiers",
        action="extend",
        nargs="+",
        required=True,
        metavar="ID",
        help="partner identifier(s) this key may act for (OIOI glossary); repeatable",
    )
    create.add_argument(
        "--messages",
        required=True,
        type=_message_list,
        help=f"comma-separated messages this key may send: {','.join(sorted(ACCEPTED_MESSAGES))}",
    )
    create.add_argument("--partner-id", help="our id for the partner (default: derived from --name)")
    create.add_argument(
        "--existing",
        action="store_true",
        help="add a key to the existing partner of this id/name (key rotation); refused otherwise",
    )
    create.add_argument(
        "--force-shared-identifier",
        action="store_true",
        help="allow a partner identifier another partner's active key already acts for",
    )
    create.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    add_target_arguments(create)
    create.set_defaults(func=_create)

    listing = commands.add_parser("list", help="list keys (never the keys themselves)")
    listing.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    add_target_arguments(listing)
    listing.set_defaults(func=_list)

    revoke = commands.add_parser("revoke", help="revoke a key by its id (effective within 5 minutes)")
    revoke.add_argument("key_id", metavar="KEY_ID")
    add_target_arguments(revoke)
    revoke.set_defaults(func=_revoke)

    sync = commands.add_parser(
        "sync-usage", help="make the usage plan hold exactly the active keys (after a restore, a failure)"
    )
    add_target_arguments(sync)
    sync.set_defaults(func=_sync_usage)

    health = commands.add_parser(
        "health", help="per partner: last accepted session-post, rfid-verify and POI message; silent?"
    )
    health.add_argument(
        "--silence-hours",
        type=float,
        help="silent after this many hours without an accepted message of a used family "
        "(default: the stack's PartnerSilenceHours)",
    )
    health.add_argument(
        "--forget",
        metavar="PARTNER_ID",
        help="drop a partner's last-seen times (a family it stopped using for good stops being "
        "watched; the ones it uses return with its next message)",
    )
    health.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    add_target_arguments(health)
    health.set_defaults(func=_health)


def _message_list(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _store(args: argparse.Namespace) -> PartnerAccessTable:
    target = Target.from_args(args)
    return PartnerAccessTable(target.client("dynamodb"), target.output("PartnersTableName", "PartnersTable"))


def partner_usage_plan(target: Target, command: str) -> PartnerUsagePlan:
    """The stack's usage plan of partner keys (every issued key must be enrolled in it)."""
    plan = target.output("OioiUsagePlanId", "OioiPartnerUsagePlan")
    try:
        return PartnerUsagePlan.find(target.client("apigateway"), plan, str(target.stack_name))
    except UsagePlanNotFound as exc:
        raise SystemExit(f"bbctl {command}: {exc}") from exc


def _usage_plan(args: argparse.Namespace) -> PartnerUsagePlan:
    return partner_usage_plan(Target.from_args(args), f"partners {args.command}")


def _summary(access: PartnerAccess) -> dict[str, Any]:
    return {
        "keyId": access.key_id,
        "partnerId": access.partner_id,
        "name": access.name,
        "messages": sorted(access.messages),
        "partnerIdentifiers": sorted(access.partner_identifiers),
        "status": access.status.value,
        "createdAt": to_storage(access.created_at),
        "revokedAt": to_storage(access.revoked_at) if access.revoked_at else None,
    }


def _create(args: argparse.Namespace) -> int:
    try:
        issued = issue_key(
            _store(args),
            enrol=_usage_plan(args).enrol,
            name=args.name,
            partner_identifiers=args.partner_identifiers,
            messages=args.messages,
            accepted_messages=ACCEPTED_MESSAGES,
            now=utc_now(),
            partner_id=args.partner_id,
            add_to_existing=args.existing,
            share_identifiers=args.force_shared_identifier,
        )
    except ValueError as exc:
        raise SystemExit(f"bbctl partners create: {exc}") from exc
    short = [i for i in issued.access.partner_identifiers if len(i) < 16]
    if args.json:
        print(json.dumps({"apiKey": issued.api_key, **_summary(issued.access)}, indent=2))
        return 0
    print(f"Key {issued.access.key_id} for partner {issued.access.partner_id} ({issued.access.name})")
    print(f"  messages:            {', '.join(sorted(issued.access.messages))}")
    print(f"  partner identifiers: {', '.join(sorted(issued.access.partner_identifiers))}")
    if short:
        print(f"  note: OIOI wants partner identifiers of 16+ random characters: {', '.join(short)}")
    print("\nAPI key (shown once, only its hash is stored; send it to the partner securely):")
    print(f"  {issued.api_key}")
    print(f"\nThe partner sends it as:  Authorization: key={issued.api_key}")
    return 0


def _list(args: argparse.Namespace) -> int:
    keys = _store(args).list_all()
    if args.json:
        print(json.dumps([_summary(access) for access in keys], indent=2))
        return 0
    if not keys:
        print("no partner keys")
        return 0
    print(f"{'KEY ID':<14} {'STATUS':<8} {'PARTNER':<24} {'CREATED':<25} MESSAGES / PARTNER IDENTIFIERS")
    for access in keys:
        print(
            f"{access.key_id:<14} {access.status.value:<8} {access.partner_id:<24} "
            f"{to_storage(access.created_at):<25} {','.join(sorted(access.messages))} / "
            f"{','.join(sorted(access.partner_identifiers))}"
        )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    try:
        access = revoke_key(_store(args), args.key_id, utc_now())
    except LookupError as exc:
        raise SystemExit(f"bbctl partners revoke: {exc}") from exc
    _usage_plan(args).withdraw(access)
    revoked_at = to_storage(access.revoked_at) if access.revoked_at else "?"
    print(f"Key {access.key_id} of {access.partner_id} revoked at {revoked_at}.")
    print("API Gateway caches authorizations for up to 5 minutes (ReauthorizeEvery 300).")
    return 0


def _sync_usage(args: argparse.Namespace) -> int:
    plan = _usage_plan(args)
    report = plan.sync(_store(args).list_all())
    print(f"Usage plan {plan.plan_id}: {report.unchanged} key(s) in place")
    if report.enrolled:
        print(f"  enrolled:  {', '.join(report.enrolled)}")
    if report.withdrawn:
        print(f"  withdrawn: {', '.join(report.withdrawn)}")
    return 0


DEFAULT_SILENCE_HOURS = "24"  # template.yaml, parameter PartnerSilenceHours


def _health(args: argparse.Namespace) -> int:
    target = Target.from_args(args)
    activity = DynamoPartnerActivity(
        target.client("dynamodb"), target.output("PartnerActivityTableName", "PartnerActivityTable")
    )
    if args.forget:
        activity.forget(args.forget)
        print(f"Last-seen times of {args.forget} dropped; its next accepted message records them again.")
        return 0
    hours = args.silence_hours or float(target.parameter("PartnerSilenceHours", DEFAULT_SILENCE_HOURS))
    now = utc_now()
    report = partner_health(
        HealthDependencies(activity, ActiveKeyOwners(_store(args)), timedelta(hours=hours), lambda: now)
    )
    if args.json:
        print(
            json.dumps(
                {"silenceHours": hours, "partners": [_health_summary(h) for h in report.partners]}, indent=2
            )
        )
        return 0
    if not report.partners:
        print("no partner has an active key")
        return 0
    print(f"{'PARTNER':<24} {'SESSION-POST':<16} {'RFID-VERIFY':<16} {'POI':<16} SILENT (> {hours:g} h)")
    for health in report.partners:
        ages = [_age(health, family, now) for family in Family]
        silent = ", ".join(f.family.value for f in health.families if f.silent)
        verdict = f"yes: {silent}" if silent else ("never seen" if not health.ever_seen else "no")
        print(f"{health.partner_id:<24} {ages[0]:<16} {ages[1]:<16} {ages[2]:<16} {verdict}")
    return 0


def _age(health: PartnerHealth, family: Family, now: datetime) -> str:
    found = health.of(family)
    if found is None:
        return "-"
    seconds = int(found.silence.total_seconds())
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.1f} d ago"


def _health_summary(health: PartnerHealth) -> dict[str, Any]:
    return {
        "partnerId": health.partner_id,
        "silent": health.silent,
        "families": {
            f.family.value: {
                "lastSeen": to_storage(f.last_seen),
                "silenceSeconds": int(f.silence.total_seconds()),
                "silent": f.silent,
            }
            for f in health.families
        },
    }
