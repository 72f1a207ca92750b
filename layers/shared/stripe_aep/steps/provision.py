"""The provisioning steps: one function per Lambda of ``statemachine/provision.asl.json``.

The chain is the Stripe source tutorial's (docs/stripe-source-flow-service-api.txt): base connection -> explore
-> source connection | (XDM field group + schema -> dataset -> target connection) -> mapping set -> dataflow.
Every create goes through ``ensure`` over its kind's declaration (idempotent; see ``stripe_aep.catalogue``), so
re-running an execution, or a step, creates nothing twice; the tenant's own objects already recorded are
converged (``converge``: re-created when gone, namesake orphans removed, a flow's state, schedule and mapping
put back), so provisioning an existing tenant repairs what drifted.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger

from stripe_aep import selection
from stripe_aep.budget import priority
from stripe_aep.catalogue import (
    BASE_CONNECTION,
    DATASET,
    FIELD_GROUP,
    FLOW,
    KINDS,
    MAPPING_SET,
    RECORD_CLASS,
    SCHEMA,
    SOURCE_CONNECTION,
    TARGET_CONNECTION,
    Given,
    Kind,
    Ref,
    converge,
    ensure,
    validate_mapping,
)
from stripe_aep.errors import REFUSALS, ConcurrentModificationError, InputValidationError
from stripe_aep.metrics import emit_metric
from stripe_aep.resources import RESOURCE_PATHS, get_resource
from stripe_aep.runtime import Runtime
from stripe_aep.schedule import Schedule
from stripe_aep.steps.common import (
    PathStep,
    RawInput,
    SandboxStep,
    StepInput,
    StepOutput,
    explore_or_reject,
)
from stripe_aep.steps.mapping_check import check_mapping_on_samples, mapping_digest
from stripe_aep.store import (
    ACTIVE,
    DISABLED,
    FAILED,
    INTENT_LEASE_S,
    PROVISIONING,
    dataflow_key,
    sandbox_key,
    tenant_key,
)
from stripe_aep.tenants import (
    ProvisionInput,
    ScheduleInput,
    TenantId,
    now_s,
    parse_input,
    validate_tenant_id,
)

logger = Logger()


class ProvisionRequest(StepOutput):
    """ValidateInput's answer (``$.request``): the validated provision input with its defaults applied."""

    tenantId: str
    sandbox: str
    resourcePaths: list[str]
    schedule: Schedule


def validate_input(request: RawInput, runtime: Runtime) -> ProvisionRequest:
    """Validate a provision input, apply the defaults, and record the tenant as PROVISIONING.

    In: ``{"input": <console input or event detail>, "executionName"}``. Out: ``{tenantId, sandbox,
    resourcePaths, schedule{frequency, interval, startTime (epoch seconds)}}``. Makes no Adobe call.
    Raises ``InputValidationError`` naming the field (tenant id pattern, sandbox, resource paths, schedule,
    each unknown or required field of a ``fields`` selection: ``stripe_aep.selection.check_selection``).
    """
    data = parse_input(ProvisionInput, request.input)
    settings = runtime.settings
    sandbox = data.sandbox or settings.default_sandbox
    paths = list(data.resourcePaths or RESOURCE_PATHS)
    selections = {
        path: selection.check_selection(path, chosen.model_dump(exclude_none=True))
        for path, chosen in (data.fields or {}).items()
    }
    unrequested = [p for p in selections if p not in paths]
    if unrequested:
        raise InputValidationError(f"invalid ProvisionInput: fields: {', '.join(unrequested)} not in resourcePaths")
    requested = data.schedule or ScheduleInput(
        frequency=settings.default_schedule_frequency,
        interval=None if settings.default_schedule_frequency == "once" else settings.default_schedule_interval,
    )
    schedule = requested.schedule
    runtime.store.begin_provisioning(
        data.tenantId, sandbox, paths, schedule.model_dump(by_alias=True), request.executionName
    )
    for path, chosen in selections.items():  # read by CreateMappingSet (stripe_aep.selection)
        runtime.store.update(dataflow_key(data.tenantId, path), {"field_selection": chosen})
    emit_metric("ProvisioningStarted", 1)
    return ProvisionRequest(tenantId=data.tenantId, sandbox=sandbox, resourcePaths=paths, schedule=schedule)


class BaseConnectionOutput(StepOutput):
    baseConnectionId: str


def create_base_connection(request: SandboxStep, runtime: Runtime) -> BaseConnectionOutput:
    """Ensure the tenant's Stripe base connection (Flow Service ``POST /connections``) with its Stripe key.

    The key is read from the tenant's secret only when the connection is created and goes nowhere but the
    request body. Out: ``{baseConnectionId}``. Raises ``TenantSecretNotFoundError`` (no secret) or the client's
    ``AepError``s.
    """
    ref = Ref(request.sandbox, request.tenantId)
    given = {"stripe_key": lambda: runtime.stripe_key(request.tenantId, fresh=True)}
    item = _ensure(runtime, BASE_CONNECTION, ref, request.executionName, given)
    return BaseConnectionOutput(baseConnectionId=item["base_connection_id"])


def _ensure(
    runtime: Runtime, kind: Kind, ref: Ref, owner: str, given: Given | None = None, *, repair: bool = False
) -> dict[str, Any]:
    # The tenant's own objects are converged (a re-provisioning repairs what drifted in AEP); the sandbox's
    # shared XDM resources are only ensured, once another Map iteration creating them is awaited, unless
    # ``repair``: the tenant's path was provisioned before, so what it stands on is checked too (a schema
    # deleted in AEP is re-created, and the path's dataset, target connection, mapping set and flow follow).
    client = runtime.platform(ref.sandbox)
    if repair or not kind.shared:
        return converge(runtime.store, client, kind, ref, owner, given)
    try:
        return ensure(
            runtime.store, client, kind, ref, owner, given, item=await_other_creator(runtime, kind, ref, owner)
        )
    except ConcurrentModificationError:
        # Another Map iteration claimed the intent between this one's read and its claim: await that creator once
        # here, as the state machine's retry would, without the retry's wait (up to 2 s) on the critical path.
        return ensure(
            runtime.store, client, kind, ref, owner, given, item=await_other_creator(runtime, kind, ref, owner)
        )


#: Seconds between DynamoDB reads while another execution (or Map iteration) creates a shared object.
SHARED_WAITS_S = (0.1,) * 30


def await_other_creator(runtime: Runtime, kind: Kind, ref: Ref, owner: str) -> dict[str, Any]:
    """While another Map iteration of the same execution holds a fresh intent on a shared object (the sandbox's
    record class, which several paths need at once), wait for its ID with DynamoDB reads only (``SHARED_WAITS_S``,
    3 s in all) instead of failing at once with ``ConcurrentModificationError`` and looking the object up in
    Adobe on the retry. Another execution's intent is not awaited here (the state machine's retry waits for it,
    without holding a Lambda). Returns when the ID is stored, the intent is gone, expired or not this execution's,
    or the waits are spent (``ensure`` then decides). Returns the item as last read (``ensure`` reuses it)."""
    key, attribute = kind.key(ref), kind.attribute
    execution = owner.split("/", 1)[0]
    item: dict[str, Any] = {}
    for wait in SHARED_WAITS_S:
        item = runtime.store.get(key) or {}
        intent, holder = item.get(f"{attribute}_intent"), str(item.get(f"{attribute}_intent_owner", ""))
        if item.get(f"{attribute}_id") or not intent or holder == owner or holder.split("/", 1)[0] != execution:
            return item
        if float(intent) < now_s() - INTENT_LEASE_S:
            return item
        time.sleep(wait)
    return runtime.store.get(key) or {}


def _path_ref(request: PathStep) -> Ref:
    return Ref(request.sandbox, request.tenantId, request.resourcePath)


class ExploreStep(PathStep):
    baseConnectionId: str


class ExploreOutput(StepOutput):
    resourcePath: str
    fieldCount: int


def explore_resource_path(request: ExploreStep, runtime: Runtime) -> ExploreOutput:
    """Explore the resource path through the base connection (``GET /connections/{id}/explore``, preview off).

    Fails fast before anything else is created for the path. Out: ``{resourcePath, fieldCount}`` (the number
    of Stripe fields Adobe sees under ``data.``). Raises ``StripeSourceRejectedError`` when Stripe rejects the
    key or the path cannot be read (Adobe answers 4xx); throttling and 5xx propagate for the state machine's
    retry.
    """
    client = runtime.platform(request.sandbox)
    field_count = explore_or_reject(client, request.baseConnectionId, request.resourcePath)
    return ExploreOutput(resourcePath=request.resourcePath, fieldCount=field_count)


class SourceConnectionOutput(StepOutput):
    sourceConnectionId: str


def create_source_connection(request: ExploreStep, runtime: Runtime) -> SourceConnectionOutput:
    """Ensure the source connection of the resource path (``POST /sourceConnections``).

    Out: ``{sourceConnectionId}``.
    """
    given = {"base_connection_id": request.baseConnectionId}
    item = _ensure(runtime, SOURCE_CONNECTION, _path_ref(request), request.executionName, given)
    return SourceConnectionOutput(sourceConnectionId=item["source_connection_id"])


def xdm_tenant_id(runtime: Runtime, sandbox: str) -> str:
    """The sandbox's Schema Registry tenant id (``GET /stats``), cached on the sandbox's DynamoDB item."""
    key = sandbox_key(sandbox)
    item = runtime.store.get(key) or {}
    if item.get("xdm_tenant_id"):
        return str(item["xdm_tenant_id"])
    with priority():  # the sandbox's shared XDM objects wait on it (stripe_aep.budget)
        tenant_id = runtime.platform(sandbox).get_tenant_id()
    runtime.store.update(key, {"sandbox": sandbox, "xdm_tenant_id": tenant_id})
    return tenant_id


class TargetSchemaOutput(StepOutput):
    schemaId: str
    schemaAltId: str
    fieldGroupId: str


def ensure_target_schema(request: PathStep, runtime: Runtime) -> TargetSchemaOutput:
    """Ensure the sandbox's XDM field group and schema for the resource path (shared by its tenants).

    Schema Registry ``POST /tenant/fieldgroups`` then ``POST /tenant/schemas`` (and, for record resources, the
    sandbox's custom record class ``POST /tenant/classes`` first); each found by title and reused when the
    sandbox already has it. Out: ``{schemaId ($id), schemaAltId (meta:altId), fieldGroupId}``.
    """
    ref = _path_ref(request)
    given: dict[str, Any] = {"xdm_tenant_id": xdm_tenant_id(runtime, request.sandbox)}
    # A re-provisioning of the path (its dataset recorded) converges the shared XDM objects too; a first one
    # only ensures them (no lookup call: they are the sandbox's, checked when a tenant's path is repaired).
    repair = bool((runtime.store.get(DATASET.key(ref)) or {}).get("dataset_id"))
    if RECORD_CLASS.applies(request.resourcePath):
        # Three Map iterations of one execution may need the class at once: each claims the intent under its
        # own name, so only one creates it and the others retry (ConcurrentModificationError) until it is stored.
        owner = f"{request.executionName}/{request.resourcePath}"
        given["class_id"] = str(_ensure(runtime, RECORD_CLASS, ref, owner, repair=repair)["class_id"])
    recorded = runtime.store.get(FIELD_GROUP.key(ref)) or {}
    group = _ensure(runtime, FIELD_GROUP, ref, request.executionName, given, repair=repair)
    given["field_group_id"] = str(group["field_group_id"])
    item = _ensure(runtime, SCHEMA, ref, request.executionName, given, repair=repair)
    if recorded.get("schema_id") != item.get("schema_id"):  # made (or re-made) from the current table
        version = get_resource(request.resourcePath).table_version  # its version (stripe_aep.steps.upgrade)
        item = runtime.store.update(
            FIELD_GROUP.key(ref), {"field_group_table_version": version, "schema_table_version": version}
        )
    return TargetSchemaOutput(
        schemaId=item["schema_id"], schemaAltId=item["schema_alt_id"], fieldGroupId=given["field_group_id"]
    )


class SchemaStep(PathStep):
    schemaId: str


class DatasetOutput(StepOutput):
    datasetId: str


def create_dataset(request: SchemaStep, runtime: Runtime) -> DatasetOutput:
    """Ensure the tenant's dataset for the resource path (Catalog ``POST /dataSets``). Out: ``{datasetId}``."""
    ref = _path_ref(request)
    item = _ensure(runtime, DATASET, ref, request.executionName, {"schema_id": request.schemaId})
    runtime.store.update(DATASET.key(ref), {"schema_id": request.schemaId})
    return DatasetOutput(datasetId=item["dataset_id"])


class TargetStep(SchemaStep):
    datasetId: str


class TargetConnectionOutput(StepOutput):
    targetConnectionId: str


def create_target_connection(request: TargetStep, runtime: Runtime) -> TargetConnectionOutput:
    """Ensure the data lake target connection (``POST /targetConnections``). Out: ``{targetConnectionId}``."""
    given = {"schema_id": request.schemaId, "dataset_id": request.datasetId}
    item = _ensure(runtime, TARGET_CONNECTION, _path_ref(request), request.executionName, given)
    return TargetConnectionOutput(targetConnectionId=item["target_connection_id"])


class MappingStep(SchemaStep):
    baseConnectionId: str | None = None


class MappingSetOutput(StepOutput):
    mappingSetId: str
    mappingSetVersion: int


def create_mapping_set(request: MappingStep, runtime: Runtime) -> MappingSetOutput:
    """Validate (once per sandbox and body), then ensure, the mapping set of the resource path (Data Prep
    ``POST /mappingSets/validate``, ``POST /mappingSets``). Before creating it, the mapping runs on sample rows
    of the tenant's Stripe account (``check_mapping_on_samples``: explore preview=true + ``previewMappingSet``,
    once per sandbox and mapping version). Under concurrency one execution validates and checks a body for the
    sandbox while the others wait (``LeaseHeldError``, retried by the state machine: ``validate_mapping``).
    Out: ``{mappingSetId, mappingSetVersion (int)}``. Raises ``MappingRejectedError``.
    """
    client = runtime.platform(request.sandbox)
    base_connection_id = request.baseConnectionId or (runtime.store.get(tenant_key(request.tenantId)) or {}).get(
        "base_connection_id"
    )

    def check_on_samples(body: Mapping[str, Any]) -> None:
        if base_connection_id:
            check_mapping_on_samples(
                runtime,
                client,
                sandbox=request.sandbox,
                resource_path=request.resourcePath,
                base_connection_id=str(base_connection_id),
                body=body,
            )

    ref = _path_ref(request)
    recorded = runtime.store.get(MAPPING_SET.key(ref)) or {}
    chosen = recorded.get("field_selection")
    xdm_tenant = xdm_tenant_id(runtime, request.sandbox)
    given = {
        "xdm_tenant_id": xdm_tenant,
        "schema_id": request.schemaId,
        "check_on_samples": check_on_samples,
        "field_selection": chosen,
    }
    if not recorded.get("mapping_set_id"):
        validate_mapping(runtime.store, client, ref, given, owner=request.executionName)
    item = _ensure(runtime, MAPPING_SET, ref, request.executionName, given)
    if "table_version" not in item:  # the version and body it was made from (stripe_aep.steps.upgrade)
        resource = get_resource(request.resourcePath)
        body = selection.mapping_set_body(resource, xdm_tenant, request.schemaId, chosen)
        item = runtime.store.update(
            MAPPING_SET.key(ref), {"table_version": resource.table_version, "mapping_digest": mapping_digest(body)}
        )
    return MappingSetOutput(mappingSetId=item["mapping_set_id"], mappingSetVersion=int(item["mapping_set_version"]))


class DataflowStep(PathStep):
    sourceConnectionId: str
    targetConnectionId: str
    mappingSetId: str
    mappingSetVersion: int
    schedule: Schedule


class DataflowOutput(StepOutput):
    resourcePath: str
    flowId: str


def create_dataflow(request: DataflowStep, runtime: Runtime) -> DataflowOutput:
    """Ensure the dataflow with its schedule (``POST /flows``, RestStorageToAEP flow spec). Out:
    ``{resourcePath, flowId}``.
    """
    given = {
        "source_connection_id": request.sourceConnectionId,
        "target_connection_id": request.targetConnectionId,
        "mapping_set_id": request.mappingSetId,
        "mapping_set_version": request.mappingSetVersion,
        "schedule": request.schedule,
    }
    item = _ensure(runtime, FLOW, _path_ref(request), request.executionName, given)
    # The version the converged flow runs (a re-created schema gives the mapping set a new one: ``repoint``).
    if item.get("flow_mapping_version") != request.mappingSetVersion:
        runtime.store.update(FLOW.key(_path_ref(request)), {"flow_mapping_version": request.mappingSetVersion})
    return DataflowOutput(resourcePath=request.resourcePath, flowId=item["flow_id"])


class Dataflow(StepInput):
    resourcePath: str
    flowId: str


class CompleteInput(StepInput):
    tenantId: TenantId
    dataflows: list[Dataflow]


class ProvisioningComplete(StepOutput):
    tenantId: str
    status: str
    dataflowCount: int


def complete_provisioning(request: CompleteInput, runtime: Runtime) -> ProvisioningComplete:
    """Mark every provisioned dataflow and the tenant ACTIVE (dataflows join the health-check index).

    A dataflow the tenant disabled (``flow_state`` disabled) stays DISABLED; the tenant then follows its
    dataflows (``Store.follow_dataflow_states``). Out: ``{tenantId, status: "ACTIVE", dataflowCount}``.
    """
    disabled = 0
    _, items = runtime.store.tenant_items(request.tenantId)  # one query, not a read per dataflow
    flow_states = {item.get("resource_path"): item.get("flow_state") for item in items}
    for dataflow in request.dataflows:
        key = dataflow_key(request.tenantId, dataflow.resourcePath)
        is_disabled = flow_states.get(dataflow.resourcePath) == "disabled"
        disabled += is_disabled
        runtime.store.set_status(key, DISABLED if is_disabled else ACTIVE)
    runtime.store.set_status(tenant_key(request.tenantId), ACTIVE, completed_at=now_s())
    if disabled:
        runtime.store.follow_dataflow_states(request.tenantId)
    emit_metric("ProvisioningSucceeded", 1)
    return ProvisioningComplete(tenantId=request.tenantId, status=ACTIVE, dataflowCount=len(request.dataflows))


class FailureInput(StepInput):
    input: Any = None
    stateMachine: str = "provision"
    error: dict[str, Any] = {}


class FailureRecorded(StepOutput):
    """The Fail state's ``ErrorPath``/``CausePath``."""

    error: str
    cause: str


def record_failure(request: FailureInput, runtime: Runtime) -> FailureRecorded:
    """Record a failed execution on the tenant item and give the Fail state an Error/Cause a person can act on.

    In: ``{input: $$.Execution.Input, executionName, stateMachine, error: {Error, Cause}}`` where Cause is the
    Lambda error JSON (``errorType``, ``errorMessage``). Out: ``{error, cause}``; cause names the step and
    resource path that failed, Adobe's error code and request id when DynamoDB recorded them. A tenant id
    that does not validate is not written anywhere. A refusal (``REFUSALS``: for provision, only when
    ValidateInput did not record this execution) writes nothing; a provisioning that began ends FAILED, and so
    do its paths still PROVISIONING.
    """
    original = str(request.error.get("Error", "States.TaskFailed"))
    # A Fail state's Error may not use the reserved "States." prefix: States.Timeout becomes StatesTimeout.
    error = original.replace("States.", "States", 1) if original.startswith("States.") else original
    raw_cause = str(request.error.get("Cause", ""))
    try:
        message = str(json.loads(raw_cause).get("errorMessage", raw_cause))
    except (ValueError, AttributeError):
        message = raw_cause
    if error != original:
        message = f"{original}: {message}"
    tenant_id = request.input.get("tenantId") if isinstance(request.input, dict) else None
    try:
        tenant_id = validate_tenant_id(tenant_id) if tenant_id else None
    except ValueError:
        tenant_id = None
    cause = message
    tenant_item = runtime.store.get(tenant_key(tenant_id)) if tenant_id else None
    refused = original in {e.__name__ for e in REFUSALS} and (
        request.stateMachine != "provision" or (tenant_item or {}).get("execution") != request.executionName
    )
    if refused:
        logger.warning("request refused, nothing written", extra={"error": error, "cause": message[:1000]})
    elif tenant_id and tenant_item is not None:
        tenant, dataflows = runtime.store.tenant_items(tenant_id)
        recorded = [
            {**i["last_error"], "resource_path": i.get("resource_path")}
            for i in [*(dataflows), tenant or {}]
            if isinstance(i.get("last_error"), dict) and i["last_error"].get("execution") == request.executionName
        ]
        latest = max(recorded, key=lambda e: e.get("at", 0), default=None)
        if latest:
            where = f" ({latest['resource_path']})" if latest.get("resource_path") else ""
            extras = ", ".join(
                f"{label} {latest[k]}"
                for k, label in (("adobe_error_code", "Adobe error"), ("request_id", "request id"))
                if latest.get(k)
            )
            cause = f"step {latest.get('step')}{where} failed: {latest.get('message', message)}" + (
                f" [{extras}]" if extras else ""
            )
        # The failed execution's create intents no longer hold the next execution off (it still looks up first).
        sandbox = str((tenant or {}).get("sandbox") or "")
        refs = [Ref(sandbox, tenant_id, str(i["resource_path"])) for i in dataflows]
        kinds = [kind for kind in KINDS if sandbox or not kind.shared]
        keys = dict.fromkeys([tenant_key(tenant_id), *(kind.key(ref) for ref in refs for kind in kinds)])
        for key in keys:
            runtime.store.expire_intents(key, request.executionName)
        last_error = {
            "error": error,
            "message": cause[:1000],
            "execution": request.executionName,
            "at": now_s(),
        }
        attrs: dict[str, Any] = {"last_error": last_error}
        if request.stateMachine == "provision":
            runtime.store.update(tenant_key(tenant_id), {"status": FAILED, **attrs})
            # Its paths that had not become ACTIVE failed with it (an ACTIVE one keeps serving).
            for item in dataflows:
                if item.get("status") == PROVISIONING:
                    with contextlib.suppress(ConcurrentModificationError):
                        runtime.store.update(
                            dataflow_key(tenant_id, str(item["resource_path"])),
                            {"status": FAILED},
                            condition="#status = :provisioning",
                            condition_names={"#status": "status"},
                            condition_values={":provisioning": PROVISIONING},
                        )
        else:
            runtime.store.update(tenant_key(tenant_id), attrs)
    emit_metric("ProvisioningFailed" if request.stateMachine == "provision" else "OperationFailed", 1)
    return FailureRecorded(error=error, cause=cause[:32768])


__all__ = [
    "complete_provisioning",
    "create_base_connection",
    "create_dataflow",
    "create_dataset",
    "create_mapping_set",
    "create_source_connection",
    "create_target_connection",
    "ensure_target_schema",
    "explore_resource_path",
    "record_failure",
    "validate_input",
]
