"""backbone.observability: credentials are masked in every log line as defence in depth (the code
must not log them in the first place: tests/integration/test_no_secrets_logged.py), a batch
record's correlation ids stay on that record's log lines, and breakdown metrics carry their own
dimensions."""

from __future__ import annotations

import io
import json
import logging

import pytest
from emfcapture import emitted

from backbone.observability import (
    REDACTED,
    MetricUnit,
    bind_correlation,
    logger,
    metrics,
    put_breakdown_metrics,
    record_scope,
    redact,
)

KEY = "sK3cr3t-Ab9dE4fG7hJ2kL5mN8pQ"


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
        "key_id": "0a1b2c3d4e5f",  # the partner's API key id, not a driver's key
        "session_id": "4a1f5bd2-6f7e-4c39-9f0c-7d7a5c0e1b2a",
        "evse_id": "DE*ICE*E000001*1",
        "partner_id": "acme-cpo",
        "message": "rfid-verify answered 0 in 12 ms",
        "attempts": 3,
        "latency_ms": 12.5,
        "ok": True,
        "path": "/emp/v1/charging-keys/reservations",
        "payload_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
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


def test_given_a_batch_when_record_1_had_ids_then_the_log_lines_of_record_2_do_not_carry_them(
    log_output: io.StringIO,
) -> None:
    with record_scope(message_id="m-1", partner_id="acme-cpo", source=None):
        bind_correlation(session_id="S-1")  # bound late: once the record's body parsed
        logger.info("CDR ingested")
    with record_scope(message_id="m-2"):
        logger.warning("invalid CDR sent to the dead-letter queue")

    first, second = lines(log_output)
    assert (first["message_id"], first["partner_id"], first["session_id"]) == ("m-1", "acme-cpo", "S-1")
    assert "source" not in first  # None ids are skipped, as by bind_correlation
    assert second["message_id"] == "m-2"
    assert "partner_id" not in second
    assert "session_id" not in second


def test_given_record_1_raised_then_the_log_lines_of_record_2_do_not_carry_its_ids(
    log_output: io.StringIO,
) -> None:
    def record_1() -> None:
        with record_scope(message_id="m-1"):
            bind_correlation(order_id="O-1", fleet_id="F-1")
            logger.info("fulfilling order")
            raise ConnectionError("ProvisionedThroughputExceededException")

    with pytest.raises(ConnectionError):
        record_1()
    with record_scope(message_id="m-2"):
        logger.info("fulfilling order")

    first, second = lines(log_output)
    assert (first["message_id"], first["order_id"], first["fleet_id"]) == ("m-1", "O-1", "F-1")
    assert second["message_id"] == "m-2"
    assert "order_id" not in second
    assert "fleet_id" not in second


def test_given_ids_bound_late_in_a_record_scope_then_they_are_gone_after_it(log_output: io.StringIO) -> None:
    with record_scope():
        bind_correlation(drive_order_request_id="R-1", order_id="O-1")
        logger.info("drive order placed")
    logger.info("batch done")

    inside, after = lines(log_output)
    assert (inside["drive_order_request_id"], inside["order_id"]) == ("R-1", "O-1")
    assert "drive_order_request_id" not in after
    assert "order_id" not in after


def test_given_an_invocation_wide_key_then_a_record_scope_keeps_it_and_restores_it_if_re_bound(
    log_output: io.StringIO,
) -> None:
    bind_correlation(partner_id="acme-cpo", key_id="k-1")  # for the whole invocation
    with record_scope(partner_id="other-cpo"):
        logger.info("in the record")
    logger.info("after the record")

    inside, after = lines(log_output)
    assert (inside["partner_id"], inside["key_id"]) == ("other-cpo", "k-1")
    assert (after["partner_id"], after["key_id"]) == ("acme-cpo", "k-1")


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
