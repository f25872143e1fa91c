"""Admin routes of the variants (`variants.py`), under `/_sim` like the rest of the admin API."""

from __future__ import annotations

from flask import Blueprint, Response

from simulator.admin import object_body
from simulator.web import answer, core

variant_admin = Blueprint("variant_admin", __name__, url_prefix="/_sim")


@variant_admin.post("/orders/<order_id>/status")
def order_status(order_id: str) -> Response:
    return answer(200, core().set_order_status(order_id, **object_body()))


@variant_admin.post("/users/<user_id>/orders/<order_id>/state")
def drive_order_state(user_id: str, order_id: str) -> Response:
    return answer(200, core().set_drive_order_state(user_id, order_id, **object_body()))


@variant_admin.post("/keys/forbidden")
def forbidden_key() -> Response:
    return answer(200, core().forbid_key(**object_body()))


@variant_admin.post("/connectors/unknown")
def unknown_connector() -> Response:
    return answer(200, core().mark_connector_unknown(**object_body()))


@variant_admin.post("/sessions/lost-answers")
def lost_answers() -> Response:
    return answer(200, core().lose_start_answers(**object_body()))


@variant_admin.get("/variants")
def variants() -> Response:
    return answer(200, core().variants())


@variant_admin.post("/variants")
def switch_variants() -> Response:
    return answer(200, core().switch_variants(**object_body()))
