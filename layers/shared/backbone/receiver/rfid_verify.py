"""rfid-verify: online authorisation of a charging key (OIOI "RFID Verify").

The hot path: a CPO's charging station waits on this answer. One GetItem, nothing else.
"""

from __future__ import annotations

from backbone.errors import InvalidRequest
from backbone.keys.models import ChargingKey
from backbone.oioi.codes import ResultCode
from backbone.oioi.identifiers import InvalidUid
from backbone.oioi.models import RfidVerify
from backbone.receiver.ports import Dependencies, Request
from backbone.receiver.responses import Answer, answer


def handle(message: RfidVerify, request: Request, deps: Dependencies) -> Answer:
    """0 if the key is usable now, 191 unknown, 192 disabled/blocked/expired, 193 no payment
    method; all with HTTP 200 (the request worked, the answer may be "no"). A UID that cannot be
    one is a bad request (400, 230). A failing lookup raises, so the answer is a 5xx: never a
    "yes" we did not check."""
    try:
        uid = message.normalised_uid()
    except InvalidUid as exc:
        raise InvalidRequest(f"rfid-verify.rfid: {exc}") from exc
    item = deps.charging_keys.get(uid)
    if item is None:
        return answer(ResultCode.EVCO_ID_NOT_FOUND)
    return answer(ChargingKey.from_item(dict(item)).authorisation(request.received_at))
