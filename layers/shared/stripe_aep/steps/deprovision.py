"""The deprovisioning steps: one function per Lambda of ``statemachine/deprovision.asl.json``.

Order (EN help/sources/tutorials/api/delete.md; Adobe refuses to delete a connection still in use, 400
``FLOW-1418-400``): per resource path the dataflow (``DELETE /flows/{id}``), then the target connection, then
the source connection, then (``purge: true`` only) the dataset; after every path, the base connection.

What is kept: datasets by default (the ingested data is not destroyed), mapping sets (the client has no delete
for them; a later provisioning reuses them), and the sandbox's XDM schemas and field groups, which all tenants
of the sandbox share: deprovisioning never deletes them. DynamoDB items are not erased: they are marked
DEPROVISIONED with ``deprovisioned_at`` (epoch seconds) and leave the health-check index.

Every delete is ``stripe_aep.catalogue.delete_recorded`` over its kind and safe to repeat: an object whose ID
DynamoDB does not hold is skipped (no Adobe call); an unfinished create (``<kind>_intent`` without ``<kind>_id``,
left by a provisioning that failed half-way) is looked up by its deterministic name and deleted if found; a 404
counts as already deleted. Deprovisioning twice makes no Adobe call the second time.
"""

from __future__ import annotations

from stripe_aep.catalogue import (
    BASE_CONNECTION,
    DATASET,
    FLOW,
    SOURCE_CONNECTION,
    TARGET_CONNECTION,
    Kind,
    Ref,
    delete_recorded,
)
from stripe_aep.clock import now_s
from stripe_aep.errors import TenantNotFoundError
from stripe_aep.metrics import emit_metric
from stripe_aep.runtime import Runtime
from stripe_aep.steps.common import (
    RawInput,
    StepOutput,
    TenantStep,
    load_tenant,
    remove_rotation_check,
    sandbox_of,
)
from stripe_aep.store import DEPROVISIONED, DEPROVISIONING, HEALTH_ATTRIBUTES, dataflow_key, tenant_key
from stripe_aep.tenants import DeprovisionInput, ResourcePath, parse_input

# ---- PlanDeprovisioning -------------------------------------------------------------------------------


class DeprovisionPlan(StepOutput):
    """PlanDeprovisioning's answer (``$.plan``)."""

    tenantId: str
    purge: bool
    resourcePaths: list[str]


def plan_deprovisioning(request: RawInput, runtime: Runtime) -> DeprovisionPlan:
    """Validate a deprovision input and list every resource path DynamoDB knows for the tenant, whatever its
    status (a provisioning that failed half-way included).

    In: ``{"input": {tenantId, purge (default false)}, "executionName"}``. Out: ``{tenantId, purge,
    resourcePaths}``. Marks the tenant and its dataflows DEPROVISIONING (dataflows leave the health-check
    index) unless already DEPROVISIONED: a second deprovisioning changes no status. Makes no Adobe call.
    Raises ``InputValidationError`` (naming the field) and ``TenantNotFoundError`` (no tenant item).
    """
    data = parse_input(DeprovisionInput, request.input)
    tenant, dataflows = runtime.store.tenant_items(data.tenantId)
    if tenant is None:
        raise TenantNotFoundError(f"tenant {data.tenantId} is unknown: no tenant item in DynamoDB")
    if tenant.get("status") != DEPROVISIONED:
        runtime.store.set_status(
            tenant_key(data.tenantId),
            DEPROVISIONING,
            deprovision_execution=request.executionName,
            deprovision_started_at=now_s(),
        )
    for item in dataflows:
        if item.get("status") != DEPROVISIONED:
            runtime.store.set_status(dataflow_key(data.tenantId, str(item["resource_path"])), DEPROVISIONING)
    paths = [str(i["resource_path"]) for i in dataflows]
    return DeprovisionPlan(tenantId=data.tenantId, purge=data.purge, resourcePaths=paths)


# ---- per resource path --------------------------------------------------------------------------------


class DeprovisionPathStep(TenantStep):
    """``{tenantId, resourcePath}`` (``purge`` of the Map item is ignored here)."""

    resourcePath: ResourcePath


class PathObjectDeleted(StepOutput):
    """``deleted``: the IDs deleted (or found gone already); empty when DynamoDB recorded none."""

    resourcePath: str
    deleted: list[str]


def _delete_path_object(request: DeprovisionPathStep, runtime: Runtime, kind: Kind) -> PathObjectDeleted:
    """Delete what DynamoDB records of ``kind`` for the path (``delete_recorded``): ``{resourcePath, deleted}``."""
    item = runtime.store.get(dataflow_key(request.tenantId, request.resourcePath))
    if item is None:
        load_tenant(runtime, request.tenantId)  # TenantNotFoundError for an unknown tenant
    sandbox = sandbox_of(runtime, request.tenantId, item)
    ref = Ref(sandbox, request.tenantId, request.resourcePath)
    deleted = delete_recorded(runtime.store, runtime.platform(sandbox), kind, ref)
    return PathObjectDeleted(resourcePath=request.resourcePath, deleted=deleted)


def delete_dataflow(request: DeprovisionPathStep, runtime: Runtime) -> PathObjectDeleted:
    """Delete the path's dataflow: ``DELETE /flows/{id}`` (deleteByFlow) -> 204; its runs go with it.

    Out: ``{resourcePath, deleted: [flow ids]}`` (empty when nothing was recorded). Raises
    ``TenantNotFoundError`` and Adobe's errors other than 404.
    """
    return _delete_path_object(request, runtime, FLOW)


def delete_target_connection(request: DeprovisionPathStep, runtime: Runtime) -> PathObjectDeleted:
    """Delete the path's target connection: ``DELETE /targetConnections/{id}`` (deleteTargetConnection).

    Out: ``{resourcePath, deleted}``. Raises ``ConflictError`` while a flow still uses it.
    """
    return _delete_path_object(request, runtime, TARGET_CONNECTION)


def delete_source_connection(request: DeprovisionPathStep, runtime: Runtime) -> PathObjectDeleted:
    """Delete the path's source connection: ``DELETE /sourceConnections/{id}`` (deleteSourceConnection).

    Out: ``{resourcePath, deleted}``. Raises ``ConflictError`` while a flow still uses it.
    """
    return _delete_path_object(request, runtime, SOURCE_CONNECTION)


def purge_dataset(request: DeprovisionPathStep, runtime: Runtime) -> PathObjectDeleted:
    """Delete the path's dataset and the data ingested into it: Catalog ``DELETE /dataSets/{id}``
    (deleteDataset). Runs only when the input asked ``purge: true``.

    The XDM schema (shared by the sandbox's tenants) is kept. Records ``dataset_purged_at`` (epoch seconds).
    Out: ``{resourcePath, deleted}``.
    """
    out = _delete_path_object(request, runtime, DATASET)
    if out.deleted:
        runtime.store.update(dataflow_key(request.tenantId, request.resourcePath), {"dataset_purged_at": now_s()})
    return out


# ---- per tenant ---------------------------------------------------------------------------------------


class BaseConnectionDeleted(StepOutput):
    tenantId: str
    deleted: list[str]


def delete_base_connection(request: TenantStep, runtime: Runtime) -> BaseConnectionDeleted:
    """Delete the tenant's base connection: ``DELETE /connections/{id}`` (deleteConnection), after every
    source connection is gone (Adobe answers 400 ``FLOW-1418-400``, ``ConflictError``, while one uses it).

    Also deletes a temporary key-rotation check connection a crashed rotation left behind. Out: ``{tenantId,
    deleted}``. Raises ``TenantNotFoundError``.
    """
    tenant = load_tenant(runtime, request.tenantId)
    sandbox = sandbox_of(runtime, request.tenantId, tenant)
    client = runtime.platform(sandbox)
    remove_rotation_check(runtime, client, request.tenantId)
    deleted = delete_recorded(runtime.store, client, BASE_CONNECTION, Ref(sandbox, request.tenantId))
    return BaseConnectionDeleted(tenantId=request.tenantId, deleted=deleted)


class CompleteDeprovisioningStep(TenantStep):
    """``{tenantId, purge}``."""

    purge: bool = False


class DeprovisioningComplete(StepOutput):
    tenantId: str
    status: str


def complete_deprovisioning(request: CompleteDeprovisioningStep, runtime: Runtime) -> DeprovisioningComplete:
    """Mark the tenant and its dataflow items DEPROVISIONED with ``deprovisioned_at`` (epoch seconds).

    Items are kept (they still hold the kept dataset's ID and the mapping set's), out of the health-check
    index, their health verdict removed (``HEALTH_ATTRIBUTES``: nothing is monitored any more). An item already
    DEPROVISIONED keeps its first ``deprovisioned_at``: deprovisioning twice changes nothing.
    Out: ``{tenantId, status: "DEPROVISIONED"}``. Raises ``TenantNotFoundError``.
    """
    tenant, dataflows = runtime.store.tenant_items(request.tenantId)
    if tenant is None:
        raise TenantNotFoundError(f"tenant {request.tenantId} is unknown: no tenant item in DynamoDB")
    now = now_s()
    for item in dataflows:
        if item.get("status") != DEPROVISIONED:
            key = dataflow_key(request.tenantId, str(item["resource_path"]))
            runtime.store.set_status(key, DEPROVISIONED, deprovisioned_at=now)
            runtime.store.update(key, remove=HEALTH_ATTRIBUTES)
    if tenant.get("status") != DEPROVISIONED:
        runtime.store.set_status(
            tenant_key(request.tenantId), DEPROVISIONED, deprovisioned_at=now, purged=request.purge
        )
        emit_metric("TenantDeprovisioned", 1)
    elif request.purge and not tenant.get("purged"):
        runtime.store.update(tenant_key(request.tenantId), {"purged": True})
    return DeprovisioningComplete(tenantId=request.tenantId, status=DEPROVISIONED)


__all__ = [
    "complete_deprovisioning",
    "delete_base_connection",
    "delete_dataflow",
    "delete_source_connection",
    "delete_target_connection",
    "plan_deprovisioning",
    "purge_dataset",
]
