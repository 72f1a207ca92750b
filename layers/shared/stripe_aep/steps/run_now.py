"""Run now, backfill and the provisioning's first run: the start_flow_run step (Flow Service ``POST /runs``,
operationId createFlowRun). Adobe's window rules and which flows qualify: ``stripe_aep.runs``.

Idempotent per (flow, window): the run is an object of the catalogue (``catalogue.flow_run``) created through
``catalogue.ensure``, its ID kept in the item ``store.flow_run_key(flowId, window)`` (the provisioning's first
run: ``("FLOWRUN#{flowId}", "FIRST")``, whose window the first attempt fixes). The same request twice starts one
run, and a crash between Adobe's answer and the DynamoDB write is repaired by finding the run of that window in
``GET /runs`` (listFlowRuns).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from stripe_aep.aep import AepValidationError
from stripe_aep.aep.models import STRIPE_FLOW_SPEC_ID
from stripe_aep.catalogue import Ref, ensure, flow_run
from stripe_aep.errors import ConcurrentModificationError, InputValidationError
from stripe_aep.runs import check_window, default_window, qualifies
from stripe_aep.runtime import Runtime
from stripe_aep.steps.common import StepOutput, TenantStep, sandbox_of
from stripe_aep.store import ItemKey, dataflow_key, flow_run_key
from stripe_aep.tenants import ResourcePath

__all__ = ["FlowRunStarted", "StartFlowRunStep", "start_flow_run"]


class StartFlowRunStep(TenantStep):
    """``{tenantId, resourcePath, windowStartTime?, windowEndTime?, firstRun?, executionName}`` (epoch s)."""

    resourcePath: ResourcePath
    windowStartTime: int | None = Field(default=None, ge=0)
    windowEndTime: int | None = Field(default=None, ge=0)
    firstRun: bool = False


def _window_of_first_run(runtime: Runtime, key: ItemKey) -> tuple[tuple[int, int], dict[str, Any]]:
    """The first run's window, fixed by the first attempt (a retry reuses it rather than sliding it), and the
    item at ``key`` after that write (the run's own item: ``ensure`` need not read it again)."""
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
    return (int(item["window_start"]), int(item["window_end"])), item


class FlowRunStarted(StepOutput):
    """The run and its window (epoch seconds)."""

    resourcePath: str
    flowId: str
    runId: str
    windowStartTime: int
    windowEndTime: int


def start_flow_run(request: StartFlowRunStep, runtime: Runtime) -> FlowRunStarted:
    """Start (at most once) the on-demand run of one dataflow over a window: ``POST /runs`` (createFlowRun).

    The window was validated by ``validate_lifecycle_input`` (``runs.check_window``) and is checked again here
    (an execution started by hand with a bad payload is refused before any Adobe call). Before an on-demand
    run is created, reads the flow (``GET /flows/{id}``, retrieveFlow) to confirm it qualifies; a provisioning's
    first run (``firstRun``) skips that read, its flow having just been converged by CreateDataflow. Records
    ``last_on_demand_run_id`` / ``last_on_demand_window`` on the dataflow item.
    Out: ``{resourcePath, flowId, runId, windowStartTime, windowEndTime}`` (epoch s).

    Raises ``InputValidationError`` (bad window; no ACTIVE dataflow for the path; the flow is disabled or not a
    Stripe flow), ``NotFoundError`` (the flow is gone from AEP), Adobe errors of createFlowRun.
    """
    key = dataflow_key(request.tenantId, request.resourcePath)
    item = runtime.store.get(key) or {}
    if not qualifies(item):
        raise InputValidationError(
            f"resourcePath: tenant {request.tenantId} has no ACTIVE, enabled dataflow for {request.resourcePath}"
        )
    flow_id = str(item["flow_id"])
    run_item: dict[str, Any] | None = None
    if request.firstRun:
        window, run_item = _window_of_first_run(runtime, flow_run_key(flow_id, None))
    else:
        window = check_window(request.windowStartTime, request.windowEndTime)
    kind = flow_run(flow_id, window, first=request.firstRun)
    ref = Ref(sandbox_of(runtime, request.tenantId, item), request.tenantId, request.resourcePath)
    client = runtime.platform(ref.sandbox)
    if run_item is None:
        run_item = runtime.store.get(kind.key(ref)) or {}
    # A provisioning's first run follows the CreateDataflow step that converged this flow (enabled, a Stripe
    # flow) moments before: reading it again would only cost a call; Adobe refuses a run of a disabled flow.
    if not request.firstRun and not run_item.get(f"{kind.attribute}_id"):
        flow = client.get_flow(flow_id)
        if flow.flow_spec is not None and flow.flow_spec.id != STRIPE_FLOW_SPEC_ID:
            raise InputValidationError(f"resourcePath: flow {flow_id} is not a Stripe (batch source) flow")
        if flow.state and flow.state != "enabled":
            raise InputValidationError(f"resourcePath: flow {flow_id} is {flow.state} in AEP; enable it first")
    try:
        done = ensure(runtime.store, client, kind, ref, request.executionName, item=run_item)
    except AepValidationError:
        # Adobe refused the run: nothing was created, so the next attempt need not wait for this intent's lease.
        runtime.store.forget_object(kind.key(ref), kind.attribute)
        raise
    run_id = str(done[f"{kind.attribute}_id"])
    runtime.store.update(
        key,
        {"last_on_demand_run_id": run_id, "last_on_demand_window": {"start": window[0], "end": window[1]}},
        condition="attribute_exists(pk)",
    )
    return FlowRunStarted(
        resourcePath=request.resourcePath,
        flowId=flow_id,
        runId=run_id,
        windowStartTime=window[0],
        windowEndTime=window[1],
    )
