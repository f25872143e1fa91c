"""PartnerHealthFunction against the template's tables (moto): the silence of every partner with
an active key, per family, as EMF metrics, and the SilentPartners count the alarm watches."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import handler_partner_health
import pytest

from backbone.observability import metrics
from backbone.partner_health.aws import DynamoPartnerActivity
from backbone.partner_health.rule import Family
from backbone.partner_health.wiring import health_dependencies
from backbone.receiver.dispatch import ACCEPTED_MESSAGES
from backbone.settings import load_settings
from backbone.timeutil import utc_now
from bbctl import Target
from bbctl.__main__ import main as bbctl
from bbctl.ops_partners import PartnerAccessTable as DynamoPartnerAccess
from bbctl.partner_keys import issue_key, revoke_key


@pytest.fixture
def tables(aws: boto3.Session, resources: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("PARTNER_ACTIVITY_TABLE", resources["PartnerActivityTable"])
    monkeypatch.setenv("PARTNERS_TABLE", resources["PartnersTable"])
    monkeypatch.setenv("PARTNER_SILENCE_HOURS", "24")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "partner-health")
    monkeypatch.setattr(metrics, "namespace", "PlugsurfingBackboneTest")
    monkeypatch.setattr(metrics, "service", "partner-health")
    for cached in (load_settings, health_dependencies):
        cached.cache_clear()
    client = aws.client("dynamodb")
    yield (
        DynamoPartnerActivity(client, resources["PartnerActivityTable"]),
        DynamoPartnerAccess(client, resources["PartnersTable"]),
    )
    for cached in (load_settings, health_dependencies):
        cached.cache_clear()


def key_for(keys: DynamoPartnerAccess, name: str) -> str:
    issued = issue_key(
        keys, enrol=lambda _: None, name=name, partner_identifiers=[f"{name}-0123456789abcdef"],
        messages=ACCEPTED_MESSAGES, accepted_messages=ACCEPTED_MESSAGES, now=utc_now(),
    )  # fmt: skip
    return issued.access.key_id


def emf(stdout: str) -> list[tuple[str, float, dict[str, str]]]:
    """(metric, value, dimensions) of every EMF line printed."""
    found = []
    for line in stdout.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            dimensions = {name: blob[name] for names in directive["Dimensions"] for name in names}
            for metric in directive["Metrics"]:
                values = blob[metric["Name"]]
                for value in values if isinstance(values, list) else [values]:
                    found.append((metric["Name"], value, dimensions))
    return found


def test_given_a_silent_partner_then_the_check_emits_its_silence_per_family_and_counts_it(
    tables: Any, lambda_context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    activity, keys = tables
    now = utc_now()
    key_for(keys, "quiet-cpo")
    key_for(keys, "busy-cpo")
    key_for(keys, "new-cpo")  # never sent anything: not active yet, not silent
    activity.record("quiet-cpo", Family.SESSION_POST, now - timedelta(hours=30))
    activity.record("quiet-cpo", Family.RFID_VERIFY, now - timedelta(minutes=2))
    activity.record("busy-cpo", Family.POI, now - timedelta(minutes=1))

    report = handler_partner_health.handler({}, lambda_context)

    assert report == {"watched": 3, "silent": ["quiet-cpo"]}
    printed = emf(capsys.readouterr().out)
    silence = {(d["partner"], d["family"]): v for name, v, d in printed if name == "PartnerSilenceSeconds"}
    assert set(silence) == {("quiet-cpo", "session-post"), ("quiet-cpo", "rfid-verify"), ("busy-cpo", "poi")}
    assert silence[("quiet-cpo", "session-post")] == pytest.approx(30 * 3600, abs=60)
    assert silence[("busy-cpo", "poi")] == pytest.approx(60, abs=60)
    counts = {name: (v, d) for name, v, d in printed if name in ("SilentPartners", "PartnersWatched")}
    assert counts["SilentPartners"] == (1.0, {"service": "partner-health"})
    assert counts["PartnersWatched"][0] == 3.0


def test_given_the_silent_partner_s_keys_revoked_then_it_is_no_longer_watched(
    tables: Any, lambda_context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    activity, keys = tables
    now = utc_now()
    revoke_key(keys, key_for(keys, "gone-cpo"), now)
    activity.record("gone-cpo", Family.POI, now - timedelta(days=40))

    report = handler_partner_health.handler({}, lambda_context)

    assert report == {"watched": 0, "silent": []}
    printed = emf(capsys.readouterr().out)
    assert ("SilentPartners", 0.0, {"service": "partner-health"}) in printed
    assert not [name for name, _, _ in printed if name == "PartnerSilenceSeconds"]


def test_given_partners_when_the_operator_asks_for_health_then_last_seen_per_family_and_silent(
    tables: Any,
    resources: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(Target, "output", lambda self, key, logical_id: resources[logical_id])
    activity, keys = tables
    now = utc_now()
    key_for(keys, "quiet-cpo")
    key_for(keys, "busy-cpo")
    activity.record("quiet-cpo", Family.SESSION_POST, now - timedelta(hours=30))
    activity.record("busy-cpo", Family.POI, now - timedelta(minutes=3))
    capsys.readouterr()

    assert bbctl(["partners", "health", "--region", "eu-west-1"]) == 0
    table = capsys.readouterr().out
    assert bbctl(["partners", "health", "--region", "eu-west-1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)

    rows = {line.split()[0]: line for line in table.splitlines()[1:]}
    assert "30.0 h ago" in rows["quiet-cpo"]
    assert rows["quiet-cpo"].endswith("yes: session-post")
    assert "3 min ago" in rows["busy-cpo"]
    assert rows["busy-cpo"].endswith("no")
    assert report["silenceHours"] == 24
    assert {p["partnerId"]: p["silent"] for p in report["partners"]} == {"busy-cpo": False, "quiet-cpo": True}

    assert bbctl(["partners", "health", "--region", "eu-west-1", "--forget", "quiet-cpo"]) == 0
    assert [a.partner_id for a in activity.list_all()] == ["busy-cpo"]
