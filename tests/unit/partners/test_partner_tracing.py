"""Partner calls in X-Ray: one `remote` subsegment per request, as aws_xray_sdk's httpx patch
records it, but with the URL's key and user ids masked (docs/privacy.md, "Logs and traces")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aws_xray_sdk import global_sdk_config
from aws_xray_sdk.core import AWSXRayRecorder
from aws_xray_sdk.core import recorder as xray_recorder_module
from aws_xray_sdk.core.models.segment import Segment

from backbone.observability import tracer
from backbone.partners.http import TracedTransport, traced

USER, KEY = "sample-user-1", "8148aa22305204"


class _Kept:
    """An emitter that keeps what would be sent to the X-Ray daemon."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send_entity(self, entity: Any) -> None:
        self.sent.append(entity)

    def set_daemon_address(self, address: str | None) -> None:
        pass


@pytest.fixture
def segment(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AWSXRayRecorder, Segment]]:
    monkeypatch.setattr(xray_recorder_module, "UDPEmitter", _Kept)  # no daemon socket in unit tests
    enabled = global_sdk_config.sdk_enabled()
    global_sdk_config.set_sdk_enabled(True)
    recorder = AWSXRayRecorder()
    recorder.configure(sampling=False, context_missing="LOG_ERROR", emitter=_Kept())
    opened = recorder.begin_segment("key-sync")
    try:
        yield recorder, opened
    finally:
        recorder.end_segment()
        global_sdk_config.set_sdk_enabled(enabled)


def _send(recorder: AWSXRayRecorder, url: str, status: int) -> httpx.Request:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status)

    transport = TracedTransport(httpx.MockTransport(answer), recorder)
    with httpx.Client(transport=transport) as client:
        client.put(url)
    return seen[0]


def test_given_a_request_naming_a_user_and_key_then_the_subsegment_url_masks_both(
    segment: tuple[AWSXRayRecorder, Segment],
) -> None:
    recorder, opened = segment

    sent = _send(recorder, f"https://api.example/drive/v1/users/{USER}/charging-keys/{KEY}?fleetId=f1", 204)

    (subsegment,) = opened.subsegments
    assert subsegment.name == "api.example"
    assert subsegment.namespace == "remote"
    assert subsegment.http["request"] == {
        "method": "PUT",
        "url": "https://api.example/drive/v1/users/[user]/charging-keys/[key]",
    }
    assert subsegment.http["response"]["status"] == 204
    assert "X-Amzn-Trace-Id" in sent.headers  # the trace goes on to the partner, as with the patch
    recorded = str(subsegment.to_dict())
    assert USER not in recorded
    assert KEY not in recorded


def test_given_a_path_without_ids_then_the_url_is_recorded_as_it_is(
    segment: tuple[AWSXRayRecorder, Segment],
) -> None:
    recorder, opened = segment

    _send(recorder, "https://api.example/drive/emp/v1/sessions/S-1/stop", 200)

    assert (
        opened.subsegments[0].http["request"]["url"] == "https://api.example/drive/emp/v1/sessions/S-1/stop"
    )


def test_given_tracing_on_then_partner_clients_trace_through_it_and_off_then_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inner = httpx.MockTransport(lambda request: httpx.Response(200))
    monkeypatch.setattr(tracer, "disabled", False)
    assert isinstance(traced(inner), TracedTransport)
    assert isinstance(traced(None), TracedTransport)
    monkeypatch.setattr(tracer, "disabled", True)
    assert traced(inner) is inner
