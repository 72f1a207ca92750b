"""On-demand flow runs (run now, backfill): the window rules, shared by the lifecycle's validation, the
start_flow_run step and the CLI (the step itself: ``stripe_aep.steps.run_now``).

Adobe's rules (EN help/sources/tutorials/api/on-demand-ingestion.md, "Create a flow run for on-demand ingestion
using the Flow Service API"; flow-service.yaml ``CreateFlowRunRequest``, operationId createFlowRun):

- on-demand ingestion exists for **batch** sources only; Stripe is one (a table-based "payments" source, flow
  spec ``6499120c-…`` RestStorageToAEP). A flow qualifies when it is a Stripe flow of this product, ACTIVE in
  DynamoDB and ``enabled`` in AEP (a disabled flow does not run). The guide also notes the flow "must be
  scheduled for one-time ingestion"; Adobe's API is the judge of that rule (its 400 surfaces as
  ``AepValidationError``): the product does not refuse its recurring flows up front.
- ``params.windowStartTime`` / ``windowEndTime`` / ``startTime`` are unix time: epoch **seconds** here (the
  guide's examples are 10-digit; the spec's descriptions say milliseconds, its examples are seconds). A value
  that looks like milliseconds (>= 10**11) is refused, never converted.
- the window must be non-empty (start < end) and must not end in the future (data not yet written cannot be
  read). Adobe publishes no maximum window length; the product caps it at ``MAX_WINDOW_S`` (30 days) so that
  one request cannot pull a whole account's history in one run (split a longer backfill into windows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stripe_aep.clock import now_s
from stripe_aep.errors import InputValidationError
from stripe_aep.store import ACTIVE
from stripe_aep.tenants import LifecycleInput

__all__ = ["DEFAULT_WINDOW_S", "MAX_WINDOW_S", "check_window", "default_window", "qualifies", "validate_run_now"]

#: The longest window one on-demand run may cover, in seconds (the product's cap; Adobe publishes none).
MAX_WINDOW_S = 30 * 86400
#: The window of a run started without one (and of the provisioning's first run): the last day, in seconds.
DEFAULT_WINDOW_S = 86400
#: Epoch values at or above this are milliseconds (year 5138 in seconds), refused by ``check_window``.
_MS_THRESHOLD = 10**11


def default_window(now: int | None = None, length_s: int = DEFAULT_WINDOW_S) -> tuple[int, int]:
    """``(start, end)`` epoch seconds: the ``length_s`` seconds ending at the current minute (floored, so the
    same request within one minute names the same window)."""
    end = (now_s() if now is None else now) // 60 * 60
    return end - length_s, end


def check_window(
    start: int | None, end: int | None, *, now: int | None = None, max_window_s: int = MAX_WINDOW_S
) -> tuple[int, int]:
    """Validate an on-demand window (epoch seconds) by Adobe's rules and the product's cap; missing bounds
    default to ``default_window`` (only ``windowStartTime`` given: the window ends at the current minute).
    Returns ``(windowStartTime, windowEndTime)``.

    Raises ``InputValidationError`` naming the field: ``windowStartTime``/``windowEndTime`` negative or in
    milliseconds, ``windowEndTime`` in the future, ``windowEndTime`` not after ``windowStartTime``, a window
    longer than ``max_window_s``.
    """
    current = now_s() if now is None else now
    for name, value in (("windowStartTime", start), ("windowEndTime", end)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputValidationError(f"invalid run_now window: {name}: must be a non-negative integer (epoch s)")
        if value >= _MS_THRESHOLD:
            raise InputValidationError(
                f"invalid run_now window: {name}: epoch seconds expected; this value is in milliseconds"
            )
    if start is None and end is None:
        return default_window(current)
    if end is None:
        end = current // 60 * 60
    if start is None:
        start = end - DEFAULT_WINDOW_S
    if end > current:
        raise InputValidationError("invalid run_now window: windowEndTime: in the future (no data to read yet)")
    if end <= start:
        raise InputValidationError("invalid run_now window: windowEndTime: must be after windowStartTime")
    if end - start > max_window_s:
        raise InputValidationError(
            f"invalid run_now window: windowStartTime: the window is {end - start} s long; at most "
            f"{max_window_s} s ({max_window_s // 86400} days) per run: split the backfill"
        )
    return start, end


def qualifies(item: Mapping[str, Any]) -> bool:
    """Whether a dataflow item may have an on-demand run: ACTIVE, with a flow, not disabled."""
    return bool(item.get("flow_id")) and item.get("status") == ACTIVE and item.get("flow_state") != "disabled"


def validate_run_now(data: LifecycleInput, dataflows: Sequence[Mapping[str, Any]], paths: list[str]) -> dict[str, Any]:
    """The run_now part of ``steps.lifecycle.validate_lifecycle_input`` (no Adobe call): the window by
    ``check_window``, and only qualifying dataflows. Out: ``{window: {windowStartTime, windowEndTime}}``.

    Raises ``InputValidationError`` naming the field (``schedule``/``name`` given, ``windowStartTime``/
    ``windowEndTime``, ``resourcePaths`` naming a dataflow that does not qualify, ``tenantId`` without one).
    """
    extra = [f for f in ("schedule", "name") if getattr(data, f) is not None]
    if extra:
        raise InputValidationError(f"invalid LifecycleInput: {', '.join(extra)}: run_now takes no {extra[0]}")
    start, end = check_window(data.windowStartTime, data.windowEndTime)
    by_path = {str(i.get("resource_path")): i for i in dataflows}
    unqualified = [p for p in paths if not qualifies(by_path.get(p, {}))]
    if unqualified:
        raise InputValidationError(
            f"invalid LifecycleInput: resourcePaths: no ACTIVE, enabled dataflow for {', '.join(unqualified)} "
            "(on-demand runs need one)"
        )
    if not paths:
        raise InputValidationError(f"invalid LifecycleInput: tenantId: tenant {data.tenantId} has no dataflow to run")
    return {"window": {"windowStartTime": start, "windowEndTime": end}}
