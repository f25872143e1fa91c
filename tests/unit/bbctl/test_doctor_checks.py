"""`bbctl doctor`'s verdicts over a fake stack: each broken fact is named, with its fix, and
fails the run; a healthy stack is all ok (skips only where a check cannot apply)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backbone.aws.secrets import SecretFormatError
from backbone.partners.errors import BadRequest, Forbidden, NotFound, PartnerUnavailable, ServerError
from backbone.whitelist.models import LastSuccess, Outcome, PushAttempt
from bbctl.cmd_doctor import lines
from bbctl.doctor_checks import (
    GatewayKey,
    SchedulesView,
    SecretMissing,
    SecretSpec,
    Subscription,
    Switch,
    UsagePlanView,
    Verdict,
    WhitelistView,
    exit_code,
    run_checks,
)

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def attempt(outcome: Outcome, at: datetime, message: str = "", error: str | None = None) -> PushAttempt:
    return PushAttempt(
        key=f"{at.isoformat()}#a", at=at, attemptId="a", trigger="schedule", outcome=outcome,
        message=message, error=error,
    )  # fmt: skip


def success(at: datetime, count: int = 3) -> LastSuccess:
    return LastSuccess(at=at, count=count, sha256="x", auditKey="k")


@dataclass
class FakeProbe:
    """A healthy deployed stack; tests break one fact at a time."""

    local: bool = False
    stack_name: str = "plugsurfing-backbone-staging"
    secrets: dict[str, Any] = field(
        default_factory=lambda: {
            "PlugsurfingApiKeySecret": "ps-key",
            "OioiApiKeySecret": "oioi-key",
            "OioiPartnerIdentifierSecret": "p" * 32,
            "PrivacyPepperSecret": "q" * 64,
        }
    )
    mode: str = "emp"
    plugsurfing_error: Exception | None = None
    oioi_error: Exception | None = None
    unauthenticated: tuple[int, Any] = (401, {"result": {"code": 210, "message": "Invalid API key"}})
    plan: UsagePlanView = field(
        default_factory=lambda: UsagePlanView(
            "plan1",
            {"stk:acme:k1": "h1"},
            (GatewayKey("stk:acme:k1", "h1", enabled=True, in_plan=True),),
        )
    )
    subscriptions: list[Subscription] | None = field(
        default_factory=lambda: [Subscription("email", "oncall@example.com", confirmed=True)]
    )
    whitelist_view: WhitelistView = field(
        default_factory=lambda: WhitelistView(
            attempt(Outcome.SENT, NOW - timedelta(hours=2)), success(NOW - timedelta(hours=2)), 24, NOW
        )
    )
    depths: dict[str, int] = field(
        default_factory=lambda: {"CdrDeadLetterQueue": 0, "OrderDeadLetterQueue": 0}
    )
    mappings: list[Switch] | None = field(default_factory=lambda: [Switch("uuid-1", "Enabled", "CdrQueue")])
    schedule_view: SchedulesView = field(
        default_factory=lambda: SchedulesView("true", [Switch("stk-OrderCrawl", "ENABLED")])
    )
    calls: list[str] = field(default_factory=list)

    def secret_name(self, spec: SecretSpec) -> str:
        return f"{self.stack_name}/{spec.logical_id}"

    def read_secret(self, spec: SecretSpec) -> str:
        value = self.secrets.get(spec.logical_id)
        if value is None:
            raise SecretMissing(f"secret {self.secret_name(spec)!r} not found")
        if isinstance(value, Exception):
            raise value
        return str(value)

    def partner_mode(self) -> str:
        return self.mode

    def call_plugsurfing(self, family: str, api_key: str) -> str:
        self.calls.append(family)
        if self.plugsurfing_error:
            raise self.plugsurfing_error
        return "GET answered"

    def call_oioi(self, api_key: str) -> str:
        self.calls.append("oioi")
        if self.oioi_error:
            raise self.oioi_error
        return "station-get-by-ids answered"

    def oioi_without_key(self) -> tuple[int, Any]:
        return self.unauthenticated

    def usage_plan(self) -> UsagePlanView:
        return self.plan

    def alarm_subscriptions(self) -> list[Subscription] | None:
        return self.subscriptions

    def whitelist(self) -> WhitelistView:
        return self.whitelist_view

    def dead_letter_depths(self) -> dict[str, int]:
        return self.depths

    def event_source_mappings(self) -> list[Switch] | None:
        return self.mappings

    def schedules(self) -> SchedulesView:
        return self.schedule_view


def failed(probe: FakeProbe) -> dict[str, tuple[str, str]]:
    findings = run_checks(probe, NOW)
    return {f.check: (f.detail, f.fix) for f in findings if f.verdict is Verdict.FAIL}


def test_given_a_healthy_deployed_stack_when_doctor_runs_then_every_check_is_ok_and_it_exits_zero() -> None:
    probe = FakeProbe()

    findings = run_checks(probe, NOW)

    assert {f.verdict for f in findings} == {Verdict.OK}
    assert exit_code(findings) == 0
    assert probe.calls == ["emp", "oioi"]  # one read-only call per family in use
    assert lines(findings)[-1] == f"{len(findings)} checks: 0 failed, 0 warning(s)"


def test_given_drive_mode_when_doctor_runs_then_the_drive_api_is_called_not_emp() -> None:
    probe = FakeProbe(mode="drive")

    run_checks(probe, NOW)

    assert probe.calls == ["drive", "oioi"]


def test_given_a_secret_deleted_when_doctor_runs_then_it_fails_naming_the_secret_and_how_to_restore() -> None:
    probe = FakeProbe()
    del probe.secrets["OioiApiKeySecret"]

    findings = run_checks(probe, NOW)

    broken = {f.check: (f.detail, f.fix) for f in findings if f.verdict is Verdict.FAIL}
    assert list(broken) == ["secret OioiApiKeySecret"]
    assert "restore-secret" in broken["secret OioiApiKeySecret"][1]
    assert exit_code(findings) == 1
    oioi = next(f for f in findings if f.check == "plugsurfing oioi key")
    assert oioi.verdict is Verdict.SKIP  # no key: no call with nothing
    assert probe.calls == ["emp"]


@pytest.mark.parametrize(
    "value",
    [SecretFormatError("secret 'x' holds no API key"), "key with space"],
)
def test_given_a_malformed_key_secret_when_doctor_runs_then_it_fails_with_put_secret_value(
    value: Any,
) -> None:
    probe = FakeProbe()
    probe.secrets["PlugsurfingApiKeySecret"] = value

    broken = failed(probe)

    assert "put-secret-value" in broken["secret PlugsurfingApiKeySecret"][1]


@pytest.mark.parametrize("value", ["q" * 31, SecretFormatError("secret 'x' holds no pepper")])
def test_given_a_short_or_malformed_pepper_when_doctor_runs_then_it_fails_naming_the_secret(
    value: Any,
) -> None:
    probe = FakeProbe()
    probe.secrets["PrivacyPepperSecret"] = value

    broken = failed(probe)

    assert list(broken) == ["secret PrivacyPepperSecret"]
    assert "put-secret-value" in broken["secret PrivacyPepperSecret"][1]
    assert "q" * 31 not in str(broken)  # the value is never shown


def test_given_a_missing_pepper_when_doctor_runs_then_it_fails_with_how_to_restore() -> None:
    probe = FakeProbe()
    del probe.secrets["PrivacyPepperSecret"]

    assert "restore-secret" in failed(probe)["secret PrivacyPepperSecret"][1]


def test_given_a_short_partner_identifier_when_doctor_runs_then_it_fails() -> None:
    probe = FakeProbe()
    probe.secrets["OioiPartnerIdentifierSecret"] = SecretFormatError("at least 16 characters")

    assert "secret OioiPartnerIdentifierSecret" in failed(probe)


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (Forbidden("403", status=403), Verdict.FAIL),
        (BadRequest("400", status=400, oioi_code=210), Verdict.FAIL),
        (NotFound("404", status=404), Verdict.OK),  # past authentication: the probe user is unknown
        (BadRequest("400", status=400, oioi_code=230), Verdict.OK),
        (ServerError("503", status=503), Verdict.WARN),
        (PartnerUnavailable("down", last_error=OSError("refused")), Verdict.WARN),
    ],
)
def test_given_a_partner_answer_when_classified_then_only_a_refused_key_fails(
    error: Exception, verdict: Verdict
) -> None:
    probe = FakeProbe(oioi_error=error)

    findings = {f.check: f for f in run_checks(probe, NOW)}

    assert findings["plugsurfing oioi key"].verdict is verdict


def test_given_our_endpoint_answers_403_without_a_key_when_doctor_runs_then_it_fails() -> None:
    probe = FakeProbe(unauthenticated=(403, {"message": "Forbidden"}))

    assert "oioi endpoint without a key" in failed(probe)


def test_given_a_partner_key_missing_from_the_usage_plan_when_doctor_runs_then_sync_usage_is_the_fix() -> (
    None
):
    probe = FakeProbe(
        plan=UsagePlanView(
            "plan1",
            {"stk:acme:k1": "h1", "stk:acme:k2": "h2"},
            (GatewayKey("stk:acme:k1", "h1", True, True), GatewayKey("stk:old:k0", "h0", True, True)),
        )
    )

    detail, fix = failed(probe)["usage plan"]

    assert "k2" in detail  # active, not enrolled
    assert "k0" in detail  # enrolled, not active
    assert fix == "bbctl partners sync-usage"


@pytest.mark.parametrize(
    "subscriptions",
    [[], [Subscription("email", "oncall@example.com", confirmed=False)]],
)
def test_given_no_confirmed_alarm_subscription_when_doctor_runs_then_it_fails(
    subscriptions: list[Subscription],
) -> None:
    assert "alarm topic" in failed(FakeProbe(subscriptions=subscriptions))


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (WhitelistView(attempt(Outcome.FAILED, NOW, error="503"), success(NOW - HOUR), 24, NOW), "FAILED"),
        (WhitelistView(attempt(Outcome.REFUSED_SHRINK, NOW, "x"), success(NOW), 24, NOW), "REFUSED_SHRINK"),
        (WhitelistView(attempt(Outcome.SENT, NOW - 30 * HOUR), success(NOW - 30 * HOUR), 24, NOW), "older"),
        (WhitelistView(None, None, 24, NOW - timedelta(days=3)), "never pushed"),
    ],
)  # fmt: skip
def test_given_a_failed_refused_or_stale_whitelist_push_when_doctor_runs_then_it_fails(
    view: WhitelistView, expected: str
) -> None:
    detail, fix = failed(FakeProbe(whitelist_view=view))["whitelist push"]

    assert expected in detail
    assert "bbctl whitelist" in fix


def test_given_a_fresh_stack_without_a_push_yet_when_doctor_runs_then_the_whitelist_is_skipped() -> None:
    findings = {
        f.check: f for f in run_checks(FakeProbe(whitelist_view=WhitelistView(None, None, 24, NOW)), NOW)
    }

    assert findings["whitelist push"].verdict is Verdict.SKIP


def test_given_a_dead_letter_queue_holding_messages_when_doctor_runs_then_it_names_queue_and_redrive() -> (
    None
):
    probe = FakeProbe(depths={"CdrDeadLetterQueue": 3, "OrderDeadLetterQueue": 0})

    broken = failed(probe)

    assert list(broken) == ["dead letters CdrDeadLetterQueue"]
    detail, fix = broken["dead letters CdrDeadLetterQueue"]
    assert detail == "3 message(s) waiting"
    assert "bbctl cdr redrive" in fix
    assert "docs/runbooks.md#cdrdeadletteralarm" in fix


def test_given_a_disabled_event_source_mapping_when_doctor_runs_then_it_fails_with_the_enable_command() -> (
    None
):
    probe = FakeProbe(mappings=[Switch("uuid-1", "Enabled", "a"), Switch("uuid-2", "Disabled", "CdrQueue")])

    detail, fix = failed(probe)["event source mapping uuid-2"]

    assert "Disabled" in detail
    assert fix == "aws lambda update-event-source-mapping --uuid uuid-2 --enabled"


def test_given_schedules_off_by_parameter_when_doctor_runs_then_it_fails_with_the_deploy_override() -> None:
    detail, fix = failed(FakeProbe(schedule_view=SchedulesView("false", [Switch("r", "DISABLED")])))[
        "schedules"
    ]

    assert "SchedulesEnabled=false" in detail
    assert "SchedulesEnabled=true" in fix


def test_given_one_schedule_rule_disabled_when_doctor_runs_then_it_names_that_rule() -> None:
    view = SchedulesView("true", [Switch("stk-A", "ENABLED"), Switch("stk-B", "DISABLED")])

    broken = failed(FakeProbe(schedule_view=view))

    assert list(broken) == ["schedule stk-B"]
    assert broken["schedule stk-B"][1] == "aws events enable-rule --name stk-B"


def test_given_the_local_stack_when_doctor_runs_then_alarms_and_mappings_are_skipped_with_a_reason() -> None:
    probe = replace(
        FakeProbe(),
        local=True,
        subscriptions=None,
        mappings=None,
        schedule_view=SchedulesView(None, [Switch("l-A", "ENABLED")]),
    )

    findings = {f.check: f for f in run_checks(probe, NOW)}

    assert findings["alarm topic"].verdict is Verdict.SKIP
    assert findings["event source mappings"].verdict is Verdict.SKIP
    assert "local stack" in findings["event source mappings"].detail
    assert findings["schedules"].verdict is Verdict.OK
    assert exit_code(findings.values()) == 0


def test_given_a_check_that_cannot_read_its_facts_when_doctor_runs_then_it_fails_and_others_still_run() -> (
    None
):
    probe = FakeProbe()

    def broken() -> dict[str, int]:
        raise RuntimeError("AccessDenied on sqs:GetQueueAttributes")

    probe.dead_letter_depths = broken  # type: ignore[method-assign]

    findings = run_checks(probe, NOW)

    [failure] = [f for f in findings if f.verdict is Verdict.FAIL]
    assert failure.check == "dead letters"
    assert "AccessDenied" in failure.detail
    assert findings[-1].check == "schedules"
