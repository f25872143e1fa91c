"""A tap on an EventBridge bus: a rule that sends the matching events to a queue of its own,
which an operator (`bbctl sessions events`, `bbctl billing tap`) or a test reads."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient


class EventTap:
    """Creating it twice is harmless; `remove` takes rule and queue away again."""

    def __init__(
        self, events: EventBridgeClient, sqs: SQSClient, bus_name: str, name: str, pattern: dict[str, Any]
    ) -> None:
        self.events, self.sqs, self.bus_name, self.name = events, sqs, bus_name, name
        self.pattern = pattern

    def attach(self) -> str:
        queue_url = self.sqs.create_queue(
            QueueName=self.name, Attributes={"MessageRetentionPeriod": "86400"}
        )["QueueUrl"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        rule_arn = self.events.put_rule(
            Name=self.name, EventBusName=self.bus_name, EventPattern=json.dumps(self.pattern)
        )["RuleArn"]
        queue_arn = attributes["Attributes"]["QueueArn"]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                }
            ],
        }
        self.sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
        self.events.put_targets(
            Rule=self.name, EventBusName=self.bus_name, Targets=[{"Id": "tap", "Arn": queue_arn}]
        )
        return queue_url

    def read(self, queue_url: str, wait_seconds: int = 0) -> list[dict[str, Any]]:
        """The events that arrived (each once: read messages are deleted)."""
        answer = self.sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        )
        events = []
        for message in answer.get("Messages", []):
            events.append(json.loads(message["Body"]))
            self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return events

    def remove(self) -> None:
        self.events.remove_targets(Rule=self.name, EventBusName=self.bus_name, Ids=["tap"])
        self.events.delete_rule(Name=self.name, EventBusName=self.bus_name)
        queue_url = self.sqs.get_queue_url(QueueName=self.name)["QueueUrl"]
        self.sqs.delete_queue(QueueUrl=queue_url)
