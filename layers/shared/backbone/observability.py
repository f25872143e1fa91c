"""Logger, Tracer and Metrics, created once per process and shared by every module.

Service name and metrics namespace come from the Powertools environment the template sets
(`POWERTOOLS_SERVICE_NAME` per function, `POWERTOOLS_METRICS_NAMESPACE` in Globals).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(utc=True)
tracer = Tracer()
metrics = Metrics()

__all__ = ["MetricUnit", "bind_correlation", "logger", "metrics", "tracer"]


def bind_correlation(**ids: object) -> None:
    """Append correlation ids (OIOI session id, order id, key id, partner...) to every log line
    of the current invocation. `None` values are skipped so callers can pass optional ids."""
    logger.append_keys(**{name: value for name, value in ids.items() if value is not None})
