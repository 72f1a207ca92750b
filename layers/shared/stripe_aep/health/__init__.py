"""Scheduled health checks of the dataflows: the pure classification (``classify``) and the sweep."""

from .classify import UNHEALTHY, Health, HealthPolicy, HealthStatus, classify, needs_runs, schedule_period_s

__all__ = [
    "UNHEALTHY",
    "Health",
    "HealthPolicy",
    "HealthStatus",
    "classify",
    "needs_runs",
    "schedule_period_s",
]
