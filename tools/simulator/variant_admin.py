"""Admin routes of the variants (`variants.py`), under `/_sim` like the rest of the admin API.
Bodies are validated by the same models as the Python methods (unknown fields: 400)."""

from __future__ import annotations

from flask import Blueprint, Response

from simulator.admin import object_body
from simulator.variants import (
    DriveOrderStateIn,
    ForbiddenKeyIn,
    LostAnswerIn,
    OrderStatusIn,
    UnknownConnectorIn,
    VariantSwitchesIn,
)
from simulator.web import answer, core

variant_admin = Blueprint("variant_admin", __name__, url_prefix="/_sim")


@variant_admin.post("/orders/<order_id>/status")
def order_status(order_id: str) -> Response:
    body = OrderStatusIn.model_validate(object_body())
    return answer(200, core().set_order_status(order_id, body.status))


@variant_admin.post("/users/<user_id>/orders/<order_id>/state")
def drive_order_state(user_id: str, order_id: str) -> Response:
    body = DriveOrderStateIn.model_validate(object_body())
    return answer(200, core().set_drive_order_state(user_id, order_id, body.state, body.hasReceipt))


@variant_admin.post("/keys/forbidden")
def forbidden_key() -> Response:
    body = ForbiddenKeyIn.model_validate(object_body())
    return answer(200, core().forbid_key(body.keyIdentifier, body.forbidden))


@variant_admin.post("/connectors/unknown")
def unknown_connector() -> Response:
    body = UnknownConnectorIn.model_validate(object_body())
    return answer(200, core().mark_connector_unknown(body.connectorId, body.unknown))


@variant_admin.post("/sessions/lost-answers")
def lost_answers() -> Response:
    body = LostAnswerIn.model_validate(object_body())
    return answer(200, core().lose_start_answers(body.connectorId, body.status, body.count))


@variant_admin.get("/variants")
def variants() -> Response:
    return answer(200, core().variants())


@variant_admin.post("/variants")
def switch_variants() -> Response:
    body = VariantSwitchesIn.model_validate(object_body())
    return answer(200, core().switch_variants(**body.model_dump(exclude_none=True)))
