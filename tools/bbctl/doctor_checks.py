"""What `bbctl doctor` concludes, and the one-line fix it prints: pure logic over the facts a
`StackProbe` reads (`bbctl.doctor_probe` reads them from a deployed or the local stack; the unit
tests from fakes).

Each check yields `Finding`s with a verdict: `ok`, `warn` (works, but look), `fail` (something
is broken or will break: doctor exits non-zero) or `skip` (cannot be checked here, with the
reason). A check that cannot read its facts fails with the error instead of stopping the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from backbone.aws.secrets import PARTNER_IDENTIFIER_MIN_LENGTH
from backbone.oioi.codes import ResultCode
from backbone.partners.errors import (
    Forbidden,
    PartnerError,
    PartnerUnavailable,
    ServerError,
    TooManyRequests,
)
from backbone.privacy.pseudonym import PEPPER_MIN_LENGTH
from backbone.whitelist.models import LastSuccess, Outcome, PushAttempt

RUNBOOKS = "docs/runbooks.md"
INVALID_API_KEY = int(ResultCode.INVALID_API_KEY)


class Verdict(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Finding:
    check: str
    verdict: Verdict
    detail: str
    fix: str = ""

    def view(self) -> dict[str, str]:
        return {**asdict(self), "verdict": self.verdict.value}


# --- the facts ------------------------------------------------------------------------------------


class SecretMissing(LookupError):
    """The secret does not exist (or cannot be read); the message names it, never a value."""


@dataclass(frozen=True)
class SecretSpec:
    """One secret of the stack, how its value is read, and how an operator puts it."""

    logical_id: str
    what: str
    kind: str  # "api-key" | "partner-identifier" | "pepper"


SECRETS = (
    SecretSpec("PlugsurfingApiKeySecret", "Plugsurfing Drive/EMP x-api-key", "api-key"),
    SecretSpec("OioiApiKeySecret", "OIOI API key we send to Plugsurfing", "api-key"),
    SecretSpec("OioiPartnerIdentifierSecret", "our OIOI partner identifier", "partner-identifier"),
    SecretSpec("PrivacyPepperSecret", "pepper of driver pseudonyms", "pepper"),
)


@dataclass(frozen=True)
class GatewayKey:
    """An API Gateway key this stack created for a partner key, and whether the plan holds it."""

    name: str
    value: str
    enabled: bool
    in_plan: bool


@dataclass(frozen=True)
class UsagePlanView:
    plan_id: str
    wanted: Mapping[str, str]
    """Gateway key name -> usage key value, for every active partner key."""
    gateway: tuple[GatewayKey, ...] = ()


@dataclass(frozen=True)
class Subscription:
    protocol: str
    endpoint: str
    confirmed: bool


@dataclass(frozen=True)
class WhitelistView:
    latest: PushAttempt | None
    last_success: LastSuccess | None
    max_age_hours: float
    stack_created: datetime | None
    """None: unknown (the local stack)."""


@dataclass(frozen=True)
class Switch:
    """An event source mapping or a schedule rule, and its state as AWS reports it."""

    name: str
    state: str
    target: str = ""


@dataclass(frozen=True)
class SchedulesView:
    parameter: str | None
    """SchedulesEnabled of the deployed stack; None on the local stack (Stage=local schedules)."""
    rules: list[Switch] = field(default_factory=list)


class StackProbe(Protocol):
    """Reads what doctor checks. Raises on what it cannot read (the check then fails with it)."""

    local: bool
    stack_name: str

    def secret_name(self, spec: SecretSpec) -> str: ...
    def read_secret(self, spec: SecretSpec) -> str: ...
    def partner_mode(self) -> str: ...
    def call_plugsurfing(self, family: str, api_key: str) -> str: ...
    def call_oioi(self, api_key: str) -> str: ...
    def oioi_without_key(self) -> tuple[int, Any]: ...
    def usage_plan(self) -> UsagePlanView: ...
    def alarm_subscriptions(self) -> list[Subscription] | None: ...
    def whitelist(self) -> WhitelistView: ...
    def dead_letter_depths(self) -> dict[str, int]: ...
    def event_source_mappings(self) -> list[Switch] | None: ...
    def schedules(self) -> SchedulesView: ...


# --- running them ---------------------------------------------------------------------------------

Check = Callable[[StackProbe, datetime], Iterable[Finding]]


def run_checks(
    probe: StackProbe, now: datetime, checks: Iterable[tuple[str, Check]] | None = None
) -> list[Finding]:
    """Every check, in order; one that raises becomes a `fail` naming the error."""
    findings: list[Finding] = []
    for name, check in checks if checks is not None else CHECKS:
        try:
            findings.extend(check(probe, now))
        except Exception as exc:  # one broken read must not hide the other checks
            findings.append(
                Finding(
                    name,
                    Verdict.FAIL,
                    f"could not check: {_first_line(exc)}",
                    "see the error; --stack-name/--region?",
                )
            )
    return findings


def exit_code(findings: Iterable[Finding]) -> int:
    return 1 if any(f.verdict is Verdict.FAIL for f in findings) else 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


# --- secrets ------------------------------------------------------------------------------------


def check_secrets(probe: StackProbe, now: datetime) -> Iterator[Finding]:
    for spec in SECRETS:
        yield _secret_finding(probe, spec)


def _secret_finding(probe: StackProbe, spec: SecretSpec) -> Finding:
    name = probe.secret_name(spec)
    check = f"secret {spec.logical_id}"
    put = f"aws secretsmanager put-secret-value --secret-id {name} --secret-string <value>"
    try:
        value = probe.read_secret(spec)
    except SecretMissing as exc:
        return Finding(
            check,
            Verdict.FAIL,
            f"{spec.what}: missing ({exc})",
            f"restore it (aws secretsmanager restore-secret --secret-id {name}) or redeploy, then {put}",
        )
    except ValueError as exc:  # backbone.aws.secrets.SecretFormatError: names the secret, never the value
        return Finding(check, Verdict.FAIL, f"{spec.what}: malformed ({exc})", put)
    if any(c.isspace() or not c.isprintable() for c in value):
        return Finding(check, Verdict.FAIL, f"{spec.what}: contains spaces or control characters", put)
    if spec.kind == "partner-identifier":
        return Finding(
            check, Verdict.OK, f"{spec.what}: {len(value)} characters (>= {PARTNER_IDENTIFIER_MIN_LENGTH})"
        )
    if spec.kind == "pepper":
        if len(value) < PEPPER_MIN_LENGTH:
            return Finding(
                check, Verdict.FAIL, f"{spec.what}: shorter than {PEPPER_MIN_LENGTH} characters", put
            )
        return Finding(check, Verdict.OK, f"{spec.what}: {len(value)} characters (>= {PEPPER_MIN_LENGTH})")
    return Finding(check, Verdict.OK, f"{spec.what}: present and well-formed")


# --- Plugsurfing accepts our keys ---------------------------------------------------------------


def check_partner_keys(probe: StackProbe, now: datetime) -> Iterator[Finding]:
    mode = probe.partner_mode()
    family = "drive" if mode == "drive" else "emp"
    yield _partner_call(
        probe,
        f"plugsurfing {family} key",
        SECRETS[0],
        lambda key: probe.call_plugsurfing(family, key),
        f"PartnerMode={mode}",
    )
    yield _partner_call(
        probe, "plugsurfing oioi key", SECRETS[1], probe.call_oioi, "read-only station-get-by-ids"
    )


def _partner_call(
    probe: StackProbe, check: str, spec: SecretSpec, call: Callable[[str], str], used_by: str
) -> Finding:
    try:
        key = probe.read_secret(spec)
    except (LookupError, ValueError):
        return Finding(check, Verdict.SKIP, f"no usable key in {spec.logical_id} (see its secret check)")
    name = probe.secret_name(spec)
    put = (
        "put the key Plugsurfing issued for this stage: "
        f"aws secretsmanager put-secret-value --secret-id {name} ..."
    )
    try:
        what = call(key)
    except PartnerError as exc:
        verdict, detail = classify_partner_error(exc)
        if verdict is Verdict.OK:
            return Finding(check, Verdict.OK, f"accepted ({detail}; {used_by})")
        if verdict is Verdict.FAIL:
            return Finding(check, Verdict.FAIL, f"rejected: {detail}", put)
        return Finding(
            check,
            verdict,
            f"not answered: {detail}",
            "check the network path to Plugsurfing, then run doctor again",
        )
    return Finding(check, Verdict.OK, f"accepted ({what}; {used_by})")


def classify_partner_error(exc: PartnerError) -> tuple[Verdict, str]:
    """A read-only call's failure: did Plugsurfing take the key? Rejected keys are answered
    401/403 (REST) or OIOI result code 210; any other answer got past authentication."""
    status = f"HTTP {exc.status}" if exc.status else "no answer"
    code = f", OIOI code {exc.oioi_code}" if exc.oioi_code is not None else ""
    if isinstance(exc, Forbidden) or exc.oioi_code == INVALID_API_KEY:
        return Verdict.FAIL, f"{status}{code}"
    if isinstance(exc, PartnerUnavailable | ServerError | TooManyRequests):
        return Verdict.WARN, f"{status}{code}: {_first_line(exc)}"
    return Verdict.OK, f"authenticated, answered {status}{code}"


# --- our OIOI endpoint refuses a request without a key ------------------------------------------


def check_oioi_endpoint(probe: StackProbe, now: datetime) -> Iterator[Finding]:
    check = "oioi endpoint without a key"
    status, body = probe.oioi_without_key()
    result = body.get("result") if isinstance(body, dict) else None
    code = result.get("code") if isinstance(result, dict) else None
    if status == 401 and code == INVALID_API_KEY:
        yield Finding(check, Verdict.OK, "answers 401 with OIOI result code 210")
        return
    yield Finding(
        check,
        Verdict.FAIL,
        f"answered HTTP {status} with result code {code} (OIOI wants 401 and 210)",
        "redeploy the template: OioiApi's GatewayResponses and OioiAuthorizerFunction answer this",
    )


# --- usage plan and partner keys ------------------------------------------------------------------


def check_usage_plan(probe: StackProbe, now: datetime) -> Iterator[Finding]:
    check = "usage plan"
    view = probe.usage_plan()
    gateway = {key.name: key for key in view.gateway}
    missing = sorted(
        name.rsplit(":", 1)[-1]
        for name, value in view.wanted.items()
        if name not in gateway
        or gateway[name].value != value
        or not gateway[name].enabled
        or not gateway[name].in_plan
    )
    stray = sorted(name.rsplit(":", 1)[-1] for name in gateway if name not in view.wanted)
    if not missing and not stray:
        yield Finding(
            check, Verdict.OK, f"plan {view.plan_id} holds all {len(view.wanted)} active partner key(s)"
        )
        return
    parts = []
    if missing:
        parts.append(f"not enrolled (answered 403): {', '.join(missing)}")
    if stray:
        parts.append(f"enrolled but not active (revoked or unknown): {', '.join(stray)}")
    yield Finding(
        check, Verdict.FAIL, f"plan {view.plan_id}: {'; '.join(parts)}", "bbctl partners sync-usage"
    )


# --- alarms reach someone -----------------------------------------------------------------------


def check_alarm_topic(probe: StackProbe, now: datetime) -> Iterator[Finding]:
    check = "alarm topic"
    subscriptions = probe.alarm_subscriptions()
    if subscriptions is None:
        yield Finding(check, Verdict.SKIP, "the local stack evaluates no CloudWatch alarms")
        return
    confirmed = [s for s in subscriptions if s.confirmed]
    if confirmed:
        ways = ", ".join(sorted({f"{s.protocol}" for s in confirmed}))
        yield Finding(check, Verdict.OK, f"{len(confirmed)} confirmed subscription(s) ({ways})")
    elif subscriptions:
        yield Finding(
            check,
            Verdict.FAIL,
            f"{len(subscriptions)} subscription(s), none confirmed: alarms reach nobody",
            "confirm the email AWS sent to the AlarmEmail address (or subscribe again)",
        )
    else:
        yield Finding(
            check,
            Verdict.FAIL,
            "no subscription: alarms reach nobody",
            "deploy with AlarmEmail=<on-call address>, or aws sns subscribe --topic-arn <AlarmsTopicArn> ...",
        )


# --- the whitelist push -------------------------------------------------------------------------


def check_whitelist(probe: StackProbe, now: datetime) -> Iterator[Finding]:
    check = "whitelist push"
    view = probe.whitelist()
    max_age = timedelta(hours=view.max_age_hours)
    if view.latest is None and view.last_success is None:
        if view.stack_created is not None and now - view.stack_created > max_age:
            yield Finding(
                check,
                Verdict.FAIL,
                f"never pushed, and the stack is older than WhitelistMaxAgeHours ({view.max_age_hours:g} h)",
                "bbctl whitelist push (and check SchedulesEnabled)",
            )
        else:
            yield Finding(
                check,
                Verdict.SKIP,
                "no push yet (the next WhitelistSchedule sends one; bbctl whitelist push now)",
            )
        return
    latest = view.latest
    if latest is not None and latest.outcome is Outcome.FAILED:
        yield Finding(
            check,
            Verdict.FAIL,
            f"latest push {_ago(now, latest.at)} FAILED: {latest.error or latest.message}",
            "bbctl whitelist show last; fix the cause, then bbctl whitelist push "
            f"({RUNBOOKS}#whitelistpushfailedalarm)",
        )
        return
    if latest is not None and latest.outcome.refused:
        yield Finding(
            check,
            Verdict.FAIL,
            f"latest push {_ago(now, latest.at)} {latest.outcome.value}: {latest.message}",
            f"bbctl whitelist show last; if intended: bbctl whitelist push --override --reason ... "
            f"({RUNBOOKS}#whitelistpushrefusedalarm)",
        )
        return
    success = view.last_success
    if success is None or now - success.at > max_age:
        when = "never succeeded" if success is None else f"last success {_ago(now, success.at)}"
        yield Finding(
            check,
            Verdict.FAIL,
            f"{when}, older than WhitelistMaxAgeHours ({view.max_age_hours:g} h)",
            f"bbctl whitelist push ({RUNBOOKS}#whiteliststalealarm)",
        )
        return
    outcome = f"latest {latest.outcome.value} {_ago(now, latest.at)}; " if latest is not None else ""
    yield Finding(check, Verdict.OK, f"{outcome}last success {_ago(now, success.at)}, {success.count} UIDs")


def _ago(now: datetime, then: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds / 3600:.1f} h ago"


# --- dead letters -------------------------------------------------------------------------------

DEAD_LETTER_FIXES = {
    "CdrDeadLetterQueue": "bbctl cdr dlq, fix the cause, then bbctl cdr redrive",
    "KeySyncDeadLetterQueue": "fix the cause, then bbctl keys reconcile --repair; purge the queue",
    "SessionStartDeadLetterQueue": "read the messages (aws sqs receive-message): each failed five times",
    "OrderDeadLetterQueue": "bbctl orders show <order id> per message; fix, then bbctl orders retry",
    "DriveOrderDeadLetterQueue": "bbctl orders drive-list; fix, then aws sqs start-message-move-task",
    "BillingEventsDeadLetterQueue": "fix, then bbctl billing republish --since/--until; purge the queue",
}


def check_dead_letters(probe: StackProbe, now: datetime) -> Iterator[Finding]:
    for queue, depth in sorted(probe.dead_letter_depths().items()):
        check = f"dead letters {queue}"
        if depth == 0:
            yield Finding(check, Verdict.OK, "empty")
        else:
            runbook = f"{RUNBOOKS}#{queue.removesuffix('Queue').lower()}alarm"
            fix = DEAD_LETTER_FIXES.get(queue, "read, fix, redrive")
            yield Finding(check, Verdict.FAIL, f"{depth} message(s) waiting", f"{fix} ({runbook})")


# --- switches: event source mappings and schedules --------------------------------------------


def check_event_source_mappings(probe: StackProbe, now: datetime) -> Iterator[Finding]:
    check = "event source mappings"
    mappings = probe.event_source_mappings()
    if mappings is None:
        yield Finding(
            check,
            Verdict.SKIP,
            "the local stack polls every queue and stream of the template itself (no mappings to switch)",
        )
        return
    off = [m for m in mappings if m.state != "Enabled"]
    if not mappings:
        yield Finding(check, Verdict.FAIL, "none found in the stack", "redeploy the template")
    for mapping in off:
        yield Finding(
            f"event source mapping {mapping.name}",
            Verdict.FAIL,
            f"{mapping.state} ({mapping.target}): its queue or stream is not drained",
            f"aws lambda update-event-source-mapping --uuid {mapping.name} --enabled",
        )
    if mappings and not off:
        yield Finding(check, Verdict.OK, f"all {len(mappings)} enabled")


def check_schedules(probe: StackProbe, now: datetime) -> Iterator[Finding]:
    check = "schedules"
    view = probe.schedules()
    if view.parameter is not None and view.parameter != "true":
        yield Finding(
            check,
            Verdict.FAIL,
            "SchedulesEnabled=false: no order crawl, Drive order tracking, reconciliation or whitelist push",
            "after the first-deployment steps: "
            "sam deploy --config-env <stage> --parameter-overrides SchedulesEnabled=true",
        )
        return
    off = [rule for rule in view.rules if rule.state != "ENABLED"]
    for rule in off:
        yield Finding(
            f"schedule {rule.name}",
            Verdict.FAIL,
            f"{rule.state} although schedules are on{f' ({rule.target})' if rule.target else ''}",
            f"aws events enable-rule --name {rule.name}",
        )
    if not view.rules:
        yield Finding(
            check, Verdict.FAIL, "no schedule rules found", "redeploy the template (or restart make run)"
        )
    elif not off:
        where = (
            "the local stack fires ENABLED rules on their rate (under --no-schedules only on demand)"
            if probe.local
            else "SchedulesEnabled=true"
        )
        yield Finding(check, Verdict.OK, f"all {len(view.rules)} rules ENABLED; {where}")


CHECKS: tuple[tuple[str, Check], ...] = (
    ("secrets", check_secrets),
    ("plugsurfing keys", check_partner_keys),
    ("oioi endpoint without a key", check_oioi_endpoint),
    ("usage plan", check_usage_plan),
    ("alarm topic", check_alarm_topic),
    ("whitelist push", check_whitelist),
    ("dead letters", check_dead_letters),
    ("event source mappings", check_event_source_mappings),
    ("schedules", check_schedules),
)
