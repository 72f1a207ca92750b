"""The deprovisioning steps: one function per Lambda of ``statemachine/deprovision.asl.json``.

Order (EN help/sources/tutorials/api/delete.md; Adobe refuses to delete a connection still in use, 400
``FLOW-1418-400``): per resource path the dataflow (``DELETE /flows/{id}``), then the target connection, then
the source connection, then (``purge: true`` only) the dataset; after every path, the base connection.

What is kept: datasets by default (the ingested data is not destroyed), mapping sets (the client has no delete
for them; a later provisioning reuses them), and the sandbox's XDM schemas and field groups, which all tenants
of the sandbox share: deprovisioning never deletes them. DynamoDB items are not erased: they are marked
DEPROVISIONED with ``deprovisioned_at`` (epoch seconds) and leave the health-check index.

Every delete is safe to repeat: an object whose ID DynamoDB does not hold is skipped (no Adobe call); an
unfinished create (``<kind>_intent`` without ``<kind>_id``, left by a provisioning that failed half-way) is
looked up by its deterministic name and deleted if found; a 404 counts as already deleted. Deprovisioning
twice makes no Adobe call the second time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from stripe_aep.aep import NotFoundError, PlatformClient
from stripe_aep.errors import TenantNotFoundError
from stripe_aep.metrics import emit_metric
from stripe_aep.runtime import Runtime
from stripe_aep.steps.common import RawInput, TenantStep
from stripe_aep.steps.lifecycle import load_tenant, remove_rotation_check, sandbox_of
from stripe_aep.store import (
    DEPROVISIONED,
    DEPROVISIONING,
    HEALTH_ATTRIBUTES,
    ItemKey,
    dataflow_key,
    has_intent,
    tenant_key,
)
from stripe_aep.tenants import (
    DeprovisionInput,
    ResourcePath,
    base_connection_name,
    dataflow_name,
    dataset_name,
    now_s,
    parse_input,
    source_connection_name,
    target_connection_name,
)

#: How many objects of one deterministic name an unfinished intent may have left (Adobe names are not unique).
MAX_NAMESAKES = 10


def delete_recorded(
    runtime: Runtime,
    key: ItemKey,
    kind: str,
    delete: Callable[[str], None],
    find: Callable[[], str | None],
    extra: tuple[str, ...] = (),
) -> list[str]:
    """Delete the ``kind`` object the item at ``key`` records; return the IDs deleted (or found gone).

    - ``<kind>_id`` held: ``delete(id)``; ``NotFoundError`` (404) counts as deleted.
    - only ``<kind>_intent`` held (a create may have reached Adobe): ``find()`` by deterministic name, delete
      what it finds, and look again (at most ``MAX_NAMESAKES`` times).
    - neither: nothing is called.
    Then the ID, etag and intent (and ``extra`` attributes) are removed from the item. Other Adobe errors
    (``ConflictError`` while in use...) propagate and leave the item as it was, so a re-run tries again.
    """
    item = runtime.store.get(key) or {}
    deleted: list[str] = []
    if item.get(f"{kind}_id"):
        object_id = str(item[f"{kind}_id"])
        with contextlib.suppress(NotFoundError):
            delete(object_id)
        deleted.append(object_id)
    elif has_intent(item, kind):
        for _ in range(MAX_NAMESAKES):
            found = find()
            if found is None or found in deleted:
                break
            with contextlib.suppress(NotFoundError):
                delete(found)
            deleted.append(found)
    else:
        return deleted
    runtime.store.forget_object(key, kind, extra)
    return deleted


def _id_of(obj: Any) -> str | None:
    return str(obj.id) if obj is not None else None


# ---- PlanDeprovisioning -------------------------------------------------------------------------------


def plan_deprovisioning(request: RawInput, runtime: Runtime) -> dict[str, Any]:
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
    return {"tenantId": data.tenantId, "purge": data.purge, "resourcePaths": paths}


# ---- per resource path --------------------------------------------------------------------------------


class DeprovisionPathStep(TenantStep):
    """``{tenantId, resourcePath}`` (``purge`` of the Map item is ignored here)."""

    resourcePath: ResourcePath


def _path_context(runtime: Runtime, request: DeprovisionPathStep) -> tuple[ItemKey, PlatformClient]:
    key = dataflow_key(request.tenantId, request.resourcePath)
    item = runtime.store.get(key)
    if item is None:
        load_tenant(runtime, request.tenantId)  # TenantNotFoundError for an unknown tenant
    return key, runtime.platform(sandbox_of(runtime, request.tenantId, item))


def delete_dataflow(request: DeprovisionPathStep, runtime: Runtime) -> dict[str, Any]:
    """Delete the path's dataflow: ``DELETE /flows/{id}`` (deleteByFlow) -> 204; its runs go with it.

    Out: ``{resourcePath, deleted: [flow ids]}`` (empty when nothing was recorded). Raises
    ``TenantNotFoundError`` and Adobe's errors other than 404.
    """
    key, client = _path_context(runtime, request)
    name = dataflow_name(request.tenantId, request.resourcePath)
    deleted = delete_recorded(
        runtime,
        key,
        "flow",
        client.delete_flow,
        lambda: _id_of(client.find_flow(name)),
        extra=("flow_state", "flow_state_changed_at"),
    )
    return {"resourcePath": request.resourcePath, "deleted": deleted}


def delete_target_connection(request: DeprovisionPathStep, runtime: Runtime) -> dict[str, Any]:
    """Delete the path's target connection: ``DELETE /targetConnections/{id}`` (deleteTargetConnection).

    Out: ``{resourcePath, deleted}``. Raises ``ConflictError`` while a flow still uses it.
    """
    key, client = _path_context(runtime, request)
    name = target_connection_name(request.tenantId, request.resourcePath)
    deleted = delete_recorded(
        runtime,
        key,
        "target_connection",
        client.delete_target_connection,
        lambda: _id_of(client.find_target_connection(name)),
    )
    return {"resourcePath": request.resourcePath, "deleted": deleted}


def delete_source_connection(request: DeprovisionPathStep, runtime: Runtime) -> dict[str, Any]:
    """Delete the path's source connection: ``DELETE /sourceConnections/{id}`` (deleteSourceConnection).

    Out: ``{resourcePath, deleted}``. Raises ``ConflictError`` while a flow still uses it.
    """
    key, client = _path_context(runtime, request)
    name = source_connection_name(request.tenantId, request.resourcePath)
    deleted = delete_recorded(
        runtime,
        key,
        "source_connection",
        client.delete_source_connection,
        lambda: _id_of(client.find_source_connection(name)),
    )
    return {"resourcePath": request.resourcePath, "deleted": deleted}


def purge_dataset(request: DeprovisionPathStep, runtime: Runtime) -> dict[str, Any]:
    """Delete the path's dataset and the data ingested into it: Catalog ``DELETE /dataSets/{id}``
    (deleteDataset). Runs only when the input asked ``purge: true``.

    The XDM schema (shared by the sandbox's tenants) is kept. Records ``dataset_purged_at`` (epoch seconds).
    Out: ``{resourcePath, deleted}``.
    """
    key, client = _path_context(runtime, request)
    name = dataset_name(request.tenantId, request.resourcePath)
    deleted = delete_recorded(runtime, key, "dataset", client.delete_dataset, lambda: _id_of(client.find_dataset(name)))
    if deleted:
        runtime.store.update(key, {"dataset_purged_at": now_s()})
    return {"resourcePath": request.resourcePath, "deleted": deleted}


# ---- per tenant ---------------------------------------------------------------------------------------


def delete_base_connection(request: TenantStep, runtime: Runtime) -> dict[str, Any]:
    """Delete the tenant's base connection: ``DELETE /connections/{id}`` (deleteConnection), after every
    source connection is gone (Adobe answers 400 ``FLOW-1418-400``, ``ConflictError``, while one uses it).

    Also deletes a temporary key-rotation check connection a crashed rotation left behind. Out: ``{tenantId,
    deleted}``. Raises ``TenantNotFoundError``.
    """
    tenant = load_tenant(runtime, request.tenantId)
    client = runtime.platform(sandbox_of(runtime, request.tenantId, tenant))
    remove_rotation_check(runtime, client, request.tenantId)
    name = base_connection_name(request.tenantId)
    deleted = delete_recorded(
        runtime,
        tenant_key(request.tenantId),
        "base_connection",
        client.delete_base_connection,
        lambda: _id_of(client.find_base_connection(name)),
    )
    return {"tenantId": request.tenantId, "deleted": deleted}


class CompleteDeprovisioningStep(TenantStep):
    """``{tenantId, purge}``."""

    purge: bool = False


def complete_deprovisioning(request: CompleteDeprovisioningStep, runtime: Runtime) -> dict[str, Any]:
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
    return {"tenantId": request.tenantId, "status": DEPROVISIONED}


__all__ = [
    "complete_deprovisioning",
    "delete_base_connection",
    "delete_dataflow",
    "delete_recorded",
    "delete_source_connection",
    "delete_target_connection",
    "plan_deprovisioning",
    "purge_dataset",
]
