"""The sequential baseline: the Adobe calls a provisioning made, replayed one after another with
``PlatformClient`` (no Step Functions, no DynamoDB, no parallelism) against the same simulator and latency.

``replay(client, calls, ...)`` makes, for each operationId in ``calls`` (a Counter read from the simulator's
``calls`` after the state machine's run), that many calls: first the happy-path chain in dependency order
with real ids, ending with each dataflow's first run, then any extra calls the state machine made (lookups
after a lost race, repeated creates, which may answer 409: the call is what is being timed).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from stripe_aep.aep import AepError, PlatformClient, Schedule
from stripe_aep.resources import RECORD_CLASS_TITLE, get_resource, record_class_body
from stripe_aep.steps.mapping_check import SAMPLE_ROWS
from stripe_aep.tenants import (
    base_connection_name,
    dataflow_name,
    dataset_name,
    source_connection_name,
    target_connection_name,
)


@dataclass
class _Context:
    tenant_id: str
    paths: Sequence[str]
    stripe_key: SecretStr
    xdm_tenant: str = ""
    base_id: str = ""
    class_id: str | None = None
    ids: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, path) -> id
    versions: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ReplayResult:
    """``wall_s``: seconds for all calls; ``made``: calls per operationId; ``not_replayed``: calls it could
    not make (an operation it has no replay for)."""

    wall_s: float
    made: Counter[str]
    not_replayed: Counter[str]


def _mapping_name(tenant_id: str, path: str) -> str:
    return f"stripe_aep_{tenant_id.replace('-', '_')}_{path}"


def replay(
    client: PlatformClient,
    calls: Counter[str],
    *,
    tenant_id: str,
    resource_paths: Sequence[str],
    stripe_key: SecretStr,
    existing_schemas: dict[str, str] | None = None,
    xdm_tenant: str | None = None,
) -> ReplayResult:
    """Make ``calls`` one after another (see the module docstring); returns the wall time in seconds.

    ``existing_schemas`` (path -> XDM schema ``$id``) and ``xdm_tenant`` stand for the sandbox's shared
    objects when ``calls`` holds no ``createSchema``/``retrieveStats`` (a sandbox that already had them).
    ``imsToken`` calls are not made on purpose: the client fetches its token on its first call (clear the
    token cache first for a cold one). Raises the client's ``AepError`` when a happy-path call fails.
    """
    ctx = _Context(tenant_id, list(resource_paths), stripe_key, xdm_tenant or "")
    for path, schema_id in (existing_schemas or {}).items():
        ctx.ids[("schema", path)] = schema_id
    left = Counter({op: n for op, n in calls.items() if op != "imsToken"})
    made: Counter[str] = Counter()
    schedule = Schedule(start_time=int(time.time()) + 3600, frequency="hour", interval=1)

    def call(op: str, fn: Callable[..., Any], *args: Any, required: bool = True, **kwargs: Any) -> Any:
        if left[op] <= 0:
            return None
        left[op] -= 1
        made[op] += 1
        try:
            return fn(*args, **kwargs)
        except AepError:
            if required:
                raise
            return None

    began = time.perf_counter()
    created = call("createConnection", client.create_base_connection, base_connection_name(tenant_id), stripe_key)
    ctx.base_id = created.id if created else ""
    for p in ctx.paths:
        call("getByConnectionId", client.explore, ctx.base_id, p, preview=False)
    for p in ctx.paths:
        name = source_connection_name(tenant_id, p)
        got = call("createSourceConnection", client.create_source_connection, name, ctx.base_id, p)
        if got:
            ctx.ids[("source", p)] = got.id
    stats = call("retrieveStats", client.get_tenant_id)
    ctx.xdm_tenant = stats or ctx.xdm_tenant
    cls = call("createClass", client.create_class, record_class_body())
    ctx.class_id = cls.id if cls else None
    for p in ctx.paths:
        resource = get_resource(p)
        class_id = ctx.class_id if resource.needs_custom_class else None
        if left["createFieldGroup"] <= 0:  # a warm sandbox: its field groups and schemas exist
            continue
        group = call("createFieldGroup", client.create_field_group, resource.field_group_body(ctx.xdm_tenant, class_id))
        if group:
            schema = call("createSchema", client.create_schema, resource.schema_body(group.id, class_id=class_id))
            if schema:
                ctx.ids[("schema", p)] = schema.id
    for p in ctx.paths:
        schema_id = ctx.ids[("schema", p)]
        dataset = call("createDataset", client.create_dataset, dataset_name(tenant_id, p), schema_id)
        if dataset:
            name = target_connection_name(tenant_id, p)
            target = call("createTargetConnection", client.create_target_connection, name, schema_id, dataset)
            if target:
                ctx.ids[("target", p)] = target.id
        body = {
            **get_resource(p).mapping_set_body(ctx.xdm_tenant, schema_id),
            "name": _mapping_name(tenant_id, p),
        }
        call("validateMappingSet", client.validate_mapping_set, body)
        if left["previewMappingSet"] > 0:  # the mapping's first check on sample rows in the sandbox
            sample = call("getByConnectionId", client.explore, ctx.base_id, p, preview=True)
            rows = [r for r in (sample.data if sample else []) if isinstance(r, dict)][:SAMPLE_ROWS]
            if rows:
                call("previewMappingSet", client.preview_mapping_set, body, rows)
        mapping = call("createMappingSet", client.create_mapping_set, body)
        if mapping:
            ctx.ids[("mapping", p)] = mapping.id
            ctx.versions[p] = mapping.version
    for p in ctx.paths:
        if ("mapping", p) in ctx.ids and ("source", p) in ctx.ids and ("target", p) in ctx.ids:
            flow = call(
                "createFlow",
                client.create_flow,
                dataflow_name(tenant_id, p),
                ctx.ids[("source", p)],
                ctx.ids[("target", p)],
                ctx.ids[("mapping", p)],
                ctx.versions[p],
                schedule,
            )
            if flow:
                ctx.ids[("flow", p)] = flow.id
    # The first runs (StartFirstRun): one createFlowRun per dataflow, over the last hour (epoch s).
    end = int(time.time())
    for p in ctx.paths:
        if ("flow", p) in ctx.ids:
            call("createFlowRun", client.create_flow_run, ctx.ids[("flow", p)], end - 3600, end, required=False)
    # Extra calls the state machine made beyond the happy path (a lost race, a lookup after an intent).
    p0 = ctx.paths[0]
    extras: dict[str, Callable[[], Any]] = {
        "createClass": lambda: client.create_class(record_class_body()),
        "listClasses": lambda: client.find_class(RECORD_CLASS_TITLE),
        "listFieldGroups": lambda: client.find_field_group(get_resource(p0).field_group_title),
        "listSchemas": lambda: client.find_schema(get_resource(p0).schema_title),
        "createFieldGroup": lambda: client.create_field_group(
            get_resource(p0).field_group_body(ctx.xdm_tenant, ctx.class_id)
        ),
        "listConnections": lambda: client.find_base_connection(base_connection_name(tenant_id)),
        "getSourceConnections": lambda: client.find_source_connection(source_connection_name(tenant_id, p0)),
        "getTargetConnections": lambda: client.find_target_connection(target_connection_name(tenant_id, p0)),
        "listDatasets": lambda: client.find_dataset(dataset_name(tenant_id, p0)),
        "listMappingSets": lambda: client.find_mapping_set(_mapping_name(tenant_id, p0)),
        "listFlows": lambda: client.find_flow(dataflow_name(tenant_id, p0)),
        "retrieveStats": client.get_tenant_id,
        "getByConnectionId": lambda: client.explore(ctx.base_id, p0, preview=False),
        "retrieveFlow": lambda: client.get_flow(ctx.ids.get(("flow", p0), "unknown")),
    }
    for op, fn in extras.items():
        while left[op] > 0:
            call(op, fn, required=False)
    wall = time.perf_counter() - began
    return ReplayResult(wall, made, +left)
