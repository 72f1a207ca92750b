"""Upgrade a provisioned (tenant, resource path) to the current table version, and change its field selection.

Per (sandbox, path), once: the sandbox's field group gets the table's new fields with Schema Registry ``PATCH
/tenant/fieldgroups/{altId}`` (operationId ``patchFieldGroup``; JSON Patch ``add`` of each missing field and
``replace /description``). The difference between the field group AEP holds (``retrieveFieldGroup``) and the
current table is checked first (``stripe_aep.evolution``): a breaking difference raises ``BreakingChangeError``
and nothing is written (AEP would refuse it: "Basics of schema composition", schema evolution). The schema
``$ref``s the field group, so it holds the new fields without a call of its own.

Per (tenant, path): a new version of the tenant's mapping set (Data Prep ``PUT /mappingSets/{id}``,
``putMappingSet``), validated (``validateMappingSet``, once per sandbox and body) and run on sample rows first
(``previewMappingSet``) as provisioning does (``catalogue.validate_mapping`` with ``check_mapping_on_samples``),
then the flow pointed at it (Flow Service ``PATCH /flows/{id}`` with ``If-Match``: ``replace
/transformations/<i>/params/mappingVersion``).

DynamoDB records the progress, so a re-run after any failure repeats nothing and a finished upgrade re-run
makes no Adobe call at all: the schema item holds ``field_group_table_version``/``schema_table_version`` and
the field group's Schema Registry ``field_group_version``; the dataflow item holds ``table_version``,
``mapping_set_version``, ``mapping_digest`` (of the mapping set body last written) and
``flow_mapping_version`` (the version the flow runs). An item without them was provisioned at table version 1.
A mapping set version written by a run that crashed before recording it is recognised (``retrieveMappingSet``
shows the same mappings) and not written twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stripe_aep import names, selection
from stripe_aep.aep import AepValidationError, PatchOperation, PlatformClient
from stripe_aep.catalogue import Ref, validate_mapping
from stripe_aep.errors import InputValidationError, MappingRejectedError, TenantNotFoundError
from stripe_aep.evolution import compare, field_group_snapshot, require_additive
from stripe_aep.resources import get_resource
from stripe_aep.runtime import Runtime
from stripe_aep.steps.common import StepOutput, TenantStep, load_tenant, sandbox_of
from stripe_aep.steps.mapping_check import check_mapping_on_samples, mapping_digest
from stripe_aep.steps.provision import xdm_tenant_id
from stripe_aep.store import dataflow_key, record_class_key, schema_key
from stripe_aep.tenants import ResourcePath

__all__ = ["upgrade_dataflow", "upgrade_field_group", "upgrade_mapping"]

#: The table version of a sandbox or dataflow provisioned before versions were recorded.
FIRST_VERSION = 1


class UpgradeStep(TenantStep):
    """In: ``{tenantId, resourcePath, sandbox (optional: the tenant's), dryRun, fields (optional: ``{path:
    {include|exclude: [...]}}``, this path's entry applies), executionName}``."""

    resourcePath: ResourcePath
    sandbox: str = ""
    dryRun: bool = False
    fields: dict[str, Any] | None = None


class DataflowUpgraded(StepOutput):
    """``writes``: the operationIds of the Adobe writes made; ``planned``: with ``dryRun``, what they would be."""

    resourcePath: str
    fromVersion: int
    toVersion: int
    mappingSetId: str
    mappingSetVersion: int
    writes: list[str]
    planned: list[str]


def upgrade_dataflow(request: UpgradeStep, runtime: Runtime) -> DataflowUpgraded:
    """Bring one (tenant, path) to the current table version (and, with ``fields``, a new field selection).

    Out: ``{resourcePath, fromVersion, toVersion, mappingSetId, mappingSetVersion, writes: [operationId...],
    planned: [text...]}`` (``writes``: the Adobe writes made; with ``dryRun`` none, ``planned`` says what they
    would be). Raises ``BreakingChangeError``, ``MappingRejectedError``, ``InputValidationError`` (a bad
    selection: before any Adobe call; or a new selection whose mapping Adobe refused before any write),
    ``TenantNotFoundError``.
    """
    given = (request.fields or {}).get(request.resourcePath)
    chosen = selection.check_selection(request.resourcePath, given) if given else None
    item = runtime.store.get(dataflow_key(request.tenantId, request.resourcePath))
    if not item or not item.get("mapping_set_id") or not item.get("flow_id"):
        raise TenantNotFoundError(f"tenant {request.tenantId} has no provisioned dataflow for {request.resourcePath}")
    writes: list[str] = []
    planned: list[str] = []
    if not request.sandbox:
        request = request.model_copy(update={"sandbox": sandbox_of(runtime, request.tenantId)})
    client = runtime.platform(request.sandbox)
    upgrade_field_group(
        runtime, client, request.sandbox, request.resourcePath, request.dryRun, writes, planned, request.executionName
    )
    version = upgrade_mapping(runtime, client, request, item, writes, planned, chosen)
    return DataflowUpgraded(
        resourcePath=request.resourcePath,
        fromVersion=int(item.get("table_version", FIRST_VERSION)),
        toVersion=get_resource(request.resourcePath).table_version,
        mappingSetId=item["mapping_set_id"],
        mappingSetVersion=version,
        writes=writes,
        planned=planned,
    )


def _class_id(runtime: Runtime, sandbox: str, resource_path: str) -> str | None:
    if not get_resource(resource_path).needs_custom_class:
        return None
    return str((runtime.store.get(record_class_key(sandbox)) or {}).get("class_id") or "") or None


def upgrade_field_group(
    runtime: Runtime,
    client: PlatformClient,
    sandbox: str,
    resource_path: str,
    dry_run: bool,
    writes: list[str],
    planned: list[str],
    owner: str = "",
) -> None:
    """Add the current table's new fields to the sandbox's field group of ``resource_path`` (once per sandbox
    and table version; see the module docstring). Raises ``BreakingChangeError`` naming each field and rule.

    Tenants of a sandbox upgraded at once: the first claims the upgrade on the schema item (an intent lease
    under ``owner``, its execution name); the others get ``ConcurrentModificationError`` (retried by the state
    machine) until it has recorded the new version, then skip the PATCH."""
    resource = get_resource(resource_path)
    key = schema_key(sandbox, resource_path)
    item = runtime.store.get(key) or {}
    target = resource.table_version
    if int(item.get("field_group_table_version", FIRST_VERSION)) >= target:
        return
    alt_id = item.get("field_group_alt_id")
    if not alt_id:
        raise TenantNotFoundError(f"sandbox {sandbox} has no field group recorded for {resource_path}")
    if not dry_run:
        runtime.store.claim_intent(key, f"field_group_v{target}", owner or "upgrade")
    stored = client.get_field_group(str(alt_id))
    tenant = xdm_tenant_id(runtime, sandbox)
    body = resource.field_group_body(tenant, _class_id(runtime, sandbox, resource_path))
    old_fields, old_required = field_group_snapshot(stored, resource.group)
    new_fields, new_required = field_group_snapshot(body, resource.group)
    old = {"fields": old_fields, "required": old_required}
    changes = require_additive(compare(resource_path, old, {"fields": new_fields, "required": new_required}))
    ops = _additive_ops(stored, body, resource.group)
    if stored.get("description") != body["description"]:
        ops.append({"op": "replace", "path": "/description", "value": body["description"]})
    added = [c.field for c in changes if c.rule == "added"]
    if dry_run:
        planned.append(f"patchFieldGroup {resource.field_group_title}: add {added or 'nothing'}")
        return
    attrs: dict[str, Any] = {"field_group_table_version": target, "schema_table_version": target}
    if ops:
        patched = client.patch_field_group(str(alt_id), ops)
        writes.append("patchFieldGroup")
        attrs["field_group_version"] = patched.version
    runtime.store.update(key, attrs)


def _additive_ops(stored: Mapping[str, Any], body: Mapping[str, Any], group: str) -> list[dict[str, Any]]:
    """JSON Patch ``add`` operations that give ``stored`` (a field group AEP holds) every field of ``body``: one
    per top-most missing node, with its JSON pointer (``/definitions/<group>/properties/_<tenant>/...``)."""
    ops: list[dict[str, Any]] = []

    def walk(have: Mapping[str, Any], want: Mapping[str, Any], pointer: str) -> None:
        for name, spec in want.items():
            here = f"{pointer}/{name.replace('~', '~0').replace('/', '~1')}"
            if name not in have:
                ops.append({"op": "add", "path": here, "value": spec})
                continue
            old = have[name]
            if isinstance(spec, Mapping) and isinstance(old, Mapping):
                if isinstance(spec.get("properties"), Mapping) and isinstance(old.get("properties"), Mapping):
                    walk(old["properties"], spec["properties"], f"{here}/properties")
                items, old_items = spec.get("items") or {}, old.get("items") or {}
                if _has_properties(items) and _has_properties(old_items):
                    walk(old_items["properties"], items["properties"], f"{here}/items/properties")

    definitions = body.get("definitions") or {}
    stored_definitions = stored.get("definitions") or {}
    walk(stored_definitions, {group: definitions[group]}, "/definitions")
    return ops


def _has_properties(spec: Any) -> bool:
    return isinstance(spec, Mapping) and isinstance(spec.get("properties"), Mapping)


def _same_mappings(stored: Mapping[str, Any], body: Mapping[str, Any]) -> bool:
    def key(mappings: Any) -> list[tuple[str, str, str]]:
        return sorted(
            (str(m.get("sourceType", "ATTRIBUTE")), str(m.get("source")), str(m.get("destination")))
            for m in mappings or []
            if isinstance(m, Mapping)
        )

    return key(stored.get("mappings")) == key(body.get("mappings"))


def upgrade_mapping(
    runtime: Runtime,
    client: PlatformClient,
    request: UpgradeStep,
    item: Mapping[str, Any],
    writes: list[str],
    planned: list[str],
    chosen: Mapping[str, Any] | None = None,
) -> int:
    """Write the tenant's mapping set version for the current table and selection, and point the flow at it.
    Returns the mapping set version the flow runs (see the module docstring).

    ``chosen``: a new field selection (``update_fields``), stored on the dataflow item (``field_selection``)
    only together with the mapping set version that applies it; otherwise the stored selection applies. When
    Adobe refuses its mapping (``validateMappingSet`` 4xx, or errors on sample rows) before any write of the
    step, raises ``InputValidationError`` (a refusal: the handler and RecordFailure record nothing)."""
    key = dataflow_key(request.tenantId, request.resourcePath)
    item = runtime.store.get(key) or dict(item)
    selected = dict(chosen) if chosen is not None else item.get("field_selection")
    resource = get_resource(request.resourcePath)
    schema_id = str(
        item.get("schema_id")
        or (runtime.store.get(schema_key(request.sandbox, request.resourcePath)) or {}).get("schema_id")
    )
    body = {
        **selection.mapping_set_body(resource, xdm_tenant_id(runtime, request.sandbox), schema_id, selected),
        "name": names.mapping_set_name(request.tenantId, request.resourcePath),
    }
    digest = mapping_digest(body)
    mapping_set_id = str(item["mapping_set_id"])
    version = int(item.get("mapping_set_version", 0))
    if item.get("mapping_digest") != digest:
        current = client.get_mapping_set_body(mapping_set_id)
        if _same_mappings(current, body):
            version = int(current.get("version", version))
        elif request.dryRun:
            planned.append(f"putMappingSet {mapping_set_id}: version {int(current.get('version', 0)) + 1}")
            planned.append(f"patchFlow {item['flow_id']}: mappingVersion -> {int(current.get('version', 0)) + 1}")
            return version
        else:
            tenant = load_tenant(runtime, request.tenantId)

            def check_on_samples(named: Mapping[str, Any]) -> None:
                if tenant.get("base_connection_id"):
                    check_mapping_on_samples(
                        runtime,
                        client,
                        sandbox=request.sandbox,
                        resource_path=request.resourcePath,
                        base_connection_id=str(tenant["base_connection_id"]),
                        body=named,
                    )

            given = {
                "xdm_tenant_id": xdm_tenant_id(runtime, request.sandbox),
                "schema_id": schema_id,
                "check_on_samples": check_on_samples,
                "field_selection": selected,
            }
            ref = Ref(request.sandbox, request.tenantId, request.resourcePath)
            try:
                validate_mapping(runtime.store, client, ref, given)  # once per sandbox and body, then sample rows
            except (MappingRejectedError, AepValidationError) as exc:
                if chosen is None or writes:
                    raise
                # Adobe refused a new selection's mapping before this step wrote anything: a refusal (nothing
                # recorded: the selection is stored only with the mapping set version that applies it).
                raise InputValidationError(
                    f"fields: {request.resourcePath}: Adobe refused the mapping of this selection, nothing "
                    f"changed: {exc}"
                ) from None
            version = client.put_mapping_set(mapping_set_id, body).version
            writes.append("putMappingSet")
        if not request.dryRun:
            recorded: dict[str, Any] = {"mapping_set_version": version, "mapping_digest": digest}
            if chosen is not None:
                recorded["field_selection"] = selected
            runtime.store.update(key, recorded)
    elif chosen is not None and item.get("field_selection") != selected and not request.dryRun:
        runtime.store.update(key, {"field_selection": selected})  # the same mappings: nothing to write in AEP
    _point_flow(runtime, client, request, item, version, writes, planned)
    return version


def _point_flow(
    runtime: Runtime,
    client: PlatformClient,
    request: UpgradeStep,
    item: Mapping[str, Any],
    version: int,
    writes: list[str],
    planned: list[str],
) -> None:
    """Point the dataflow's Mapping transformation at mapping set ``version`` (``PATCH /flows/{id}`` with
    If-Match, patchFlow; a dry run plans it) and record the version and table version the flow now runs.
    Raises ``InputValidationError`` for a flow without a Mapping transformation."""
    key = dataflow_key(request.tenantId, request.resourcePath)
    resource = get_resource(request.resourcePath)
    if item.get("flow_mapping_version") is not None and int(item["flow_mapping_version"]) == version:
        if int(item.get("table_version", FIRST_VERSION)) < resource.table_version and not request.dryRun:
            runtime.store.update(key, {"table_version": resource.table_version})
        return
    flow = client.get_flow(str(item["flow_id"]))
    index = next(
        (i for i, t in enumerate(flow.transformations) if isinstance(t, dict) and t.get("name") == "Mapping"), None
    )
    if index is None:
        raise InputValidationError(f"flow {flow.id} has no Mapping transformation to upgrade")
    running = flow.transformations[index].get("params", {}).get("mappingVersion")
    if running is None or int(running) != version:
        if request.dryRun:
            planned.append(f"patchFlow {flow.id}: mappingVersion {running} -> {version}")
            return
        op = PatchOperation(op="replace", path=f"/transformations/{index}/params/mappingVersion", value=version)
        patched = client.patch_flow(flow.id, str(flow.etag), [op])
        writes.append("patchFlow")
        runtime.store.update(key, {"flow_etag": patched.etag})
    if not request.dryRun:
        runtime.store.update(key, {"flow_mapping_version": version, "table_version": resource.table_version})
