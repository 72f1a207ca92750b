"""The lifecycle steps: one function per Lambda of ``statemachine/lifecycle.asl.json``.

The operations are those of the Stripe source tutorial's appendix (docs/stripe-source-flow-service-api.txt)
and Adobe's "Update dataflows" / "Update accounts" guides (EN help/sources/tutorials/api/update-dataflows.md,
update.md): change a dataflow's schedule or name (``PATCH /flows/{id}``), replace the Stripe key of the base
connection (``PATCH /connections/{id}``), and enable or disable dataflows (``POST /flows/{id}/action``).

Every PATCH carries ``If-Match`` with the etag DynamoDB holds; on 412 (stale etag) the object is read again
(``GET`` gives the current etag) and the same JSON Patch, rebuilt against what was read, is sent once more:
the change is applied to the current object, never written over it blindly. Each step can be re-run after a
failure half-way: re-applying a patch or a state transition leaves the same result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import SecretStr

from stripe_aep import catalogue, selection
from stripe_aep.aep import (
    Created,
    PatchOperation,
    PreconditionFailedError,
)
from stripe_aep.errors import (
    ConcurrentModificationError,
    InputValidationError,
    TenantNotFoundError,
)
from stripe_aep.metrics import emit_metric
from stripe_aep.names import rotation_check_name
from stripe_aep.resources import RESOURCE_PATHS
from stripe_aep.runs import validate_run_now
from stripe_aep.runtime import Runtime
from stripe_aep.steps.common import (
    RawInput,
    StepOutput,
    TenantStep,
    explore_or_reject,
    load_tenant,
    remove_rotation_check,
    sandbox_of,
)
from stripe_aep.store import ACTIVE, DEPROVISIONED, ItemKey, dataflow_key, tenant_key
from stripe_aep.store import DISABLED as DISABLED_STATUS
from stripe_aep.tenants import (
    LifecycleInput,
    ResourcePath,
    ScheduleInput,
    now_s,
    parse_input,
)

if TYPE_CHECKING:
    from stripe_aep.aep import Created, PatchOperation

#: DynamoDB attribute group (``rotation_check_id``, ``_intent``) of the temporary base connection that
#: verifies a new Stripe key before the tenant's base connection gets it (``stripe_aep.catalogue``).
ROTATION_CHECK = catalogue.ROTATION_CHECK.attribute
#: ``flow_state`` values, as Flow Service writes a flow's ``state``.
ENABLED, DISABLED = "enabled", "disabled"
_ChangeT = TypeVar("_ChangeT")


def patch_with_retry(
    patch: Callable[[str, _ChangeT], Created],
    reread: Callable[[], tuple[str, _ChangeT]],
    etag: str | None,
    change: _ChangeT | None,
) -> Created:
    """PATCH ``change`` with ``If-Match: etag``; on 412 (``PreconditionFailedError``) read the object again and
    apply once more with the etag and the change ``reread()`` returns. Without a known etag, reads first.

    A second 412 propagates: another writer keeps changing the object, a person should look.
    """
    if etag is None or change is None:
        etag, change = reread()
        return patch(etag, change)
    try:
        return patch(etag, change)
    except PreconditionFailedError:
        etag, change = reread()
        return patch(etag, change)


def _live_dataflows(dataflows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in dataflows if i.get("status") != DEPROVISIONED]


# ---- ValidateLifecycleInput ---------------------------------------------------------------------------


def _upgrade_request(data: LifecycleInput, tenant: Mapping[str, Any], paths: list[str]) -> dict[str, Any]:
    """The upgrade / update_fields part of a validated lifecycle input: ``{resourcePaths, sandbox, dryRun,
    fields: {path: selection} | None}``; every selection is checked against the table here, before any Adobe
    call."""
    extra = [f for f in ("schedule", "name") if getattr(data, f) is not None]
    if extra:
        raise InputValidationError(f"invalid LifecycleInput: {', '.join(extra)}: only update_schedule takes it")
    if data.operation == "update_fields" and not data.fields:
        raise InputValidationError("invalid LifecycleInput: fields: update_fields needs a selection per path")
    if data.operation == "upgrade" and data.fields:
        raise InputValidationError("invalid LifecycleInput: fields: only update_fields takes it")
    selections = {
        path: selection.check_selection(path, chosen.model_dump(exclude_none=True))
        for path, chosen in (data.fields or {}).items()
    }
    unknown = [p for p in selections if p not in paths]
    if unknown:
        raise InputValidationError(
            f"invalid LifecycleInput: fields: tenant {data.tenantId} has no dataflow for {', '.join(unknown)}"
        )
    targets = list(selections) if data.operation == "update_fields" else paths
    if not targets:
        raise InputValidationError(f"invalid LifecycleInput: tenantId: tenant {data.tenantId} has no dataflow")
    return {
        "resourcePaths": targets,
        "sandbox": str(tenant.get("sandbox") or ""),
        "dryRun": data.dryRun,
        "fields": selections or None,
    }


class LifecycleSchedule(StepOutput):
    """A checked schedule: ``startTime`` (epoch seconds) only when the input gave one."""

    frequency: str
    interval: int | None
    startTime: int | None = None


class RunWindow(StepOutput):
    """run_now's window, epoch seconds (``stripe_aep.runs.check_window``)."""

    windowStartTime: int
    windowEndTime: int


class LifecycleRequest(StepOutput):
    """ValidateLifecycleInput's answer (``$.request``). The fields with a default are there only for the
    operations that take them (update_schedule: ``schedule``, ``name``; run_now: ``window``; upgrade /
    update_fields: ``sandbox``, ``dryRun``, ``fields``); the ASL defaults ``schedule``, ``name``, ``fields``
    to null."""

    operation: str
    tenantId: str
    resourcePaths: list[str]
    schedule: LifecycleSchedule | None = None
    name: str | None = None
    window: RunWindow | None = None
    sandbox: str = ""
    dryRun: bool = False
    #: Per resource path the normalised selection (``{"include"|"exclude": [...]}``; null: every field).
    fields: dict[str, dict[str, list[str]] | None] | None = None


def validate_lifecycle_input(request: RawInput, runtime: Runtime) -> LifecycleRequest:
    """Validate a lifecycle console input (or the starter's rotation event) against the tenant's DynamoDB
    items.

    In: ``{"input": {operation, tenantId, resourcePaths?, schedule?{frequency, interval, startTime (epoch
    seconds)}, name?}, "executionName"}``. Out: ``{operation, tenantId, resourcePaths, schedule?, name?}``
    where ``resourcePaths`` defaults to every resource path of the tenant that has a dataflow. Makes no Adobe
    call.

    Raises ``InputValidationError`` naming the field: unknown operation, a path the tenant has no dataflow
    for, ``update_schedule`` without schedule nor name, ``schedule``/``name`` given to another operation, a
    schedule breaking Adobe's rules (flow-service.yaml ScheduleSpecDTO) or a ``startTime`` in the past (Adobe
    refuses a start time that has passed). Raises ``TenantNotFoundError`` for an unknown or deprovisioned
    tenant.
    """
    data = parse_input(LifecycleInput, request.input)
    tenant, dataflows = runtime.store.tenant_items(data.tenantId)
    if tenant is None:
        raise TenantNotFoundError(f"tenant {data.tenantId} is unknown: no tenant item in DynamoDB")
    if tenant.get("status") == DEPROVISIONED:
        raise TenantNotFoundError(f"tenant {data.tenantId} is deprovisioned")
    with_flow = [str(i["resource_path"]) for i in _live_dataflows(dataflows) if i.get("flow_id")]
    if data.resourcePaths is not None:
        unknown = [p for p in data.resourcePaths if p not in with_flow]
        if unknown:
            raise InputValidationError(
                f"invalid LifecycleInput: resourcePaths: tenant {data.tenantId} has no dataflow for "
                f"{', '.join(unknown)}"
            )
        paths = list(dict.fromkeys(data.resourcePaths))
    else:
        paths = with_flow
    out: dict[str, Any] = {"operation": data.operation, "tenantId": data.tenantId, "resourcePaths": paths}
    if data.operation != "run_now" and (data.windowStartTime is not None or data.windowEndTime is not None):
        raise InputValidationError("invalid LifecycleInput: windowStartTime: only run_now takes a window")
    if data.operation in ("upgrade", "update_fields"):
        return LifecycleRequest.model_validate({**out, **_upgrade_request(data, tenant, paths)})
    misplaced = [f for f in ("dryRun", "fields") if getattr(data, f)]
    if misplaced:
        raise InputValidationError(
            f"invalid LifecycleInput: {', '.join(misplaced)}: only upgrade / update_fields take it"
        )
    if data.operation == "run_now":
        return LifecycleRequest.model_validate(out | validate_run_now(data, dataflows, paths))
    if data.operation != "update_schedule":
        extra = [f for f in ("schedule", "name") if getattr(data, f) is not None]
        if extra:
            raise InputValidationError(f"invalid LifecycleInput: {', '.join(extra)}: only update_schedule takes it")
        if data.operation != "rotate_key" and not paths:
            raise InputValidationError(
                f"invalid LifecycleInput: tenantId: tenant {data.tenantId} has no dataflow to {data.operation}"
            )
        return LifecycleRequest.model_validate(out)
    if data.schedule is None and data.name is None:
        raise InputValidationError("invalid LifecycleInput: schedule: update_schedule needs a schedule or a name")
    if not paths:
        raise InputValidationError(f"invalid LifecycleInput: tenantId: tenant {data.tenantId} has no dataflow")
    if data.schedule is not None:
        if data.schedule.startTime is not None and data.schedule.startTime <= now_s():
            raise InputValidationError(
                "invalid LifecycleInput: schedule.startTime: epoch seconds in the past (Adobe refuses it)"
            )
        # Adobe's rules were checked with the input; the start time only matters to them when it is given.
        checked = data.schedule.schedule
        schedule: dict[str, Any] = {"frequency": checked.frequency, "interval": checked.interval}
        if data.schedule.startTime is not None:
            schedule["startTime"] = checked.start_time
        out["schedule"] = schedule
    if data.name is not None:
        out["name"] = data.name
    return LifecycleRequest.model_validate(out)


# ---- UpdateDataflow -----------------------------------------------------------------------------------


class UpdateDataflowStep(TenantStep):
    """``{tenantId, resourcePath, schedule, name}`` (schedule and name may be null)."""

    resourcePath: ResourcePath
    schedule: ScheduleInput | None = None
    name: str | None = None


def _flow_item(runtime: Runtime, tenant_id: str, resource_path: str) -> tuple[ItemKey, dict[str, Any]]:
    key = dataflow_key(tenant_id, resource_path)
    item = runtime.store.get(key)
    if item is None:
        load_tenant(runtime, tenant_id)  # TenantNotFoundError first when the tenant itself is unknown
    if not item or not item.get("flow_id") or item.get("status") == DEPROVISIONED:
        raise InputValidationError(f"resourcePath: tenant {tenant_id} has no dataflow for {resource_path}")
    return key, item


def schedule_patch(
    current: Mapping[str, Any], schedule: ScheduleInput | None, name: str | None
) -> tuple[list[PatchOperation], dict[str, Any]]:
    """JSON Patch operations taking ``current`` (the flow's ``scheduleParams``) to the requested schedule and
    name, and the resulting schedule (``{frequency, interval, startTime}``, epoch seconds).

    A start time is patched only when requested and the current one has not passed yet (Adobe: startTime
    cannot be changed once passed); otherwise only frequency and interval change.
    """
    from stripe_aep.aep import PatchOperation  # the wire models: loaded by the one step that patches

    ops: list[PatchOperation] = []
    start = current.get("startTime")
    result: dict[str, Any] = {
        "frequency": current.get("frequency"),
        "interval": int(current["interval"]) if current.get("interval") not in (None, "") else None,
        "startTime": int(start) if start not in (None, "") else None,
    }
    if schedule is not None:
        ops.append(PatchOperation(op="replace", path="/scheduleParams/frequency", value=schedule.frequency))
        if schedule.interval is not None:
            # "add" sets a member whether or not it exists (RFC 6902).
            ops.append(PatchOperation(op="add", path="/scheduleParams/interval", value=schedule.interval))
        elif current.get("interval") not in (None, ""):
            ops.append(PatchOperation(op="remove", path="/scheduleParams/interval"))
        result |= {"frequency": schedule.frequency, "interval": schedule.interval}
        now = now_s()
        if schedule.startTime is not None and result["startTime"] is not None and result["startTime"] > now:
            ops.append(PatchOperation(op="replace", path="/scheduleParams/startTime", value=schedule.startTime))
            result["startTime"] = schedule.startTime
    if name is not None:
        ops.append(PatchOperation(op="replace", path="/name", value=name))
    return ops, result


class DataflowUpdated(StepOutput):
    """``etag``: the flow's new etag (null when Adobe gave none)."""

    resourcePath: str
    flowId: str
    etag: str | None


def update_dataflow(request: UpdateDataflowStep, runtime: Runtime) -> DataflowUpdated:
    """Change one dataflow's schedule and/or name: ``PATCH /flows/{id}`` (patchFlow) with ``If-Match``.

    The patch is built against the schedule DynamoDB holds and sent with the stored ``flow_etag``; on 412 the
    flow is read again (``GET /flows/{id}``, retrieveFlow) and the patch rebuilt against it and sent once
    more. Stores the new ``flow_etag``, ``schedule`` (``{frequency, interval, startTime}``, epoch seconds) and
    ``flow_name`` (when renamed). Out: ``{resourcePath, flowId, etag}``.

    Raises ``TenantNotFoundError``, ``InputValidationError`` (no dataflow for the path, nothing to change),
    ``PreconditionFailedError`` (412 twice), ``NotFoundError`` (the flow was deleted outside the provisioner),
    ``AepValidationError`` (Adobe refused the schedule).
    """
    if request.schedule is None and request.name is None:
        raise InputValidationError("schedule: update_dataflow needs a schedule or a name")
    key, item = _flow_item(runtime, request.tenantId, request.resourcePath)
    flow_id = str(item["flow_id"])
    client = runtime.platform(sandbox_of(runtime, request.tenantId, item))
    stored = item.get("schedule") if isinstance(item.get("schedule"), dict) else None
    outcome: dict[str, Any] = {}

    def reread() -> tuple[str, list[PatchOperation]]:
        flow = client.get_flow(flow_id)
        if not flow.etag:
            raise PreconditionFailedError("retrieveFlow gave no etag", operation="retrieveFlow")
        ops, outcome["schedule"] = schedule_patch(flow.schedule_params, request.schedule, request.name)
        return flow.etag, ops

    etag: str | None = item.get("flow_etag")
    ops: list[PatchOperation] | None = None
    if etag and stored is not None:
        ops, outcome["schedule"] = schedule_patch(stored, request.schedule, request.name)

    def patch(etag: str, ops: list[PatchOperation]) -> Created:
        return client.patch_flow(flow_id, etag, ops)

    created = patch_with_retry(patch, reread, etag, ops)
    attrs: dict[str, Any] = {"schedule": outcome["schedule"], "schedule_updated_at": now_s()}
    if created.etag:
        attrs["flow_etag"] = created.etag
    if request.name is not None:
        attrs["flow_name"] = request.name
    runtime.store.update(key, attrs)
    emit_metric("DataflowUpdated", 1)
    return DataflowUpdated(resourcePath=request.resourcePath, flowId=flow_id, etag=created.etag)


# ---- RotateStripeKey ----------------------------------------------------------------------------------


class StripeKeyRotated(StepOutput):
    """``verifiedPaths``: the resource paths explored with the new key."""

    baseConnectionId: str
    verifiedPaths: list[str]


def rotate_stripe_key(request: TenantStep, runtime: Runtime) -> StripeKeyRotated:
    """Give the tenant's base connection the Stripe key its secret now holds, verified before it is applied.

    Design (nothing is left half-written): the new key can only be tried through a base connection, so
    1. a temporary base connection ``stripe-aep/{tenant}/base/rotation-check`` is created with the new key
       (``POST /connections``; its intent, then its ID, recorded on the tenant item) and every resource path
       of the tenant is explored through it (``GET /connections/{id}/explore``); the temporary connection is
       then deleted whatever the outcome. A rejected key raises ``StripeSourceRejectedError`` here, before the
       tenant's base connection is touched: it keeps the old key and its dataflows keep running.
    2. only then is the tenant's base connection patched: ``PATCH /connections/{id}`` (patchConnection) with
       ``If-Match`` and ``[{"op": "replace", "path": "/auth/params", "value": {"accessToken": <key>}}]``; on
       412 the connection is read again and the patch sent once more;
    3. one explore through the tenant's base connection confirms it.
    A crash between 1 and its clean-up leaves the temporary connection recorded; the next run (or
    deprovisioning) deletes it first. Re-running after 2 patches the same key again (harmless).
    If the secret changes while this runs, ``ConcurrentModificationError``: the newer change has its own
    execution (the starter starts one per secret change).

    The key is read fresh from Secrets Manager and goes nowhere but the two request bodies: not in the
    payload, the result, DynamoDB, a log line or an exception. In: ``{tenantId}``. Out: ``{baseConnectionId,
    verifiedPaths}``. Also raises ``TenantNotFoundError`` (unknown tenant), ``TenantSecretNotFoundError`` (no secret),
    ``InputValidationError`` (the tenant has no base connection yet).
    """
    tenant = load_tenant(runtime, request.tenantId)
    if tenant.get("status") == DEPROVISIONED:
        raise TenantNotFoundError(f"tenant {request.tenantId} is deprovisioned")
    base_id = tenant.get("base_connection_id")
    if not base_id:
        raise InputValidationError(f"tenantId: tenant {request.tenantId} has no base connection yet: nothing to rotate")
    base_id = str(base_id)
    _, dataflows = runtime.store.tenant_items(request.tenantId)
    paths = [str(i["resource_path"]) for i in _live_dataflows(dataflows)] or [RESOURCE_PATHS[0]]
    client = runtime.platform(sandbox_of(runtime, request.tenantId, tenant))
    key = tenant_key(request.tenantId)

    # 1. verify the new key through a temporary base connection.
    remove_rotation_check(runtime, client, request.tenantId)
    new_key = runtime.stripe_key(request.tenantId, fresh=True)
    runtime.store.claim_intent(key, ROTATION_CHECK, request.executionName)
    check = client.create_base_connection(
        rotation_check_name(request.tenantId), new_key, description="temporary: verifies a new Stripe key"
    )
    runtime.store.record_object(key, ROTATION_CHECK, check.id, None)
    try:
        for path in paths:
            explore_or_reject(client, check.id, path, "the new Stripe key was not applied")
    finally:
        remove_rotation_check(runtime, client, request.tenantId)

    if not runtime.stripe_key_is(request.tenantId, new_key):
        raise ConcurrentModificationError(
            f"the Stripe key secret of tenant {request.tenantId} changed during the rotation; not applied"
        )

    # 2. apply it to the tenant's base connection (the client builds the /auth/params patch).
    def reread() -> tuple[str, SecretStr]:
        connection = client.get_base_connection(base_id)
        if not connection.etag:
            raise PreconditionFailedError("retrieveConnection gave no etag", operation="retrieveConnection")
        return connection.etag, new_key

    def patch(etag: str, key: SecretStr) -> Created:
        return client.replace_stripe_key(base_id, etag, key)

    created = patch_with_retry(patch, reread, tenant.get("base_connection_etag"), new_key)
    attrs: dict[str, Any] = {"stripe_key_rotated_at": now_s()}
    if created.etag:
        attrs["base_connection_etag"] = created.etag
    runtime.store.update(key, attrs)

    # 3. confirm through the tenant's base connection.
    explore_or_reject(client, base_id, paths[0], "the base connection holds the new Stripe key but")
    emit_metric("StripeKeyRotated", 1)
    return StripeKeyRotated(baseConnectionId=base_id, verifiedPaths=paths)


# ---- SetDataflowState ---------------------------------------------------------------------------------


class SetDataflowStateStep(TenantStep):
    """``{tenantId, resourcePath, enabled}``."""

    resourcePath: ResourcePath
    enabled: bool


class DataflowStateSet(StepOutput):
    resourcePath: str
    flowId: str
    state: str


def set_dataflow_state(request: SetDataflowStateStep, runtime: Runtime) -> DataflowStateSet:
    """Enable or disable one dataflow: ``POST /flows/{id}/action?op=ENABLE|DISABLE`` (postStateTransition).

    Reads the flow first (``GET /flows/{id}``, retrieveFlow) and calls the action only when the state differs,
    then records ``flow_state`` (``enabled``/``disabled``), ``flow_state_changed_at`` (epoch seconds) and the
    flow's new ``flow_etag`` (a state transition changes it) in DynamoDB, so health checks report a disabled
    dataflow as DISABLED rather than STALE. The statuses follow at once: the dataflow item's ``status``
    (DISABLED, out of the health-check index / ACTIVE, back in it) and ``health_status`` (DISABLED / PENDING until
    the next health check), and the tenant's status (DISABLED when all its dataflows are,
    ``Store.follow_dataflow_states``). Out: ``{resourcePath, flowId, state}``.
    Raises ``TenantNotFoundError``, ``InputValidationError`` (no dataflow for the path), ``NotFoundError``.
    """
    key, item = _flow_item(runtime, request.tenantId, request.resourcePath)
    flow_id = str(item["flow_id"])
    client = runtime.platform(sandbox_of(runtime, request.tenantId, item))
    wanted = ENABLED if request.enabled else DISABLED
    flow = client.get_flow(flow_id)
    if flow.state != wanted:
        (client.enable_flow if request.enabled else client.disable_flow)(flow_id)
        flow = client.get_flow(flow_id)
    attrs: dict[str, Any] = {"flow_state": flow.state or wanted}
    if item.get("flow_state") != attrs["flow_state"]:
        attrs["flow_state_changed_at"] = now_s()
    if flow.etag:
        attrs["flow_etag"] = flow.etag
    if flow.state == wanted and item.get("status") in (ACTIVE, DISABLED_STATUS):
        health = "DISABLED" if wanted == DISABLED else "PENDING"
        if item.get("health_status") != health:
            attrs |= {"health_status": health, "health_changed_at": now_s()}
            attrs["health_reason"] = f"{wanted} by the tenant's lifecycle operation {request.executionName}"
        runtime.store.set_status(key, ACTIVE if request.enabled else DISABLED_STATUS, **attrs)
        runtime.store.follow_dataflow_states(request.tenantId)
    else:
        runtime.store.update(key, attrs)
    if flow.state != wanted:
        raise ConcurrentModificationError(
            f"flow {flow_id} is {flow.state} after {wanted[:-1].upper()}: another change raced this one"
        )
    return DataflowStateSet(resourcePath=request.resourcePath, flowId=flow_id, state=wanted)


__all__ = [
    "rotate_stripe_key",
    "rotation_check_name",
    "schedule_patch",
    "set_dataflow_state",
    "update_dataflow",
    "validate_lifecycle_input",
]
