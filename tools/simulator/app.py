"""Flask routes standing in for Plugsurfing: Drive API, EMP API and the OIOI endpoint.

Routes are thin: parse, call one `SimState` method, serialise. Cross-cutting behaviour (request
log, faults, authentication) runs in `before_request`, in that order, so a fault fires even for a
request that would fail authentication, as an outage in front of the real API would.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from simulator.admin import admin
from simulator.core import SimulatorCore
from simulator.faults import Fault
from simulator.locations import GeosearchIn
from simulator.models import (
    DriveOrderIn,
    DriveSessionStartIn,
    DriveUserIn,
    EmpKeyIn,
    EmpSessionStartIn,
    KeyPatchIn,
    ReservationIn,
    SessionHistoryIn,
)
from simulator.oioi import RESULT_MESSAGES, error, result
from simulator.partner_side import partner_side
from simulator.requestlog import mask_headers
from simulator.state import ApiError
from simulator.variant_admin import variant_admin
from simulator.web import answer, body_as, core, empty, query_datetime

logger = logging.getLogger("simulator")

OIOI_PATH = "/api/v4/request"
ADMIN_PREFIX = "/_sim"
LOGGED_BODY_LIMIT = 256 * 1024

drive = Blueprint("drive", __name__, url_prefix="/drive/v1")
emp = Blueprint("emp", __name__, url_prefix="/drive/emp/v1")
oioi = Blueprint("oioi", __name__)


# --- Drive API: users and charging keys ----------------------------------------------------


@drive.post("/users")
@drive.post("/user")  # the Getting Started text names /v1/user, its curl /v1/users
def create_user() -> Response:
    body = body_as(DriveUserIn)
    core().state.create_user(body.id, body.email)
    return empty(201)


@drive.post("/charging-keys/reservations")
def reserve_key() -> Response:
    core().state.reserve_key(body_as(ReservationIn))
    return empty(201)


@drive.post("/users/<user_id>/charging-keys/<reference_id>/activate")
def activate_key(user_id: str, reference_id: str) -> Response:
    return jsonify(core().state.activate_key(user_id, reference_id))


@drive.patch("/users/<user_id>/charging-keys/<identifier>")
def patch_key(user_id: str, identifier: str) -> Response:
    return jsonify(core().state.patch_key(user_id, identifier, body_as(KeyPatchIn)))


@drive.get("/users/<user_id>/charging-keys")
def user_keys(user_id: str) -> Response:
    return jsonify({"keys": core().state.user_keys(user_id)})


# --- Drive API: key orders -----------------------------------------------------------------


@drive.post("/users/<user_id>/charging-keys/order")
def order_key(user_id: str) -> Response:
    return jsonify(core().state.order_key(user_id, body_as(DriveOrderIn)))


@drive.get("/users/<user_id>/charging-keys/orders")
def user_orders(user_id: str) -> Response:
    return jsonify(core().state.user_orders(user_id))


@drive.post("/users/<user_id>/charging-keys/orders/<order_id>/receipt")
def order_receipt(user_id: str, order_id: str) -> Response:
    return jsonify(core().state.order_receipt(user_id, order_id, request.host_url))


@drive.get("/charging-keys/orders/configuration")
def orders_configuration() -> Response:
    return jsonify(core().state.orders_configuration())


# --- Drive API: sessions -------------------------------------------------------------------


@drive.post("/users/<user_id>/sessions/start")
def drive_start(user_id: str) -> Response:
    body = body_as(DriveSessionStartIn)
    return jsonify({"sessionId": core().state.start_session("drive", body.connectorId, user_id=user_id)})


@drive.get("/users/<user_id>/sessions/<session_id>")
def drive_session(user_id: str, session_id: str) -> Response:
    return jsonify(core().state.get_session(session_id, user_id, "drive"))


@drive.post("/users/<user_id>/sessions/<session_id>/stop")
def drive_stop(user_id: str, session_id: str) -> Response:
    core().state.stop_session(session_id, user_id, "drive")
    return empty(200)


@drive.post("/users/<user_id>/sessions/history")
def drive_history(user_id: str) -> Response:
    body = body_as(SessionHistoryIn)
    sessions = core().state.session_history(user_id, list(body.sessionStatus or []), body.limit)
    return jsonify({"sessions": sessions})


# --- Geosearch (Drive and EMP: seed 001 lists it for EMP users too) ------------------------


@drive.post("/geosearch/radius")
@emp.post("/geosearch/radius")
def geosearch_radius() -> Response:
    return jsonify(core().locations.search(request.args.to_dict(), body_as(GeosearchIn)))


@drive.get("/locations/<location_id>")
@emp.get("/locations/<location_id>")
def location_by_id(location_id: str) -> Response:
    return jsonify(core().locations.get(location_id))


# --- EMP API -------------------------------------------------------------------------------


@emp.get("/charging-keys")
def emp_keys() -> Response:
    args = request.args
    return jsonify(core().state.list_emp_keys(args.get("fleetId"), args.get("cursor"), args.get("page_size")))


@emp.post("/charging-keys")
def emp_create_key() -> Response:
    return jsonify(core().state.create_emp_key(body_as(EmpKeyIn)))


@emp.put("/charging-keys/<key_identifier>/enable")
def emp_enable_key(key_identifier: str) -> Response:
    return jsonify(core().state.set_emp_key_enabled(key_identifier, enabled=True))


@emp.put("/charging-keys/<key_identifier>/disable")
def emp_disable_key(key_identifier: str) -> Response:
    return jsonify(core().state.set_emp_key_enabled(key_identifier, enabled=False))


@emp.get("/orders")
def emp_orders() -> Response:
    page = core().state.list_emp_orders(
        from_date=query_datetime("fromDate"),
        to_date=query_datetime("toDate"),
        status=request.args.get("status") or None,
        page_size=request.args.get("pageSize"),
        cursor=request.args.get("cursor"),
    )
    return jsonify(page)


@emp.post("/order/<order_id>/assign")
def emp_assign(order_id: str) -> Response:
    return jsonify(core().state.assign_emp_order(order_id))


@emp.post("/sessions/start")
def emp_start() -> Response:
    body = body_as(EmpSessionStartIn)
    session_id = core().state.start_session("emp", body.connectorId, key_identifier=body.keyIdentifier)
    return jsonify({"sessionId": session_id})


@emp.post("/sessions/<session_id>/stop")
def emp_stop(session_id: str) -> Response:
    core().state.stop_session(session_id, mode="emp")
    return empty(200)


@emp.get("/sessions/<session_id>")
def emp_session(session_id: str) -> Response:
    return jsonify(core().state.get_session(session_id, mode="emp"))


# --- OIOI ----------------------------------------------------------------------------------


@oioi.post(OIOI_PATH)
def oioi_request() -> Response:
    status, body = core().oioi.handle(request.get_data())
    return answer(status, body)


# --- Cross-cutting: log, faults, auth ------------------------------------------------------


def is_oioi() -> bool:
    return request.path == OIOI_PATH


def failure(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """An error in the dialect of the API that was called."""
    if is_oioi():
        code = {401: 210, 403: 210, 404: 230, 405: 230, 429: 100}.get(status, 230 if status < 500 else 100)
        return answer(status, error(status, code, message)[1], headers)
    return answer(status, {"message": message}, headers)


def record_request() -> None:
    raw = request.get_data()
    body: Any
    if len(raw) > LOGGED_BODY_LIMIT:
        body = {"truncated": True, "bytes": len(raw)}
    else:
        parsed = request.get_json(force=True, silent=True)
        body = parsed if parsed is not None else (raw.decode("utf-8", "replace") or None)
    g.entry = core().request_log.add(
        {
            "time": core().state.now().isoformat(),
            "method": request.method,
            "path": request.path,
            "query": {k: v[0] if len(v) == 1 else v for k, v in request.args.to_dict(flat=False).items()},
            "headers": mask_headers(dict(request.headers)),
            "body": body,
            "status": None,
            "fault": None,
        }
    )


def apply_fault(fault: Fault) -> Response | None:
    """The faulty answer, or None to carry on (a slow response still answers normally)."""
    g.entry["fault"] = fault.kind
    retry = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    sim = core()
    if fault.kind == "slow":
        sim.faults.sleep(fault.delay)
        return None
    if fault.kind == "hang":
        sim.faults.sleep(fault.delay)
        return failure(504, "Endpoint request timed out")
    if fault.kind == "disconnect":
        connection = request.environ.get("werkzeug.socket")
        if connection is None:  # Flask test client: there is no connection to drop
            raise ConnectionAbortedError("simulated disconnect")
        connection.shutdown(socket.SHUT_RDWR)
        return empty(500)  # never reaches the client: writing it fails and werkzeug drops it
    if fault.kind == "oioi_result":
        return answer(200, {"result": result(fault.code, RESULT_MESSAGES.get(fault.code))})
    message = "Too Many Requests" if fault.status == 429 else "Internal server error"
    return failure(fault.status, message, retry)


def authenticate() -> Response | None:
    sim = core()
    if request.path.startswith("/drive/"):
        if request.headers.get("x-api-key") != sim.api_key:
            return answer(403, {"message": "Forbidden"})
    elif is_oioi():
        header = request.headers.get("Authorization", "")
        if not header.startswith("key="):
            return answer(401, error(401, 210, "Authorization header 'key=<api-key>' missing")[1])
        if header.removeprefix("key=") != sim.oioi_key:
            return answer(403, error(403, 210, "API key not accepted")[1])
    return None


def before() -> Response | None:
    g.started = time.perf_counter()
    if request.path.startswith(ADMIN_PREFIX):
        return None
    record_request()
    fault = core().faults.take(request.method, request.path)
    if fault is not None:
        faulty = apply_fault(fault)
        if faulty is not None:
            return faulty
    return authenticate()


def after(response: Response) -> Response:
    """Complete the request record and log one readable line (admin calls included)."""
    entry = g.get("entry")
    detail = ""
    if entry is not None:
        entry["status"] = response.status_code
        detail = f" [fault: {entry['fault']}]" if entry["fault"] else ""
        if is_oioi() and isinstance(entry["body"], dict) and entry["body"]:
            detail += f" [{next(iter(entry['body']))}]"
    elapsed_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    query = f"?{request.query_string.decode()}" if request.query_string else ""
    logger.info(
        "%s %s%s -> %s %.0fms%s",
        request.method,
        request.path,
        query,
        response.status_code,
        elapsed_ms,
        detail,
    )
    return response


# --- Error mapping -------------------------------------------------------------------------


def on_api_error(exc: ApiError) -> Response:
    return failure(exc.status, exc.message, exc.headers)


def on_validation_error(exc: ValidationError) -> Response:
    problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
    return failure(400, f"Invalid request: {problems}")


def on_http_error(exc: HTTPException) -> Response:
    return failure(exc.code or 500, exc.name)


def create_app(sim: SimulatorCore) -> Flask:
    """A Flask app serving `sim`; usable with `app.test_client()` (no sockets) or a real server."""
    app = Flask("simulator")
    app.extensions["simulator"] = sim
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the spec's field order
    app.before_request(before)
    app.after_request(after)
    app.register_error_handler(ApiError, on_api_error)
    app.register_error_handler(ValidationError, on_validation_error)
    app.register_error_handler(HTTPException, on_http_error)
    for blueprint in (drive, emp, oioi, admin, variant_admin):
        app.register_blueprint(blueprint)
    app.register_blueprint(partner_side)  # /_sim/oioi/...: OIOI answer style, CPO-side sender
    return app
