"""The sample events under events/oioi stay true to the spec's examples and to API Gateway."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from receiverfakes import seed_text

from backbone.receiver.dispatch import ACCEPTED_MESSAGES


@pytest.mark.parametrize("message", sorted(ACCEPTED_MESSAGES))
def test_given_a_message_event_then_its_body_is_the_spec_example_verbatim(
    message: str, load_event: Callable[[str], Any]
) -> None:
    event = load_event(f"oioi/{message}.json")
    assert event["body"] == seed_text(message)
    assert (event["httpMethod"], event["resource"]) == ("POST", "/api/v4/request")
    assert message in event["requestContext"]["authorizer"]["messages"]


def test_given_the_base64_event_then_it_carries_the_same_example(load_event: Callable[[str], Any]) -> None:
    event = load_event("oioi/rfid-verify-base64.json")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]).decode() == seed_text("rfid-verify")


def test_given_the_not_accepted_event_then_it_is_the_rfid_post_example(
    load_event: Callable[[str], Any],
) -> None:
    assert load_event("oioi/error-not-accepted.json")["body"] == seed_text("rfid-post")
