"""CdrQueue: the one sender of CDR envelopes (receiver session-post, session poller, CDR
reconciliation). A failure is a `CdrQueueUnavailable` (503/100 where a partner waits): the caller
retries or fails its record; nothing is ever answered as queued that was not."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from backbone.aws.errors import AWS_ERRORS
from backbone.errors import TemporaryFailure

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient


class Message(Protocol):
    """What goes on the queue (`backbone.cdr.envelope.CdrEnvelope`)."""

    def to_message(self) -> str: ...


class CdrQueueUnavailable(TemporaryFailure):
    """SQS did not take the CDR; nothing was queued, the sender must retry."""


class SqsCdrQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client, self._queue_url = client, queue_url

    def send(self, envelope: Message) -> None:
        try:
            self._client.send_message(QueueUrl=self._queue_url, MessageBody=envelope.to_message())
        except AWS_ERRORS as error:
            raise CdrQueueUnavailable("the CDR could not be queued; please retry") from error
