"""Read back the CloudWatch EMF lines Powertools printed: what CloudWatch would turn into metrics."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Emitted:
    """One metric value of one EMF line, with that line's dimensions."""

    name: str
    value: float
    unit: str
    dimensions: dict[str, str]


def emitted(stdout: str) -> list[Emitted]:
    found: list[Emitted] = []
    for line in stdout.splitlines():
        if '"_aws"' not in line:
            continue
        blob: dict[str, Any] = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            dimension_names = [name for names in directive["Dimensions"] for name in names]
            dimensions = {name: blob[name] for name in dimension_names}
            for metric in directive["Metrics"]:
                values = blob[metric["Name"]]
                for value in values if isinstance(values, list) else [values]:
                    found.append(Emitted(metric["Name"], value, metric["Unit"], dimensions))
    return found
