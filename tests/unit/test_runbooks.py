"""docs/runbooks.md has a section for every alarm of template.yaml, and each alarm's description
links its section, so the person paged at 3 a.m. lands on what to do. An alarm added later
without its runbook fails here."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode.cfn_yaml import load

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "docs" / "runbooks.md"
RESOURCES: dict[str, dict[str, Any]] = json.loads(json.dumps(load(str(ROOT / "template.yaml"))))["Resources"]
LINK = re.compile(r"docs/runbooks\.md#([a-z0-9-]+)")
# Sections for alarms that other work adds to the template (the silent-partner alarm).
EXPECTED_SOON: set[str] = set()


def anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def sections(markdown: str) -> dict[str, str]:
    """anchor -> the section's text, for every heading."""
    found: dict[str, str] = {}
    parts = re.split(r"^(#{1,6} .+)$", markdown, flags=re.MULTILINE)
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        found[anchor(heading.lstrip("#"))] = body
    return found


SECTIONS = sections(RUNBOOK.read_text(encoding="utf-8"))
ALARMS = sorted(name for name, resource in RESOURCES.items() if resource["Type"] == "AWS::CloudWatch::Alarm")


def test_given_the_helpers_then_they_read_headings_and_links_as_github_does() -> None:
    assert anchor(" CdrDeadLetterAlarm") == "cdrdeadletteralarm"
    assert anchor("Function errors and throttles") == "function-errors-and-throttles"
    assert sections("# A\ntext\n### B-c\nmore\n") == {"a": "\ntext\n", "b-c": "\nmore\n"}
    assert LINK.findall("CDRs failed. Runbook at docs/runbooks.md#cdrdeadletteralarm") == [
        "cdrdeadletteralarm"
    ]


@pytest.mark.parametrize("alarm", ALARMS)
def test_given_an_alarm_then_the_runbook_has_its_section_and_its_description_links_it(alarm: str) -> None:
    own = alarm.lower()
    assert own in SECTIONS, f"docs/runbooks.md has no '### {alarm}' section"
    assert len(SECTIONS[own].split()) >= 15, f"{alarm}: its section says too little"
    description = RESOURCES[alarm]["Properties"].get("AlarmDescription", "")
    assert isinstance(description, str)
    assert LINK.findall(description) == [own], f"{alarm}: AlarmDescription must link docs/runbooks.md#{own}"


def test_given_the_runbook_then_each_alarm_section_is_an_alarm_of_the_template_or_one_expected_soon() -> None:
    alarm_like = {name for name in SECTIONS if name.endswith("alarm")}
    known = {alarm.lower() for alarm in ALARMS} | {name.lower() for name in EXPECTED_SOON}
    assert alarm_like <= known, f"runbook sections without an alarm: {sorted(alarm_like - known)}"


def test_given_the_runbook_then_every_link_inside_it_points_at_a_section() -> None:
    text = RUNBOOK.read_text(encoding="utf-8")
    internal = re.findall(r"\]\(#([a-z0-9-]+)\)", text)
    assert internal
    assert set(internal) <= set(SECTIONS), sorted(set(internal) - set(SECTIONS))
