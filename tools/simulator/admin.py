"""Admin and inspection API under `/_sim/...`: the same operations as SimulatorCore's methods.

Never faulted, never authenticated, never written to the request log: it is the test harness's
side door, not part of the partner's surface.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from simulator.models import ClockAdvanceIn, UserSeedIn
from simulator.state import ApiError
from simulator.web import answer, core, empty, json_body

admin = Blueprint("admin", __name__, url_prefix="/_sim")


def object_body() -> dict[str, Any]:
    body = json_body()
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, "Body must be a JSON object")
    return body


def objects_body() -> list[dict[str, Any]]:
    """One object or an array of them (bulk seeding)."""
    body = json_body()
    items = body if isinstance(body, list) else [body or {}]
    if not all(isinstance(item, dict) for item in items):
        raise ApiError(400, "Body must be a JSON object or an array of objects")
    return items


@admin.get("/health")
def health() -> Response:
    return answer(200, {"ok": True, "now": core().now()})


@admin.get("/state")
def state() -> Response:
    return answer(200, core().snapshot())


@admin.get("/whitelists")
def whitelists() -> Response:
    return answer(200, core().whitelists())


@admin.get("/requests")
def requests_log() -> Response:
    entries = core().requests(request.args.get("method"), request.args.get("path_prefix"))
    return answer(200, {"requests": entries})


@admin.delete("/requests")
def clear_requests() -> Response:
    core().clear_requests()
    return empty(204)


@admin.get("/faults")
def faults() -> Response:
    return answer(200, {"faults": core().faults.armed()})


@admin.post("/faults")
def add_faults() -> Response:
    return answer(201, {"faults": [core().add_fault(**spec) for spec in objects_body()]})


@admin.delete("/faults")
def clear_faults() -> Response:
    core().clear_faults()
    return empty(204)


@admin.post("/users")
def add_user() -> Response:
    seed = UserSeedIn.model_validate(object_body())
    core().add_user(seed.id, seed.email)
    return empty(201)


@admin.post("/users/<user_id>/orders")
def add_drive_orders(user_id: str) -> Response:
    return answer(201, {"orders": [core().add_drive_order(user_id, **seed) for seed in objects_body()]})


@admin.post("/keys")
def add_emp_keys() -> Response:
    return answer(201, {"keys": [core().add_emp_key(**seed) for seed in objects_body()]})


@admin.post("/orders")
def add_orders() -> Response:
    return answer(201, {"orders": [core().add_order(**seed) for seed in objects_body()]})


@admin.post("/locations")
def add_locations() -> Response:
    return answer(201, {"locations": [core().add_location(**seed) for seed in objects_body()]})


@admin.post("/sessions/script")
def script_connector() -> Response:
    body = object_body()
    return answer(200, {"script": core().script_connector(body.pop("connectorId", None), **body)})


@admin.post("/sessions/<session_id>/script")
def script_session(session_id: str) -> Response:
    return answer(200, core().script_session(session_id, **object_body()))


@admin.get("/clock")
def clock() -> Response:
    return answer(200, {"now": core().now()})


@admin.post("/clock/advance")
def advance_clock() -> Response:
    body = ClockAdvanceIn.model_validate(object_body())
    return answer(200, {"now": core().advance_clock(body.seconds)})


@admin.post("/reset")
def reset() -> Response:
    core().reset()
    return empty(204)


@admin.get("/config")
def config() -> Response:
    return answer(200, core().state.config.model_dump(mode="json"))


@admin.post("/config")
def configure() -> Response:
    return answer(200, core().configure(**object_body()))


@admin.get("/receipts/<order_id>")
def receipt(order_id: str) -> Response:
    """Where the receipt URLs point, so a client that follows them gets something."""
    return Response(f"Simulated receipt for order {order_id}\n", mimetype="text/plain")
