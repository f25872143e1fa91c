"""`bbctl doctor`: is this deployment wired right? One verdict per check, and the fix.

    python -m bbctl doctor [--stack-name plugsurfing-backbone-staging] [--json]
    AWS_ENDPOINT_URL=http://127.0.0.1:5000 python -m bbctl doctor        # the local stack

Checks: every secret present and well-formed; Plugsurfing accepts our keys (one read-only call
per API family in use); our OIOI endpoint answers 401/210 without a key; the usage plan holds
exactly the active partner keys; the alarm topic has a confirmed subscription; the last whitelist
push (age and outcome); dead-letter queues empty; event source mappings and schedules enabled.
Exit code 1 when any check fails. What each verdict means and how to act: docs/runbooks.md.
Logic: `bbctl.doctor_checks`; reading the stack: `bbctl.doctor_probe`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any

from backbone.observability import logger
from backbone.timeutil import utc_now
from bbctl import Target, add_target_arguments
from bbctl.doctor_checks import Finding, Verdict, exit_code, run_checks
from bbctl.doctor_probe import AwsStackProbe

LOCAL_API = "http://127.0.0.1:3000"
LOCAL_SIMULATOR = "http://127.0.0.1:8080"
MARKS = {Verdict.OK: "ok  ", Verdict.WARN: "WARN", Verdict.FAIL: "FAIL", Verdict.SKIP: "skip"}


def register(groups: Any) -> None:
    doctor = groups.add_parser(
        "doctor",
        help="check a deployed or the local stack: secrets, partner keys, alarms, queues, schedules",
        description="Checks a deployed stack (--stack-name) or the local stack (--endpoint-url) "
        "and prints each verdict with its fix; exit code 1 when a check fails (docs/runbooks.md).",
    )
    doctor.add_argument("--json", action="store_true", help="print a JSON list of findings")
    local = doctor.add_argument_group("local stack (with --endpoint-url / AWS_ENDPOINT_URL)")
    local.add_argument(
        "--api-url",
        default=os.environ.get("DEVSTACK_API", LOCAL_API),
        help=f"the local stack's API (default $DEVSTACK_API or {LOCAL_API})",
    )
    local.add_argument(
        "--sim-url", default=LOCAL_SIMULATOR, help=f"the Plugsurfing simulator (default {LOCAL_SIMULATOR})"
    )
    local.add_argument(
        "--partner-mode",
        choices=["emp", "drive"],
        help="the API family in use (default: the deployed functions' PARTNER_MODE; emp locally)",
    )
    add_target_arguments(doctor)
    doctor.set_defaults(func=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    # The partner clients log each call; the findings say what happened, and stdout stays parseable.
    handler = logger.registered_handler
    if isinstance(handler, logging.StreamHandler):
        handler.setStream(sys.stderr)
    logger.setLevel("ERROR")
    target = Target.from_args(args)
    probe = AwsStackProbe(target, api_url=args.api_url, sim_url=args.sim_url, partner_mode=args.partner_mode)
    findings = run_checks(probe, utc_now())
    if args.json:
        print(json.dumps([finding.view() for finding in findings], indent=2))
    else:
        where = (
            f"local stack {target.stack_name} at {target.endpoint_url}" if target.local else target.stack_name
        )
        print(f"doctor: {where}")
        print("\n".join(lines(findings)))
    return exit_code(findings)


def lines(findings: list[Finding]) -> list[str]:
    width = max((len(f.check) for f in findings), default=0)
    out = []
    for finding in findings:
        out.append(f"{MARKS[finding.verdict]}  {finding.check:<{width}}  {finding.detail}")
        if finding.fix and finding.verdict in (Verdict.FAIL, Verdict.WARN):
            out.append(f"      {'':<{width}}  fix: {finding.fix}")
    failed = sum(f.verdict is Verdict.FAIL for f in findings)
    warned = sum(f.verdict is Verdict.WARN for f in findings)
    out.append(f"{len(findings)} checks: {failed} failed, {warned} warning(s)")
    return out
