"""Logger, Tracer and Metrics, created once per process and shared by every module.

Service name and metrics namespace come from the Powertools environment the template sets
(`POWERTOOLS_SERVICE_NAME` per function, `POWERTOOLS_METRICS_NAMESPACE` in Globals).

Every log line goes through `RedactingFormatter`: credentials and personal data must never be
logged in the first place (tests/integration/test_no_secrets_logged.py,
test_no_personal_data_logged.py), and this masks them should a future change log a header, an
event, a partner payload or an exception that carries one (personal data:
`backbone.privacy.masking`, docs/privacy.md "Logs and traces").
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

from backbone.privacy.masking import mask_field, mask_text

REDACTED = "***"

# Field names whose values are credentials, whatever they hold (header names included).
_SENSITIVE_NAME = re.compile(
    r"authorization|x-api-key|api[-_]?key|apikey|secret|password|passwd|credential|token|cookie",
    re.IGNORECASE,
)
# Credentials inside free text (messages, exception text, a str() of headers):
# `Authorization: key=...` / `Bearer ...` / `x-api-key: ...` / `"apiKey": "..."`, and OIOI's
# bare `key=<api-key>`.
_SENSITIVE_TEXT = (
    re.compile(
        r"(?P<name>authorization|x-api-key|api[-_]?key|apikey)(?P<sep>[\"']?\s*[:=]\s*[\"']?)"
        r"(?:(?:key\s*=\s*|bearer\s+|basic\s+))?(?P<value>[^\s\"',;}\]]+)",
        re.IGNORECASE,
    ),
    re.compile(r"(?P<name>\bkey)(?P<sep>\s*=\s*)(?P<value>[A-Za-z0-9._~+/=-]{16,})", re.IGNORECASE),
)


def redact(value: Any) -> Any:
    """`value` with credentials and personal data masked: values of sensitive or personal field
    names at any depth (`***`, `[uid:14]`), and credential or personal fragments of text.
    Numbers, booleans and None are returned unchanged; other objects (exceptions, datetimes...)
    as their masked `str`, which is how they would be serialised anyway."""
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, Mapping):
        return {key: _redact_member(key, item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    # What the JSON serialiser would print for it anyway (`str`): exceptions, datetimes...
    return _redact_text(str(value))


def _redact_member(key: Any, item: Any) -> Any:
    if isinstance(key, str) and _SENSITIVE_NAME.search(key):
        return REDACTED
    personal, masked = mask_field(key, item)
    return masked if personal else redact(item)


def _redact_text(text: str) -> str:
    for pattern in _SENSITIVE_TEXT:
        text = pattern.sub(lambda m: f"{m.group('name')}{m.group('sep')}{REDACTED}", text)
    return mask_text(text)


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, with `redact` applied to the whole entry (message, extra keys,
    appended keys, exception text) just before it is serialised."""

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        return super().serialize(redact(log))


logger = Logger(utc=True, logger_formatter=RedactingFormatter(utc=True))
# Only botocore (AWS) here: Tracer() alone patches every library X-Ray knows that is importable,
# importing each on a cold start. httpx (Plugsurfing) is never patched: the patch records request
# URLs as they are, and partner paths name drivers' keys and users; the partner client traces its
# calls itself with those ids masked (`backbone.partners.http.TracedTransport`). botocore's
# subsegments record operation, table and queue names, never item keys or message bodies.
# Responses are not captured (POWERTOOLS_TRACER_CAPTURE_RESPONSE=false in template.yaml).
tracer = Tracer(patch_modules=["botocore"])
metrics = Metrics()


__all__ = [
    "REDACTED",
    "MetricUnit",
    "bind_correlation",
    "logger",
    "metrics",
    "put_breakdown_metrics",
    "record_scope",
    "redact",
    "tracer",
]


def bind_correlation(**ids: object) -> None:
    """Append correlation ids (OIOI session id, order id, key id, partner...) to every log line
    of the current invocation. `None` values are skipped so callers can pass optional ids."""
    logger.append_keys(**{name: value for name, value in ids.items() if value is not None})


@contextmanager
def record_scope(**ids: object) -> Iterator[None]:
    """Bind `ids` (as `bind_correlation` does) for one record of a batch; on exit, exception or
    not, put the logger's keys back as they were on entry.

    Appended keys last for the whole invocation, and a batch of SQS records is one invocation:
    without this, record 2's log lines would carry record 1's ids and read as record 1's. Putting
    the keys back, rather than removing just `ids`, also undoes ids bound later inside the scope
    by code that knows nothing of it (`bind_correlation(order_id=...)` once the body parses),
    and gives an invocation-wide key that a record re-bound its value back.
    """
    on_entry = dict(logger.get_current_keys())
    bind_correlation(**ids)
    try:
        yield
    finally:
        logger.remove_keys([key for key in logger.get_current_keys() if key not in on_entry])
        logger.append_keys(**on_entry)


def put_breakdown_metrics(dimensions: Mapping[str, str], *values: tuple[str, MetricUnit, float]) -> None:
    """Metrics with dimensions of their own (besides `service`), printed now as one EMF line.

    For breakdowns such as message x result code or partner API x outcome, which the shared
    `metrics` (one dimension set per invocation) cannot carry. Keep dimension values to small
    fixed sets: every distinct combination is a billed CloudWatch metric. Without a namespace
    (Powertools not configured, e.g. a unit test) nothing is emitted.
    """
    if not metrics.namespace:
        return
    emf = AmazonCloudWatchEMFProvider(namespace=metrics.namespace, service=metrics.service)
    for dimension, label in dimensions.items():
        emf.add_dimension(name=dimension, value=label)
    for name, unit, value in values:
        emf.add_metric(name=name, unit=unit, value=value)
    emf.flush_metrics()
