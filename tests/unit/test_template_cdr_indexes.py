"""CdrTable's indexes (docs/cdr-ingestion.md, "Access patterns"; docs/deployment.md, "CdrTable
indexes"): each projects only what its queries read, the code's index table matches the
template, and an existing stack reaches the narrowed layout one index per deployment, as
CloudFormation requires (at most one GSI created or deleted per update, no projection changed
in place)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from backbone.cdr.models import BILLING_DAY_PROJECTION, BY_SESSION_PROJECTION, INDEXES
from devstack.template import Template

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"
STEPS = ("1", "2", "3", "4", "5", "done")
Layout = frozenset[tuple[str, str, tuple[str, ...]]]

BILLING_DAY = ("ByBillingDay", "INCLUDE", BILLING_DAY_PROJECTION)
# CdrTable's indexes as stacks deployed before pseudonymisation at write hold them, once the
# billing export's ByBillingDay has been added (a deployment of its own: one index).
BEFORE: Layout = frozenset(
    {
        ("BySession", "ALL", ()),
        ("ByDriver", "ALL", ()),
        ("ByEvse", "ALL", ()),
        ("ByPartner", "ALL", ()),
        ("NeedsReview", "KEYS_ONLY", ()),
        BILLING_DAY,
    }
)


def table(step: str) -> dict[str, Any]:
    return Template(TEMPLATE_PATH, {"Stage": "staging", "CdrIndexUpgradeStep": step}).properties("CdrTable")


def layout(step: str) -> Layout:
    return frozenset(
        (
            index["IndexName"],
            index["Projection"]["ProjectionType"],
            tuple(index["Projection"].get("NonKeyAttributes", ())),
        )
        for index in table(step)["GlobalSecondaryIndexes"]
    )


def test_given_a_new_stack_then_no_index_copies_the_record_and_the_code_knows_every_index() -> None:
    done = table("done")
    indexes = {index["IndexName"]: index for index in done["GlobalSecondaryIndexes"]}

    assert {name: index["Projection"] for name, index in indexes.items()} == {
        "BySession": {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(BY_SESSION_PROJECTION)},
        "ByDriver": {"ProjectionType": "KEYS_ONLY"},
        "NeedsReview": {"ProjectionType": "KEYS_ONLY"},
        "ByBillingDay": {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(BILLING_DAY_PROJECTION)},
    }
    keys = {
        name: tuple(part["AttributeName"] for part in index["KeySchema"]) for name, index in indexes.items()
    }
    assert keys == INDEXES


@pytest.mark.parametrize("step", STEPS)
def test_every_step_defines_exactly_the_attributes_its_keys_use(step: str) -> None:
    properties = table(step)
    schemas = [
        properties["KeySchema"],
        *(index["KeySchema"] for index in properties["GlobalSecondaryIndexes"]),
    ]

    used = {part["AttributeName"] for schema in schemas for part in schema}

    assert sorted(a["AttributeName"] for a in properties["AttributeDefinitions"]) == sorted(used)


def test_given_an_existing_stack_then_each_upgrade_step_creates_or_deletes_exactly_one_index() -> None:
    layouts = [BEFORE, *(layout(step) for step in STEPS)]

    for before, after in itertools.pairwise(layouts):
        changed = before ^ after
        assert len(changed) == 1, (sorted(before), sorted(after))
        # A narrowed index is created under a name that no longer exists (never changed in place).
        assert {name for name, *_ in changed} & {name for name, *_ in before & after} == set()
