"""The billing events' JSON Schemas: schemas/billing/<type>-v<version>.json is the one source;
the template's schema registry holds the same content; the schema lists exactly the fields of
BillingRecord; and every event the publisher sends validates against its own schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from billingfactory import cdr_item
from cfnlint.decode.cfn_yaml import load
from jsonschema import Draft4Validator

from backbone.billing.aws import EventBridgeBillingBus
from backbone.billing.events import BillingEvent, billing_events
from backbone.billing.models import SCHEMA_VERSION, BillingEventType, BillingRecord
from backbone.cdr.models import RecordKind

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE: dict[str, Any] = json.loads(json.dumps(load(str(ROOT / "template.yaml"))))
TYPES = [event_type.value for event_type in BillingEventType]


def schema_file(event_type: str) -> dict[str, Any]:
    path = ROOT / "schemas" / "billing" / f"{event_type}-v{SCHEMA_VERSION}.json"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def template_schemas() -> dict[str, dict[str, Any]]:
    """Schema name (`<source>@<type>`) -> the resource's properties."""
    return {
        resource["Properties"]["SchemaName"]: resource["Properties"]
        for resource in TEMPLATE["Resources"].values()
        if resource["Type"] == "AWS::EventSchemas::Schema"
    }


def delivered(event: BillingEvent) -> dict[str, Any]:
    """The event as a subscriber receives it (EventBridge adds id, time, account... beside)."""
    entry = EventBridgeBillingBus(client=None, bus_name="bus").entry(event)  # type: ignore[arg-type]
    return {
        "source": entry["Source"],
        "detail-type": entry["DetailType"],
        "detail": json.loads(entry["Detail"]),
    }


def errors(schema: dict[str, Any], event: dict[str, Any]) -> list[str]:
    return [error.message for error in Draft4Validator(schema).iter_errors(event)]


@pytest.mark.parametrize("event_type", TYPES)
def test_given_a_schema_file_then_the_template_registry_holds_the_same_schema(event_type: str) -> None:
    declared = template_schemas()
    name = f"plugsurfing-backbone.cdr@{event_type}"
    assert name in declared, f"template.yaml declares no schema {name}"
    assert declared[name]["Type"] == "JSONSchemaDraft4"
    in_template = json.loads(declared[name]["Content"])
    assert in_template == schema_file(event_type), (
        f"template.yaml's {event_type}Schema differs from its file "
        f"schemas/billing/{event_type}-v{SCHEMA_VERSION}.json; "
        f"paste: {json.dumps(schema_file(event_type), separators=(',', ':'), ensure_ascii=False)}"
    )


def test_given_the_template_then_it_declares_one_schema_per_event_type_and_no_other() -> None:
    assert sorted(template_schemas()) == sorted(f"plugsurfing-backbone.cdr@{t}" for t in TYPES)


@pytest.mark.parametrize("event_type", TYPES)
def test_given_a_schema_then_it_is_draft4_and_lists_exactly_the_billing_record_fields(
    event_type: str,
) -> None:
    schema = schema_file(event_type)
    Draft4Validator.check_schema(schema)
    detail = schema["properties"]["detail"]
    fields = {field.alias or name for name, field in BillingRecord.model_fields.items()}
    assert set(detail["properties"]) == fields | {"schemaVersion", "eventId"}
    assert set(detail["required"]) == set(detail["properties"])
    assert detail["additionalProperties"] is False


EXAMPLES = {
    "finalized": (None, cdr_item(), ["CdrFinalized"]),
    "finalized, flagged": (
        None,
        cdr_item(anomalies=("cost-currency-missing",)),
        ["CdrFinalized", "CdrFlagged"],
    ),
    "corrected": (None, cdr_item(kind=RecordKind.CORRECTION, payload_hash="c" * 64), ["CdrCorrected"]),
    "flagged ongoing": (None, cdr_item(status="ONGOING", anomalies=("x",)), ["CdrFlagged"]),
}


@pytest.mark.parametrize("example", EXAMPLES)
def test_given_a_published_event_then_it_validates_against_its_schema_only(example: str) -> None:
    old, new, expected = EXAMPLES[example]
    events = billing_events(old, new)
    assert [event.type.value for event in events] == expected
    for event in events:
        body = delivered(event)
        assert errors(schema_file(event.type.value), body) == []
        for other in set(TYPES) - {event.type.value}:
            assert errors(schema_file(other), body), f"a {event.type.value} event passes the {other} schema"


def test_given_a_float_amount_or_a_local_time_then_the_schema_refuses_it() -> None:
    body = delivered(billing_events(None, cdr_item())[0])
    assert errors(schema_file("CdrFinalized"), body | {"detail": body["detail"] | {"costAmount": 14.3}})
    assert errors(
        schema_file("CdrFinalized"),
        body | {"detail": body["detail"] | {"startedAt": "2026-03-01T11:00:00+01:00"}},
    )
    assert errors(schema_file("CdrFinalized"), body | {"detail": body["detail"] | {"surprise": 1}})
