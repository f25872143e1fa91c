"""Small Flask helpers shared by the partner routes (app.py) and the admin routes (admin.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from flask import Response, current_app, jsonify, request
from pydantic import BaseModel

from simulator.core import SimulatorCore
from simulator.formats import parse_iso
from simulator.state import ApiError

ModelT = TypeVar("ModelT", bound=BaseModel)


def core() -> SimulatorCore:
    """The simulator this app serves."""
    sim: SimulatorCore = current_app.extensions["simulator"]
    return sim


def json_body() -> Any:
    """The parsed JSON body, whatever the Content-Type (the Drive examples send `*/*`)."""
    data = request.get_json(force=True, silent=True)
    if data is None and request.get_data().strip():
        raise ApiError(400, "Body is not valid JSON")
    return data


def body_as(model: type[ModelT]) -> ModelT:
    data = json_body()
    return model.model_validate(data if data is not None else {})


def query_datetime(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an ISO-8601 datetime") from None


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def empty(status: int) -> Response:
    return Response(status=status)
