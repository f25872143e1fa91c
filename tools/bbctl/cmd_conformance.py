"""`bbctl conformance`: the OIOI self-conformance kit, run against any OIOI endpoint over HTTP.

    python -m bbctl conformance --endpoint https://.../production/api/v4/request --key "$KEY" \
        --partner-identifier "$PARTNER_IDENTIFIER"

Sends every case of `bbctl.conformance_cases` (the spec's examples and edge cases for the
messages an EMP receives: rfid-verify, session-post, station-post, connector-post-status; auth
failures, malformed bodies, wrong partner identifiers, unknown messages) and prints one line per
case: expected HTTP status and result code, what came back, PASS/FAIL/SKIP. Exits 1 if any case
failed. A black box: it knows the endpoint only by its answers, never by our code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from bbctl.conformance_cases import (
    ACTIVE_UID,
    CASES,
    CONFORMANCE_PREFIX,
    LOCKED_UID,
    Case,
    RunContext,
    general_code,
)

TIMEOUT_S = 20.0
KEY_VARIABLE = "OIOI_CONFORMANCE_KEY"

WRITES = f"""\
What a run writes on the endpoint, every identifier marked with the run id ({CONFORMANCE_PREFIX}<time>-<hex>):
  - two session-posts (ongoing, then final) of one session {CONFORMANCE_PREFIX}...-session: 0 kWh,
    0.00 EUR, driver ZZ-CNF-000000-0 (ZZ is no country), connector ZZ*CNF*E...;
  - stations {CONFORMANCE_PREFIX}...-station and ...-example with connectors ZZ*CNF*E..., both
    soft-deleted (deleted: true) by the run itself, and one connector status.
Exclude session ids starting with "{CONFORMANCE_PREFIX}" from billing; nothing else is written."""


@dataclass(frozen=True)
class Outcome:
    case: str
    spec: str
    expected: str
    got: str
    verdict: str  # PASS, FAIL or SKIP
    detail: str = ""


def register(groups: Any) -> None:
    parser = groups.add_parser(
        "conformance",
        help="check an OIOI endpoint against the spec's examples and edge cases",
        description=__doc__,
        epilog=WRITES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--endpoint", required=True, help="the OIOI endpoint URL (…/api/v4/request)")
    parser.add_argument(
        "--key",
        default=os.environ.get(KEY_VARIABLE),
        help=f"a partner API key allowed the four messages (default: ${KEY_VARIABLE})",
    )
    parser.add_argument(
        "--partner-identifier",
        help="a partner identifier of that key; without it the session-post, station-post and "
        "connector-post-status cases are skipped",
    )
    parser.add_argument(
        "--active-uid",
        default=ACTIVE_UID,
        help=f"a UID the endpoint authorises (default: the spec's test UID {ACTIVE_UID}; '' skips)",
    )
    parser.add_argument(
        "--inactive-uid",
        default=LOCKED_UID,
        help=f"a UID the endpoint refuses (default: the spec's test UID {LOCKED_UID}; '' skips)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if not args.key:
        raise SystemExit(f"bbctl conformance: --key (or ${KEY_VARIABLE}) is required")
    context = RunContext(
        key=args.key,
        partner_identifier=args.partner_identifier or None,
        active_uid=args.active_uid or None,
        locked_uid=args.inactive_uid or None,
    )
    with httpx.Client(timeout=TIMEOUT_S) as client:
        outcomes = run_cases(client, args.endpoint, context)
    print_outcomes(outcomes, context.run_id, as_json=args.json)
    return exit_code(outcomes)


def run_cases(
    client: httpx.Client, endpoint: str, context: RunContext, cases: Iterable[Case] = CASES
) -> list[Outcome]:
    return [run_case(client, endpoint, context, case) for case in cases]


def run_case(client: httpx.Client, endpoint: str, context: RunContext, case: Case) -> Outcome:
    missing = case.missing(context)
    if missing:
        needs = ", ".join("--" + name.replace("_", "-") for name in missing)
        return Outcome(case.name, case.spec, case.expected, "-", "SKIP", f"needs {needs}")
    probe = case.build(context)
    headers = {"Content-Type": "application/json"}
    if probe.authorization is not None:
        headers["Authorization"] = probe.authorization
    try:
        response = client.post(endpoint, content=probe.body, headers=headers)
    except httpx.HTTPError as exc:
        return Outcome(case.name, case.spec, case.expected, "no answer", "FAIL", type(exc).__name__)
    return judge(case, response.status_code, response.content)


def judge(case: Case, status: int, content: bytes) -> Outcome:
    """PASS when the status is one the case allows and the body is an OIOI result with one of its
    codes (or, where the spec allows it, the family's general code); a 4xx must say why in
    `error` (004, Response)."""
    code, problem = _result_code(content)
    got = f"{status} {'-' if code is None else code}"

    def outcome(verdict: str, detail: str = "") -> Outcome:
        return Outcome(case.name, case.spec, case.expected, got, verdict, detail)

    if problem:
        return outcome("FAIL", problem)
    assert code is not None  # _result_code returns a code or a problem
    if status not in case.statuses:
        return outcome("FAIL", f"HTTP {status} is not one of {sorted(case.statuses)}")
    if code not in case.codes:
        generals = {general_code(expected) for expected in case.codes}
        if not (case.general_code_ok and code in generals):
            return outcome("FAIL", f"result code {code} is not one of {sorted(case.codes)}")
        detail = "general code (004: accepted in parallel to the specific one)"
    else:
        detail = ""
    if 400 <= status < 500 and "error" not in json.loads(content):
        return outcome("FAIL", "a 4xx answer must carry an 'error' property")
    return outcome("PASS", detail)


def _result_code(content: bytes) -> tuple[int | None, str]:
    try:
        body = json.loads(content)
    except ValueError:
        return None, "the answer is not JSON"
    result = body.get("result") if isinstance(body, dict) else None
    code = result.get("code") if isinstance(result, dict) else None
    if not isinstance(code, int) or isinstance(code, bool):
        return None, 'the answer has no {"result": {"code": <integer>}}'
    return code, ""


def exit_code(outcomes: Sequence[Outcome]) -> int:
    return 1 if any(outcome.verdict == "FAIL" for outcome in outcomes) else 0


def print_outcomes(outcomes: Sequence[Outcome], run_id: str, *, as_json: bool = False) -> None:
    counts = {verdict: sum(o.verdict == verdict for o in outcomes) for verdict in ("PASS", "FAIL", "SKIP")}
    if as_json:
        print(json.dumps({"runId": run_id, **counts, "cases": [asdict(o) for o in outcomes]}, indent=2))
        return
    width = max(len(o.case) for o in outcomes)
    expected = max(len("EXPECTED"), *(len(o.expected) for o in outcomes))
    print(f"{'CASE':<{width}}  {'EXPECTED':<{expected}}  {'GOT':<9} VERDICT")
    for o in outcomes:
        line = f"{o.case:<{width}}  {o.expected:<{expected}}  {o.got:<9} {o.verdict}"
        print(line + (f"  ({o.detail})" if o.detail else ""))
    print(f"\n{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped (run {run_id})")
    if counts["FAIL"]:
        print("Spec references: bbctl/conformance_cases.py; `--json` prints them per case.", file=sys.stderr)
