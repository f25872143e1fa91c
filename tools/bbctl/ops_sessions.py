"""Operator-side session tooling for `bbctl sessions` (never shipped in the Lambda layer)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from backbone.sessions.aws import EVENT_DETAIL_TYPE, EVENT_SOURCE
from bbctl.event_tap import EventTap

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient


class SessionEventTap(EventTap):
    """The tap on SessionStatusChanged events (`bbctl sessions events`)."""

    def __init__(self, events: EventBridgeClient, sqs: SQSClient, bus_name: str, name: str) -> None:
        super().__init__(
            events, sqs, bus_name, name, {"source": [EVENT_SOURCE], "detail-type": [EVENT_DETAIL_TYPE]}
        )
