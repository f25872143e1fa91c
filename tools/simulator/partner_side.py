"""Admin routes for the OIOI variants (`/_sim/oioi/...`): how our OIOI endpoint answers, and the
simulator playing the CPO/Plugsurfing side toward the product (cpo.py).

Kept apart from admin.py: these routes only touch the OIOI handler's answer style and send
outbound requests; they never change the partner state.
"""

from __future__ import annotations

import random
import secrets

from flask import Blueprint, Response

from simulator.admin import object_body
from simulator.cpo import OioiSendIn, build, send
from simulator.oioi_answers import AnswerStyleIn
from simulator.web import answer, core

partner_side = Blueprint("partner_side", __name__, url_prefix="/_sim/oioi")


def _fresh_rng() -> random.Random:
    """Ids for test messages, not secrets; fresh per call so concurrent tests never collide."""
    return random.Random(secrets.randbits(64))  # noqa: S311


@partner_side.get("/answers")
def answer_style() -> Response:
    return answer(200, core().oioi.answers.current())


@partner_side.post("/answers")
def set_answer_style() -> Response:
    """`{"result": "omit"}`: 2xx OIOI answers without `result` (seed 002: "not part of the OIOI
    response, yet"); `{"result": "include"}` restores the examples' shape."""
    return answer(200, core().oioi.answers.set(AnswerStyleIn.model_validate(object_body())))


@partner_side.post("/build")
def build_messages() -> Response:
    """The bodies `/send` would post, without sending them."""
    request = OioiSendIn.model_validate(object_body())
    return answer(200, {"messages": build(request, core().state.now(), _fresh_rng())})


@partner_side.post("/send")
def send_messages() -> Response:
    """Post OIOI messages to `url` with `key`, as a CPO would; answers what the endpoint said."""
    request = OioiSendIn.model_validate(object_body())
    return answer(200, {"exchanges": send(request, core().state.now(), _fresh_rng())})
