"""CloudWatch metrics (EMF through Powertools), namespace ``POWERTOOLS_METRICS_NAMESPACE``, dimension ``service``.

Each metric is flushed from its own ``EphemeralMetrics``, so concurrent handlers in one process (the local stack)
never mix their buffers, and nothing is printed when ``POWERTOOLS_METRICS_DISABLED`` is set.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit


def emit_metric(name: str, value: float, unit: MetricUnit = MetricUnit.Count, **dimensions: str) -> None:
    """Emit one metric value now, with extra ``dimensions`` besides ``service``."""
    metrics = EphemeralMetrics()
    for key, dim in dimensions.items():
        metrics.add_dimension(name=key, value=dim)
    metrics.add_metric(name=name, unit=unit, value=value)
    metrics.flush_metrics()


def record_adobe_call(operation: str, status: int, throttled: int) -> None:
    """``PlatformClient`` observer: ``AdobeCalls`` (count, dimension ``operation``), ``AdobeThrottles`` (the 429
    answers the call met, retries included) and ``AdobeErrors`` (a final status >= 400, or 0: no answer)."""
    metrics = EphemeralMetrics()
    metrics.add_dimension(name="operation", value=operation)
    metrics.add_metric(name="AdobeCalls", unit=MetricUnit.Count, value=1)
    if throttled:
        metrics.add_metric(name="AdobeThrottles", unit=MetricUnit.Count, value=throttled)
    if status == 0 or status >= 400:
        metrics.add_metric(name="AdobeErrors", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
