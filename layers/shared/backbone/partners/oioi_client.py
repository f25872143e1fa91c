"""`OioiClient`: sends OIOI v4 messages (JSON over HTTP, one endpoint, body keyed by message name).

Auth is `Authorization: key=<api-key>`; bodies are UTF-8 JSON. A 4xx becomes a typed error
carrying the partner's `error` text, 5xx/429 go through the shared retry policy (honouring
Retry-After), and an HTTP 200 whose `result.code` is not 0xx raises `OioiRejected`. A 2xx without
`result` is a success, logged: the OIOI document says result codes are "not part of the OIOI
response, yet" (seed 002, "OIOI Response Codes").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from backbone.observability import logger
from backbone.partners.errors import has_oioi_result, oioi_code_of
from backbone.partners.http import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    ApiKey,
    ApiKeyAuth,
    CallHook,
    PartnerHttpClient,
    PartnerResponse,
)
from backbone.partners.retry import RetryPolicy

# Messages whose repetition does no harm: rfid-post replaces the whole whitelist, a status post
# sets an absolute value, and "*-get-*" / rfid-verify only read. Anything else (session-start,
# session-post...) is resent only when provably not delivered, unless the caller says otherwise.
IDEMPOTENT_MESSAGES = frozenset({"rfid-post", "rfid-verify", "connector-post-status"})


def is_idempotent_message(message_name: str) -> bool:
    return message_name in IDEMPOTENT_MESSAGES or "-get-" in message_name


@dataclass(frozen=True)
class RfidPostOutcome:
    """What the whitelist push audits: UIDs newly added, attempts, time taken, result code."""

    processed: int | None
    attempts: int
    duration: float
    code: int | None
    """None: the answer had no `result` (a success all the same)."""


class OioiClient:
    """Sync client for one OIOI endpoint (e.g. `https://api.plugsurfing.com/api/v4/request`)."""

    def __init__(
        self,
        endpoint_url: str,
        api_key: ApiKey,
        *,
        retry_policy: RetryPolicy | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        on_call: CallHook | None = None,
    ) -> None:
        # The endpoint is used as given: httpx's base_url would add a trailing slash to it.
        self.endpoint_url = endpoint_url
        self.http = PartnerHttpClient(
            "",
            auth=ApiKeyAuth("Authorization", api_key, prefix="key="),
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retry_policy=retry_policy,
            check_oioi_result=True,
            on_call=on_call,
        )

    def call(
        self, message_name: str, payload: dict[str, Any], *, idempotent: bool | None = None
    ) -> PartnerResponse:
        """Send `{message_name: payload}`; the response with attempts and duration."""
        if idempotent is None:
            idempotent = is_idempotent_message(message_name)
        response = self.http.request(
            "POST", self.endpoint_url, json={message_name: payload}, idempotent=idempotent
        )
        if not has_oioi_result(response.data):
            logger.info(
                "OIOI answer without result: taken as success (result codes are not part of "
                "every OIOI response yet)",
                extra={"oioi_message": message_name, "status": response.status},
            )
        return response

    def send(
        self, message_name: str, payload: dict[str, Any], *, idempotent: bool | None = None
    ) -> dict[str, Any]:
        """Send a message and return the parsed response (its `result.code` is a success)."""
        data: dict[str, Any] = self.call(message_name, payload, idempotent=idempotent).data
        return data

    def post_rfids(self, rfids: Iterable[str], partner_identifier: str) -> RfidPostOutcome:
        """Replace the whole whitelist of `partner_identifier` with `rfids` (big-endian, upper
        case UIDs, as the caller prepared them). Safe to retry: it is a full replacement."""
        payload = {"rfids": list(rfids), "partner-identifier": partner_identifier}
        response = self.call("rfid-post", payload)
        body = response.data
        rfid = body.get("rfid")  # the spec's example nests the count under "rfid"
        processed = rfid.get("processed") if isinstance(rfid, dict) else body.get("processed")
        return RfidPostOutcome(
            processed=processed if isinstance(processed, int) else None,
            attempts=response.attempts,
            duration=response.duration,
            code=oioi_code_of(body),
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
