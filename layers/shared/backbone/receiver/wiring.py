"""The OIOI authorizer's and receiver's dependencies, built once per process: the one place that
builds their adapters. Clients are created on first use (`backbone.aws.clients`, `api` latency:
a partner waits behind API Gateway), so a cold start pays only for what its request needs."""

from __future__ import annotations

from datetime import datetime
from functools import cache, partial

from backbone.aws import clients
from backbone.aws.clients import client
from backbone.receiver.aws import DynamoChargingKeys, DynamoPartnerAccess, DynamoStations, LazyCdrQueue
from backbone.receiver.ports import AuthorizerDependencies, Dependencies
from backbone.receiver.settings import OioiAuthorizerSettings, OioiReceiverSettings

_dynamodb = partial(client, "dynamodb", "api")
_sqs = partial(client, "sqs", "api")


@cache
def oioi_authorizer_dependencies(settings: OioiAuthorizerSettings) -> AuthorizerDependencies:
    return AuthorizerDependencies(access=DynamoPartnerAccess(_dynamodb(), settings.partners_table))


@cache
def oioi_receiver_dependencies(settings: OioiReceiverSettings) -> Dependencies:
    # Imported here: partner health is the receiver's, not on the authorizer's cold-start path.
    from backbone.partner_health.wiring import activity_recorder  # noqa: PLC0415

    def note_activity(partner_id: str, message: str, at: datetime) -> None:
        activity_recorder().note(partner_id, message, at)  # looked up per call: tests swap it

    return Dependencies(
        charging_keys=DynamoChargingKeys(_dynamodb, settings.charging_keys_table),
        cdr_queue=LazyCdrQueue(_sqs, settings.cdr_queue_url),
        stations=DynamoStations(_dynamodb, settings.stations_table),
        on_accepted=note_activity,
    )


def forget() -> None:
    """Drop every dependency and client built so far (after a SnapStart restore: connections
    opened before the snapshot are dead, credentials resolved then are someone else's)."""
    oioi_authorizer_dependencies.cache_clear()
    oioi_receiver_dependencies.cache_clear()
    clients.reset()
