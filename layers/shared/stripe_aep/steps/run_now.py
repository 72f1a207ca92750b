"""Run now and backfill: on-demand flow runs (Flow Service ``POST /runs``, operationId createFlowRun).

Adobe's rules (EN help/sources/tutorials/api/on-demand-ingestion.md, "Create a flow run for on-demand ingestion
using the Flow Service API"; flow-service.yaml ``CreateFlowRunRequest``):

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

Idempotent per (flow, window): the run's ID lives in the item ``("FLOWRUN#{flowId}", "WINDOW#{start}#{end}")``
(the provisioning's first run: ``("FLOWRUN#{flowId}", "FIRST")``, whose window is fixed by the first attempt),
created through ``steps.common.ensure``: the same request twice starts one run, and a crash between Adobe's
answer and the DynamoDB write is repaired by finding the run of that window in ``GET /runs`` (listFlowRuns).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field

from stripe_aep.aep import AepValidationError, NotFoundError
from stripe_aep.aep.models import STRIPE_FLOW_SPEC_ID
from stripe_aep.errors import ConcurrentModificationError, InputValidationError
from stripe_aep.runtime import Runtime
from stripe_aep.steps.common import AepObject, TenantStep, ensure
from stripe_aep.store import ACTIVE, ItemKey, dataflow_key
from stripe_aep.tenants import LifecycleInput, ResourcePath, now_s

__all__ = [
    "DEFAULT_WINDOW_S",
    "MAX_WINDOW_S",
    "StartFlowRunStep",
    "check_window",
    "default_window",
    "flow_run_key",
    "start_flow_run",
    "validate_run_now",
]

#: The longest window one on-demand run may cover, in seconds (the product's cap; Adobe publishes none).
MAX_WINDOW_S = 30 * 86400
#: The window of a run started without one (and of the provisioning's first run): the last day, in seconds.
DEFAULT_WINDOW_S = 86400
#: Epoch values at or above this are milliseconds (year 5138 in seconds), refused by ``check_window``.
_MS_THRESHOLD = 10**11
FLOW_RUN = "flow_run"


def default_window(now: int | None = None, length_s: int = DEFAULT_WINDOW_S) -> tuple[int, int]:
    """``(start, end)`` epoch seconds: the ``length_s`` seconds ending at the current minute (floored, so the
    same request within one minute names the same window)."""
    end = (now_s() if now is None else now) // 60 * 60
    return end - length_s, end


def check_window(
    start: int | None, end: int | None, *, now: int | None = None, max_window_s: int = MAX_WINDOW_S
) -> tuple[int, int]:
    """Validate an on-demand window (epoch seconds) by Adobe's rules and the product's cap; missing bounds
    default to ``default_window`` (only ``windowStartTime`` given: the window ends now, capped by nothing
    else). Returns ``(windowStartTime, windowEndTime)``.

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


def validate_run_now(data: LifecycleInput, dataflows: Sequence[Mapping[str, Any]], paths: list[str]) -> dict[str, Any]:
    """The run_now part of ``validate_lifecycle_input`` (no Adobe call): the window by ``check_window``, and
    only qualifying dataflows (ACTIVE with a flow, not disabled). Out: ``{window: {windowStartTime,
    windowEndTime}}``. Raises ``InputValidationError`` naming the field (``schedule``/``name`` given,
    ``windowStartTime``/``windowEndTime``, ``resourcePaths`` naming a dataflow that does not qualify).
    """
    extra = [f for f in ("schedule", "name") if getattr(data, f) is not None]
    if extra:
        raise InputValidationError(f"invalid LifecycleInput: {', '.join(extra)}: run_now takes no {extra[0]}")
    start, end = check_window(data.windowStartTime, data.windowEndTime)
    by_path = {str(i.get("resource_path")): i for i in dataflows}
    unqualified = [
        p for p in paths if by_path.get(p, {}).get("status") != ACTIVE or by_path[p].get("flow_state") == "disabled"
    ]
    if unqualified:
        raise InputValidationError(
            f"invalid LifecycleInput: resourcePaths: no ACTIVE, enabled dataflow for {', '.join(unqualified)} "
            "(on-demand runs need one)"
        )
    if not paths:
        raise InputValidationError(f"invalid LifecycleInput: tenantId: tenant {data.tenantId} has no dataflow to run")
    return {"window": {"windowStartTime": start, "windowEndTime": end}}


def flow_run_key(flow_id: str, window: tuple[int, int] | None) -> ItemKey:
    """The DynamoDB item remembering the on-demand run of ``flow_id`` over ``window`` (``None``: first run)."""
    return (f"FLOWRUN#{flow_id}", "FIRST" if window is None else f"WINDOW#{window[0]}#{window[1]}")


class StartFlowRunStep(TenantStep):
    """``{tenantId, resourcePath, windowStartTime?, windowEndTime?, firstRun?, executionName}`` (epoch s)."""

    resourcePath: ResourcePath
    windowStartTime: int | None = Field(default=None, ge=0)
    windowEndTime: int | None = Field(default=None, ge=0)
    firstRun: bool = False


def _window_of_first_run(runtime: Runtime, key: ItemKey) -> tuple[int, int]:
    """The first run's window, fixed by the first attempt (a retry reuses it rather than sliding it)."""
    start, end = default_window()
    try:
        item = runtime.store.update(
            key,
            {"window_start": start, "window_end": end},
            condition="attribute_not_exists(#end)",
            condition_names={"#end": "window_end"},
        )
    except ConcurrentModificationError:  # an earlier attempt fixed it
        item = runtime.store.get(key) or {}
    return int(item["window_start"]), int(item["window_end"])


def start_flow_run(request: StartFlowRunStep, runtime: Runtime) -> dict[str, Any]:
    """Start (at most once) the on-demand run of one dataflow over a window: ``POST /runs`` (createFlowRun).

    The window was validated by ``validate_lifecycle_input`` (``check_window``) and is checked again here (an
    execution started by hand with a bad payload is refused before any Adobe call). Reads the flow
    (``GET /flows/{id}``, retrieveFlow) to confirm it qualifies, then creates the run through ``ensure``.
    Records ``last_on_demand_run_id`` / ``last_on_demand_window`` on the dataflow item.
    Out: ``{resourcePath, flowId, runId, windowStartTime, windowEndTime}``.

    Raises ``InputValidationError`` (bad window; no ACTIVE dataflow for the path; the flow is disabled or not a
    Stripe flow), ``NotFoundError`` (the flow is gone from AEP), Adobe errors of createFlowRun.
    """
    key = dataflow_key(request.tenantId, request.resourcePath)
    item = runtime.store.get(key) or {}
    if not item.get("flow_id") or item.get("status") != ACTIVE:
        raise InputValidationError(
            f"resourcePath: tenant {request.tenantId} has no ACTIVE dataflow for {request.resourcePath}"
        )
    if item.get("flow_state") == "disabled":
        raise InputValidationError(f"resourcePath: the dataflow of {request.resourcePath} is disabled")
    flow_id = str(item["flow_id"])
    if request.firstRun:
        run_key = flow_run_key(flow_id, None)
        window = _window_of_first_run(runtime, run_key)
    else:
        window = check_window(request.windowStartTime, request.windowEndTime)
        run_key = flow_run_key(flow_id, window)
    client = runtime.platform(str(item.get("sandbox") or runtime.settings.default_sandbox))
    stored = runtime.store.get(run_key) or {}
    if not stored.get(f"{FLOW_RUN}_id"):
        flow = client.get_flow(flow_id)
        if flow.flow_spec is not None and flow.flow_spec.id != STRIPE_FLOW_SPEC_ID:
            raise InputValidationError(f"resourcePath: flow {flow_id} is not a Stripe (batch source) flow")
        if flow.state and flow.state != "enabled":
            raise InputValidationError(f"resourcePath: flow {flow_id} is {flow.state} in AEP; enable it first")

    def find() -> AepObject | None:
        try:
            for run in client.list_flow_runs(flow_id, limit=50):
                if (_int(run.params.get("windowStartTime")), _int(run.params.get("windowEndTime"))) == window:
                    return AepObject(run.id)
        except NotFoundError:
            return None
        return None

    def create() -> AepObject:
        created = client.create_flow_run(flow_id, window[0], window[1])
        return AepObject(created.id, created.etag)

    try:
        done = ensure(runtime, run_key, FLOW_RUN, request.executionName, find, create)
    except AepValidationError:
        # Adobe refused the run: nothing was created, so the next attempt need not wait for this intent's lease.
        runtime.store.update(run_key, remove=(f"{FLOW_RUN}_intent", f"{FLOW_RUN}_intent_owner"))
        raise
    run_id = str(done[f"{FLOW_RUN}_id"])
    runtime.store.update(
        key,
        {"last_on_demand_run_id": run_id, "last_on_demand_window": {"start": window[0], "end": window[1]}},
        condition="attribute_exists(pk)",
    )
    return {
        "resourcePath": request.resourcePath,
        "flowId": flow_id,
        "runId": run_id,
        "windowStartTime": window[0],
        "windowEndTime": window[1],
    }


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
