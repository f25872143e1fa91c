"""backbone.observability: credentials are masked in every log line as defence in depth (the code
must not log them in the first place: tests/integration/test_no_secrets_logged.py), and
breakdown metrics carry their own dimensions."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from emfcapture import emitted

from backbone.observability import REDACTED, MetricUnit, logger, metrics, put_breakdown_metrics, redact

KEY = "sK3cr3t-Ab9dE4fG7hJ2kL5mN8pQ"


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the Powertools handler writes (CloudWatch Logs in Lambda)."""
    buffer = io.StringIO()
    previous = logger.registered_handler.setStream(buffer)  # type: ignore[attr-defined]
    yield buffer
    logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]


def lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


@pytest.mark.parametrize(
    "field",
    ["Authorization", "authorization", "x-api-key", "X-Api-Key", "apiKey", "api_key", "client_secret"],
)
def test_given_a_credential_field_at_any_depth_when_redacted_then_its_value_is_masked(field: str) -> None:
    event = {"headers": {field: f"key={KEY}", "Host": "example.com"}, "multiValueHeaders": {field: [KEY]}}

    masked = redact(event)

    assert masked["headers"] == {field: REDACTED, "Host": "example.com"}
    assert masked["multiValueHeaders"] == {field: REDACTED}


@pytest.mark.parametrize(
    "text",
    [
        f"Authorization: key={KEY}",
        f"authorization=Bearer {KEY}",
        f'headers {{"x-api-key": "{KEY}", "accept": "json"}}',
        f"{{'apiKey': '{KEY}'}}",
        f"refused key={KEY} from partner",
    ],
)
def test_given_a_credential_inside_text_when_redacted_then_only_the_credential_is_masked(text: str) -> None:
    masked = redact(text)

    assert KEY not in masked
    assert REDACTED in masked


def test_given_ordinary_values_when_redacted_then_they_are_unchanged() -> None:
    entry = {
        "key_id": "0a1b2c3d4e5f",
        "key_uid": "04523022AA4881",
        "partner_id": "acme-cpo",
        "message": "rfid-verify answered 0 for key uid 04523022AA4881",
        "attempts": 3,
        "latency_ms": 12.5,
        "ok": True,
        "path": "/emp/v1/charging-keys/8148aa22305204/enable",
        "none": None,
    }

    assert redact(entry) == entry


def test_given_a_logged_event_and_exception_carrying_a_key_then_the_log_line_masks_it(
    log_output: io.StringIO,
) -> None:
    logger.append_keys(partner_id="acme-cpo")
    try:
        # What POWERTOOLS_LOGGER_LOG_EVENT=true would log: the whole request, headers included.
        logger.info({"headers": {"Authorization": f"key={KEY}"}, "body": "{}"})
        try:
            raise ValueError(f"could not parse Authorization: key={KEY}")
        except ValueError:
            logger.exception("request failed")
    finally:
        logger.remove_keys(["partner_id"])

    assert KEY not in log_output.getvalue()
    event_line, error_line = lines(log_output)
    assert event_line["message"] == {"headers": {"Authorization": REDACTED}, "body": "{}"}
    assert event_line["partner_id"] == "acme-cpo"
    assert error_line["message"] == "request failed"
    assert "ValueError: could not parse Authorization: ***" in str(error_line["exception"])


def test_given_dimensions_when_breakdown_metrics_are_put_then_one_emf_line_carries_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(metrics, "namespace", "Test")

    put_breakdown_metrics(
        {"api": "emp", "outcome": "ok"},
        ("PartnerCalls", MetricUnit.Count, 1),
        ("PartnerCallLatency", MetricUnit.Milliseconds, 41.5),
    )

    out = capsys.readouterr().out
    assert len([line for line in out.splitlines() if '"_aws"' in line]) == 1
    found = {metric.name: metric for metric in emitted(out)}
    assert (found["PartnerCalls"].value, found["PartnerCallLatency"].value) == (1, 41.5)
    assert found["PartnerCallLatency"].unit == "Milliseconds"
    assert {"api": "emp", "outcome": "ok"}.items() <= found["PartnerCalls"].dimensions.items()


def test_given_no_namespace_when_breakdown_metrics_are_put_then_nothing_is_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(metrics, "namespace", None)

    put_breakdown_metrics({"api": "emp"}, ("PartnerCalls", MetricUnit.Count, 1))

    assert capsys.readouterr().out == ""


def test_given_the_module_logger_then_its_formatter_is_the_redacting_one() -> None:
    """Every log line of every function goes through the mask (one logger, created once)."""
    assert type(logger.registered_formatter).__name__ == "RedactingFormatter"
    assert logging.getLogger(logger.name).handlers == [logger.registered_handler]
