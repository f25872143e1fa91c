"""docs/privacy.md's inventory names every resource of template.yaml that can hold data: each
DynamoDB table and its global secondary indexes (`Table.Index`), SQS queue, S3 bucket and log
group. A resource added without a row (why it is needed, what it holds, how long) fails here, and
so does a row naming a resource the template no longer has."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode.cfn_yaml import load

from devstack.template import Template

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "privacy.md"
RESOURCES: dict[str, dict[str, Any]] = json.loads(json.dumps(load(str(ROOT / "template.yaml"))))["Resources"]
DEFAULTS = Template(ROOT / "template.yaml", {"Stage": "staging"})
DATA_TYPES = ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket", "AWS::Logs::LogGroup")
NAME = re.compile(r"`([A-Za-z0-9]+(?:\.[A-Za-z0-9]+)?)`")


def data_resources(resources: dict[str, dict[str, Any]]) -> set[str]:
    """Logical ids of the data-holding resources, and `Table.Index` for every GSI."""
    names: set[str] = set()
    for logical_id, resource in resources.items():
        if resource["Type"] not in DATA_TYPES:
            continue
        names.add(logical_id)
        for entry in resource.get("Properties", {}).get("GlobalSecondaryIndexes", []):
            index = _as_deployed(entry)
            if index is not None:
                names.add(f"{logical_id}.{index['IndexName']}")
    return names


def _as_deployed(value: dict[str, Any]) -> dict[str, Any] | None:
    """A GSI entry as a stack with the default parameters has it: `!If` resolved (the CdrTable
    upgrade steps), `AWS::NoValue` gone."""
    while "Fn::If" in value:
        condition, when_true, when_false = value["Fn::If"]
        value = when_true if DEFAULTS.condition(condition) else when_false
    return None if value == {"Ref": "AWS::NoValue"} else value


def inventory(markdown: str) -> dict[str, str]:
    """Resource name -> its row, from the table under `## Inventory` (first column: one or more
    backticked names; the other columns must say something)."""
    section = markdown.split("\n## Inventory\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not line.startswith("| `"):
            continue
        for name in NAME.findall(cells[0]):
            rows[name] = line
    return rows


ROWS = inventory(DOC.read_text(encoding="utf-8"))
EXPECTED = data_resources(RESOURCES)


def test_given_the_helpers_then_they_read_the_template_and_the_doc_as_written() -> None:
    template = {
        "T": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {"GlobalSecondaryIndexes": [{"IndexName": "ByX"}]},
        },
        "Q": {"Type": "AWS::SQS::Queue"},
        "F": {"Type": "AWS::Serverless::Function"},
    }
    doc = (
        "x\n## Inventory\n| resource | a | b | c |\n| `T`, `T.ByX` | uid | auth | 90 days |\n"
        "## Next\n| `Q` | - | - | - |\n"
    )

    assert data_resources(template) == {"T", "T.ByX", "Q"}
    assert set(inventory(doc)) == {"T", "T.ByX"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_given_a_data_resource_of_the_template_then_the_inventory_has_its_row(name: str) -> None:
    assert name in ROWS, f"docs/privacy.md, Inventory: no row for `{name}` (what it holds, why, how long)"
    cells = [cell.strip() for cell in ROWS[name].strip().strip("|").split("|")]
    assert all(len(cell) >= 4 for cell in cells[1:4]), f"`{name}`: its row says too little"


def test_given_the_inventory_then_every_resource_it_names_is_in_the_template() -> None:
    gone = sorted(set(ROWS) - EXPECTED)

    assert not gone, f"docs/privacy.md names resources the template no longer has: {gone}"
