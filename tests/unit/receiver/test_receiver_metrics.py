"""Every request the receiver answers is counted once as `OioiMessages`, by message and OIOI result
code (refusals and failures included), so the dashboard shows what partners send and get."""

from __future__ import annotations

import pytest
from emfcapture import emitted
from receiverfakes import INACTIVE_UID, VALID_UID, FakeBackends, FakeChargingKeys, send, staging_keys

from backbone.observability import metrics
from backbone.receiver.access import Caller


@pytest.fixture(autouse=True)
def namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "namespace", "Test")


def counted(capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str]]:
    return [
        (metric.dimensions["message"], metric.dimensions["code"])
        for metric in emitted(capsys.readouterr().out)
        if metric.name == "OioiMessages"
    ]


def verify(uid: str) -> dict[str, object]:
    return {"rfid-verify": {"rfid": uid}}


def test_given_verifications_then_each_is_counted_with_its_answer_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    backends = FakeBackends()

    send(backends, verify(VALID_UID))
    send(backends, verify(INACTIVE_UID))

    assert counted(capsys) == [("rfid-verify", "0"), ("rfid-verify", "192")]


def test_given_refused_requests_then_they_are_counted_by_what_was_known_of_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    backends = FakeBackends()
    only_verify = Caller("acme-cpo", "0a1b2c3d4e5f", frozenset({"rfid-verify"}), frozenset({"1"}))

    send(backends, b"{not json")
    send(backends, {"made-up-message": {}})
    send(backends, {"session-post": {}}, caller=only_verify)

    [malformed, unknown, not_allowed] = counted(capsys)
    assert malformed[0] == unknown[0] == "none"  # never the name a caller made up
    assert not_allowed == ("session-post", "220")  # API_KEY_NOT_ALLOWED


def test_given_storage_down_then_the_failure_is_counted_and_still_raised(
    capsys: pytest.CaptureFixture[str],
) -> None:
    backends = FakeBackends(charging_keys=FakeChargingKeys(staging_keys(), fail=True))

    answer = send(backends, verify(VALID_UID))

    assert answer.status >= 500
    assert counted(capsys) == [("rfid-verify", "100")]
