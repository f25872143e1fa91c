"""PartnerHealthFunction's logic: every watched partner's silence as metrics, and the one count
the alarm (PartnerSilenceAlarm) watches.

Metrics (namespace of the stack, `service` partner-health):
- `PartnerSilenceSeconds` by `partner` and `family`: seconds since the family's last accepted
  message, one per family the partner used (a billed metric each: three per partner at most);
- `SilentPartners`: watched partners with a silent family; `PartnersWatched`: partners with an
  active key. Both always sent, 0 included, so a missing datapoint means the check did not run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backbone.observability import MetricUnit, logger, metrics, put_breakdown_metrics
from backbone.partner_health.ports import HealthDependencies
from backbone.partner_health.rule import PartnerHealth, watched_health


@dataclass(frozen=True)
class HealthReport:
    partners: list[PartnerHealth]

    @property
    def silent(self) -> list[str]:
        return [health.partner_id for health in self.partners if health.silent]

    def as_dict(self) -> dict[str, Any]:
        return {"watched": len(self.partners), "silent": self.silent}


def partner_health(dependencies: HealthDependencies) -> HealthReport:
    return HealthReport(
        watched_health(
            dependencies.activity.list_all(),
            dependencies.partners.active_partner_ids(),
            dependencies.clock(),
            dependencies.period,
        )
    )


def check_partners(dependencies: HealthDependencies) -> HealthReport:
    """Compute every watched partner's health and send it as metrics."""
    report = partner_health(dependencies)
    for health in report.partners:
        for family in health.families:
            put_breakdown_metrics(
                {"partner": health.partner_id, "family": family.family.value},
                ("PartnerSilenceSeconds", MetricUnit.Seconds, round(family.silence.total_seconds())),
            )
    metrics.add_metric(name="SilentPartners", unit=MetricUnit.Count, value=len(report.silent))
    metrics.add_metric(name="PartnersWatched", unit=MetricUnit.Count, value=len(report.partners))
    if report.silent:
        logger.warning(
            "partners silent", extra={"silent": report.silent, "period_hours": _hours(dependencies)}
        )
    return report


def _hours(dependencies: HealthDependencies) -> float:
    return dependencies.period.total_seconds() / 3600
