"""The simulator playing the CPO over real HTTP: it posts OIOI messages to a URL with a key and
reports what came back (here the receiving end is a second simulator's OIOI endpoint)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from simulator import DEFAULT_OIOI_KEY, PlugsurfingSimulator

PARTNER_ID = "123456-123456-abcdef-abc123-456def"


@pytest.fixture(scope="module")
def cpo() -> Iterator[PlugsurfingSimulator]:
    with PlugsurfingSimulator(port=0) as sim:
        yield sim


@pytest.fixture(scope="module")
def receiver() -> Iterator[PlugsurfingSimulator]:
    with PlugsurfingSimulator(port=0) as sim:
        yield sim


def send(cpo: PlugsurfingSimulator, **body: object) -> list[dict[str, object]]:
    response = httpx.post(f"{cpo.base_url}/_sim/oioi/send", json=body, timeout=30)
    assert response.status_code == 200, response.text
    exchanges: list[dict[str, object]] = response.json()["exchanges"]
    return exchanges


def test_given_a_session_post_sent_twice_then_the_receiver_got_it_twice_with_the_key(
    cpo: PlugsurfingSimulator, receiver: PlugsurfingSimulator
) -> None:
    receiver.reset()

    exchanges = send(
        cpo,
        url=receiver.oioi_url,
        key=DEFAULT_OIOI_KEY,
        message="session-post",
        partner_identifier=PARTNER_ID,
        repeat=2,
    )

    assert [(exchange["status"], exchange["answer"]) for exchange in exchanges] == [
        (200, {"result": {"code": 0, "message": "Success."}})
    ] * 2
    received = receiver.requests("POST", "/api/v4/request")
    assert [entry["body"] for entry in received] == [exchanges[0]["request"]] * 2
    assert received[0]["headers"]["Authorization"] != f"key={DEFAULT_OIOI_KEY}"  # masked in the log
    assert received[0]["status"] == 200


def test_given_a_wrong_key_then_the_receivers_refusal_is_reported(
    cpo: PlugsurfingSimulator, receiver: PlugsurfingSimulator
) -> None:
    [exchange] = send(cpo, url=receiver.oioi_url, key="not-the-key", message="session-post")

    assert exchange["status"] == 403
    assert exchange["answer"]["result"]["code"] == 210  # type: ignore[index]


def test_given_an_unreachable_url_when_sent_then_the_exchange_reports_the_error_not_a_crash(
    cpo: PlugsurfingSimulator,
) -> None:
    [exchange] = send(cpo, url="http://127.0.0.1:9/api/v4/request", key="k", message="rfid-verify")

    assert (exchange["status"], exchange["request"]) == (None, {"rfid-verify": {"rfid": "04523022AA4881"}})
    assert "ConnectError" in str(exchange["error"])
