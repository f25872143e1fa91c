"""`bbctl demo load`: sample partner, charging keys and a station for the local stack walkthrough.

    eval "$(python -m bbctl demo load)"     # exports OIOI_KEY for the curl examples

Loads, against the running local stack (`make run`):
- a CPO partner "Demo CPO" with a fresh OIOI API key (printed once as `export OIOI_KEY=...`),
  allowed every message the endpoint accepts, acting for `DEMO_PARTNER_IDENTIFIER`;
- charging keys: the OIOI staging test UIDs (`04523022AA4881` active, `0477BD22AA4880`
  disabled), one active key without a payment method, and IN_STOCK keys for order fulfilment;
- a station with two connectors, posted through the OIOI endpoint itself (`station-post`).
Running it again adds a new partner key and skips keys that already exist.
"""

from __future__ import annotations

import argparse
import json
from datetime import timedelta
from typing import Any

import httpx

from backbone.keys.aws import KeyStore
from backbone.keys.models import ChargingKey, KeyState
from backbone.oioi.identifiers import uid_to_key_identifier
from backbone.receiver.dispatch import ACCEPTED_MESSAGES
from backbone.timeutil import utc_now
from bbctl import Target, add_target_arguments
from bbctl.cmd_partners import partner_usage_plan
from bbctl.ops_partners import PartnerAccessTable as DynamoPartnerAccess
from bbctl.partner_keys import issue_key, partner_id_for

DEMO_NAME = "Demo CPO"
DEMO_PARTNER_IDENTIFIER = "demo-cpo-3f9c2a71b8e4d605"
DEMO_FLEET = "demo-fleet"
LOCAL_AWS = "http://127.0.0.1:5000"
LOCAL_API = "http://127.0.0.1:3000"

# (uid, visual number, state, has payment method)
DEMO_KEYS: tuple[tuple[str, str, KeyState, bool], ...] = (
    ("04523022AA4881", "DE*DMO*C00001*1", KeyState.ACTIVE, True),
    ("0477BD22AA4880", "DE*DMO*C00002*2", KeyState.DISABLED, True),
    ("0477BD22AA4882", "DE*DMO*C00003*3", KeyState.ACTIVE, False),
    *((f"04A1B2C3D4E5{n:02X}", f"DE*DMO*S{n:05d}*0", KeyState.IN_STOCK, True) for n in range(1, 6)),
)

DEMO_STATION: dict[str, Any] = {
    "station-post": {
        "station": {
            "id": "demo-station-1",
            "name": "Demo Depot",
            "latitude": 52.5167,
            "longitude": 13.3833,
            "address": {
                "street": "Torgauer Str.",
                "street-number": "12",
                "city": "Berlin",
                "zip": "10829",
                "country": "DE",
            },
            "contact": {"phone": "+49 30 1234567"},
            "cpo-id": "DE*DMO",
            "is-open-24": True,
            "connectors": [
                {"id": "DE*DMO*E000001*1", "name": "Type2", "speed": 22},
                {"id": "DE*DMO*E000001*2", "name": "Combo", "speed": 150},
            ],
        },
        "partner-identifier": DEMO_PARTNER_IDENTIFIER,
    }
}


def register(groups: Any) -> None:
    group = groups.add_parser("demo", help="sample data for the local stack walkthrough")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    load = commands.add_parser("load", help="load a demo partner, keys and a station")
    load.add_argument("--api-url", default=LOCAL_API, help=f"the OIOI API (default {LOCAL_API})")
    add_target_arguments(load)
    load.set_defaults(func=_load)


def demo_keys() -> list[ChargingKey]:
    now = utc_now()
    keys = []
    for uid, visual, state, paying in DEMO_KEYS:
        live = state is not KeyState.IN_STOCK
        keys.append(
            ChargingKey(
                uid=uid,
                keyIdentifier=uid_to_key_identifier(uid),
                visualNumber=visual,
                type="card",
                ownerId=DEMO_FLEET if live else None,
                ownerType="fleet" if live else None,
                enabled=state is KeyState.ACTIVE,
                validFrom=now - timedelta(days=1) if live else None,
                validTo=now + timedelta(days=365) if live else None,
                hasPaymentMethod=paying,
                state=state,
                createdAt=now,
                updatedAt=now,
            )
        )
    return keys


def _load(args: argparse.Namespace) -> int:
    args.endpoint_url = args.endpoint_url or LOCAL_AWS
    target = Target.from_args(args)
    partners = DynamoPartnerAccess(
        target.client("dynamodb"), target.output("PartnersTableName", "PartnersTable")
    )
    demo_exists = any(access.partner_id == partner_id_for(DEMO_NAME) for access in partners.list_all())
    issued = issue_key(
        partners,
        enrol=partner_usage_plan(target, "demo load").enrol,
        name=DEMO_NAME,
        partner_identifiers=[DEMO_PARTNER_IDENTIFIER],
        messages=ACCEPTED_MESSAGES,
        accepted_messages=ACCEPTED_MESSAGES,
        now=utc_now(),
        add_to_existing=demo_exists,  # loading again issues another key to the same demo partner
    )
    keys = KeyStore(
        target.resource("dynamodb").Table(target.output("ChargingKeysTableName", "ChargingKeysTable"))
    )
    fresh = [key for key in demo_keys() if key.uid not in keys.existing_uids([key.uid])]
    if fresh:
        keys.put_new_many(fresh)
    answer = httpx.post(
        f"{args.api_url}/api/v4/request",
        json=DEMO_STATION,
        headers={"Authorization": f"key={issued.api_key}"},
        timeout=30,
    )
    print(f"# partner 'Demo CPO' key id {issued.access.key_id}, partner identifier {DEMO_PARTNER_IDENTIFIER}")
    print(f"# {len(fresh)} charging key(s) added ({len(DEMO_KEYS) - len(fresh)} already there)")
    print(f"# station-post demo-station-1: HTTP {answer.status_code} {json.dumps(answer.json())}")
    print(f"export OIOI_KEY={issued.api_key}")
    print(f"export PARTNER_IDENTIFIER={DEMO_PARTNER_IDENTIFIER}")
    return 0 if answer.status_code == 200 else 1
