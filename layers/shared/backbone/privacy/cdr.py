"""What pseudonymising a stored CDR means (docs/privacy.md): one rule for the retention purge
(90 days after the CDR is final) and for a data-subject erasure.

A CDR's billing fields (money, energy, times, EVSE, partner, session, payload hash) stay: they are
accounting records. The driver identifier goes: `driverId` becomes the driver's pseudonym
(`driverHash`), so the record still says "the same driver as these other records" without saying
who, and `pseudonymisedAt` records when. `driverKey` (the ByDriver index key) and `raw` (stored
redacted) hold only the pseudonym from the moment the CDR is written, so they need no change. The
payload hash is never touched: a redelivery of the original CDR after pseudonymisation is still a
DUPLICATE, never a correction, and the billing feed publishes nothing for this change.
"""

from __future__ import annotations

from typing import Any

from backbone.privacy.pseudonym import is_pseudonym

PSEUDONYMISED_AT = "pseudonymisedAt"


def is_pseudonymised(item: dict[str, Any]) -> bool:
    """True when the item holds no driver identifier (none known, or already pseudonymised)."""
    driver_id = item.get("driverId")
    return driver_id is None or is_pseudonym(str(driver_id))


def pseudonymise_update(pseudonym: str, at: str) -> dict[str, Any]:
    """UpdateItem arguments (without Key/TableName) that pseudonymise one CDR item whose driver
    has `pseudonym`; conditional, so an item already pseudonymised (or gone) is left alone and a
    concurrent ingestion of the same record cannot be overwritten with stale fields."""
    return {
        "UpdateExpression": "SET #driverId = :pseudonym, #driverHash = :pseudonym, #at = :at",
        "ConditionExpression": "attribute_exists(#driverId) AND #driverId <> :pseudonym",
        "ExpressionAttributeNames": {
            "#driverId": "driverId",
            "#driverHash": "driverHash",
            "#at": PSEUDONYMISED_AT,
        },
        "ExpressionAttributeValues": {":pseudonym": {"S": pseudonym}, ":at": {"S": at}},
    }
