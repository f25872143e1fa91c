"""Helpers of the OIOI receiver integration tests: the spec's examples, the charging keys to seed,
and a view of everything a request could have written in moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

from backbone.keys.models import ChargingKey, KeyState

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "oioi"
STAGING_UIDS = {"04523022AA4881": 0, "0477BD22AA4880": 192, "0477BD22AA4AAA": 191}
SEED_UID = "12345678ABCDEF"


def seed_text(message: str) -> str:
    return (FIXTURES / f"{message}.request.json").read_text(encoding="utf-8")


def seed_response(message: str) -> Any:
    return json.loads((FIXTURES / f"{message}.response.json").read_text(encoding="utf-8"))


def charging_keys() -> list[dict[str, Any]]:
    """The staging test UIDs (active with payment method, inactive) and the rfid-verify example's."""
    active = {"enabled": True, "state": KeyState.ACTIVE}
    return [
        ChargingKey(
            uid="04523022AA4881", keyIdentifier="8148aa22305204", visualNumber="V1", **active
        ).to_item(),
        ChargingKey(uid="0477BD22AA4880", keyIdentifier="8048aa22bd7704", visualNumber="V2").to_item(),
        ChargingKey(uid=SEED_UID, keyIdentifier="efcdab78563412", visualNumber="V3", **active).to_item(),
    ]


class World:
    """The moto resources the receiver touches, and how to read them back."""

    def __init__(self, session: boto3.Session, resources: dict[str, str]) -> None:
        self.session, self.resources = session, resources
        self.dynamodb = session.resource("dynamodb")
        self.sqs = session.client("sqs")

    def table(self, logical_id: str) -> Any:
        return self.dynamodb.Table(self.resources[logical_id])

    def items(self, logical_id: str) -> list[dict[str, Any]]:
        return sorted(self.table(logical_id).scan()["Items"], key=lambda item: json.dumps(item, default=str))

    def queued(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.resources["CdrQueue"], AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    def receive_cdrs(self) -> list[str]:
        response = self.sqs.receive_message(QueueUrl=self.resources["CdrQueue"], MaxNumberOfMessages=10)
        return [message["Body"] for message in response.get("Messages", [])]

    def snapshot(self) -> tuple[Any, ...]:
        """Everything a request could change."""
        return (self.items("ChargingKeysTable"), self.items("StationsTable"), self.queued())
