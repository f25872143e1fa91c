"""OIOI messages the e2e tests post, written as text by hand so numbers stay exactly as sent
(`16.50`, `0.30000000000000004`, `"16.5"`): the spec's session-post example with our own ids."""

from __future__ import annotations

RFID = "04523022AA4881"


def session_post(
    session_id: str,
    partner_identifier: str,
    *,
    final: bool = True,
    energy: str = "16.5",
    cost: str | None = "14.32",
    identifier: str = RFID,
) -> bytes:
    """`energy` and `cost` are JSON text; `cost=None` leaves `calculated-cost` out."""
    interval = (
        '{"start": "2026-03-01T11:00:00+01:00"'
        + (', "stop": "2026-03-01T17:00:00+01:00"' if final else "")
        + "}"
    )
    parts = [
        f'"user": {{"identifier": "{identifier}", "identifier-type": "rfid"}}',
        f'"session-id": "{session_id}"',
        '"connector-id": "DE*8PS*ETABCD*1"',
        f'"session-interval": {interval}',
        f'"energy-consumed": {energy}',
        f'"partner-identifier": "{partner_identifier}"',
    ]
    if cost is not None:
        parts.append(f'"calculated-cost": {{"amount": {cost}, "currency": "EUR"}}')
    return ('{"session-post": {' + ", ".join(parts) + "}}").encode()
