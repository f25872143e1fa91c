"""What each message's logic receives: the request context and the data-access interfaces.

The AWS implementations live in `backbone.receiver.aws`, built in `backbone.receiver.wiring`;
tests pass in-memory ones.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from backbone.cdr.envelope import CdrEnvelope
from backbone.receiver.access import AccessReader, Caller
from backbone.receiver.errors import ForeignPartnerIdentifier
from backbone.receiver.stations import ConnectorRecord, StationRecord, StationWrite, StatusWrite
from backbone.timeutil import utc_now


@dataclass(frozen=True)
class Request:
    """One accepted message: its name, the exact JSON text of its object, who sent it, when."""

    message_name: str
    payload_text: str
    caller: Caller
    received_at: datetime

    def require_partner_identifier(self, partner_identifier: str) -> None:
        """Refuse (211) a partner identifier that is not one of the caller's key's."""
        if not self.caller.acts_for(partner_identifier):
            raise ForeignPartnerIdentifier(
                f"{self.message_name}.partner-identifier: {partner_identifier!r} is not a partner "
                "identifier of this API key"
            )


class ChargingKeyReader(Protocol):
    def get(self, uid: str) -> Mapping[str, Any] | None:
        """The charging-key item of a normalised UID (plain values), or None."""


class CdrSender(Protocol):
    def send(self, envelope: CdrEnvelope) -> None:
        """Durably enqueue one CDR; raises a `TemporaryFailure` if it could not."""


class StationStore(Protocol):
    def get_station(self, station_id: str) -> StationRecord | None: ...

    def get_connectors(self, evse_ids: Collection[str]) -> dict[str, ConnectorRecord]: ...

    def save_station(self, write: StationWrite) -> None:
        """Write atomically; raises `ConcurrentChange` if what was read has changed."""

    def update_status(self, evse_id: str, partner_id: str, status: str, at: datetime) -> StatusWrite:
        """Set a live connector's status if it belongs to `partner_id` and no later status was
        recorded; otherwise change nothing and return the item as it is."""


AcceptedHook = Callable[[str, str, datetime], None]
"""Told (partner id, message, receipt time) of every message answered 200; must never raise."""


def _ignore(partner_id: str, message: str, at: datetime) -> None:
    """The default `AcceptedHook`."""


@dataclass(frozen=True)
class Dependencies:
    """Data access for the receiver. The AWS adapters create their clients on first use
    (rfid-verify never pays for an SQS client)."""

    charging_keys: ChargingKeyReader
    cdr_queue: CdrSender
    stations: StationStore
    clock: Callable[[], datetime] = utc_now
    on_accepted: AcceptedHook = _ignore
    """Partner health notes who sent what (`backbone.partner_health`)."""


@dataclass(frozen=True)
class AuthorizerDependencies:
    access: AccessReader
