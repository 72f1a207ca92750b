"""The health_check Lambda: a scheduled sweep of every ACTIVE dataflow, or one tenant's check by hand.

Invoked by an EventBridge Scheduler schedule with any payload (a full sweep, resumed from its cursor), or by
hand with ``{"tenantId": "acme"}``; ``{"tenantId": "acme", "plan": true}`` answers the tenant's converge plan
(``stripe-aep plan``) and changes nothing. Returns ``{checked, byStatus, complete, cursor, alerts}`` (see
``stripe_aep.health.sweep``) and emits, with Powertools Metrics (EMF, dimension ``service``), one count per
status: ``DataflowsHealthy``, ``DataflowsDegraded``, ``DataflowsFailed``, ``DataflowsStale``,
``DataflowsMissing``, ``DataflowsDisabled``, ``DataflowsPending``, plus ``DataflowsChecked``,
``HealthCheckErrors`` and ``HealthAlerts``.

Environment (besides the Globals of ``Settings``): ``HEALTH_TOPIC_ARN`` (SNS topic of alerts; empty: none),
``HEALTH_CONCURRENCY`` (Adobe calls in flight, default 8), ``HEALTH_GRACE_S`` (seconds of tolerance, default
900), ``HEALTH_TIME_RESERVE_MS`` (a sweep stops when less remains, default 60000).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from stripe_aep.catalogue import plan_tenant
from stripe_aep.errors import TenantNotFoundError
from stripe_aep.health import HealthStatus
from stripe_aep.health.sweep import ERROR, HealthSettings, SweepSummary, checker_for
from stripe_aep.runtime import Runtime, Settings, runtime_for
from stripe_aep.tenants import TenantId, parse_input

__all__ = ["HealthInput", "HealthSettings", "checker_for", "health_handler", "metric_name"]

logger = Logger()


class HealthInput(BaseModel):
    """The payload: ``{"tenantId": "acme"}`` checks one tenant; anything else (``{}``, or the schedule's
    ``{"pushHealth": true}``) sweeps."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    tenantId: TenantId | None = None
    #: The schedule's payload when push health is deployed: the answer then counts ``missedByPush``.
    pushHealth: bool = False
    #: With ``tenantId``: answer the tenant's converge plan instead (``stripe_aep.catalogue.plan_tenant``).
    plan: bool = False


def metric_name(status: str) -> str:
    """``HEALTHY`` -> ``DataflowsHealthy`` (the names the template's alarm and dashboard read)."""
    return f"Dataflows{status.title()}"


def _emit(summary: SweepSummary) -> None:
    metrics = EphemeralMetrics()
    for status in HealthStatus:
        metrics.add_metric(metric_name(status.value), MetricUnit.Count, summary.by_status.get(status.value, 0))
    metrics.add_metric("DataflowsChecked", MetricUnit.Count, summary.checked)
    metrics.add_metric("HealthCheckErrors", MetricUnit.Count, summary.by_status.get(ERROR, 0))
    metrics.add_metric("HealthAlerts", MetricUnit.Count, summary.alerts)
    metrics.flush_metrics()


def tenant_plan(runtime: Runtime, tenant_id: str) -> dict[str, Any]:
    """``{"tenantId", "plan": true}``: what a provisioning of the tenant would do (reads only; see
    ``plan_tenant``). Raises ``TenantNotFoundError`` for a tenant DynamoDB lacks."""
    try:
        return plan_tenant(runtime.store, runtime.platform, tenant_id)
    except KeyError:
        raise TenantNotFoundError(f"no tenant {tenant_id} in DynamoDB") from None


def health_handler(env: Mapping[str, str] | None = None) -> Callable[[Any, LambdaContext], dict[str, Any]]:
    """The Lambda handler, with its settings read now from ``env`` (default ``os.environ``); the function
    builds it on its first event (``stripe_aep.handler.deferred_handler``), so a missing variable fails that
    event with pydantic's ``ValidationError`` naming it."""
    settings, health_settings = Settings.from_env(env), HealthSettings.from_env(env)

    @logger.inject_lambda_context(log_event=False, clear_state=True)
    def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
        """Sweep (any payload) or check one tenant (``{"tenantId"}``); returns ``SweepSummary.to_dict()``.

        Raises ``InputValidationError`` for an invalid tenant id, ``TenantNotFoundError`` for an unknown tenant.
        Adobe errors of single flows never escape: they are counted under ``ERROR``.
        """
        request = parse_input(HealthInput, event if isinstance(event, dict) else {})
        if request.plan and request.tenantId:
            return tenant_plan(runtime_for(settings), request.tenantId)
        checker = checker_for(runtime_for(settings), health_settings)
        checker.push_enabled = request.pushHealth
        if request.tenantId:
            logger.append_keys(tenant_id=request.tenantId)
            summary = checker.check_tenant(request.tenantId)
        else:
            summary = checker.sweep(context.get_remaining_time_in_millis, owner=context.aws_request_id)
        _emit(summary)
        result = summary.to_dict()
        logger.info("health check done", extra={"result": result})
        return result

    return lambda_handler
