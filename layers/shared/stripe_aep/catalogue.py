"""The catalogue of AEP object kinds: for each kind, one declaration of everything the provisioner knows of it.

A ``Kind`` gives its deterministic name rule (``stripe_aep.names``, or a Schema Registry title), the DynamoDB item
and attribute group that record it (``<attribute>_id``, ``_etag``, ``_intent``, ``_intent_owner``; see
``stripe_aep.store``), its find / get / create / patch / delete calls on ``PlatformClient``, and what it needs
first (``needs``: the kinds whose IDs its create uses, and the checks the state machine runs before it).
A ``Check`` is a call that creates nothing but orders the chain (explore, the Schema Registry tenant id).

The provisioning and deprovisioning steps, the benchmark's call graph (``bench.graph``) and converge's plan read
it; the per-kind operations are here too:
- ``ensure``: make sure exactly one object of a kind exists for a ``Ref`` (the intent lease; no lookup on the
  happy path);
- ``delete_recorded``: delete what DynamoDB records for a ``Ref`` (or what an unfinished create left).

Provisioning order (the Stripe source tutorial, docs/stripe-source-flow-service-api.txt): base connection ->
explore -> source connection | (record class -> field group -> schema -> dataset -> target connection) ->
mapping set -> dataflow.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from stripe_aep import names
from stripe_aep.errors import CreateSettlingError, LeaseHeldError
from stripe_aep.resources import RECORD_CLASS_TITLE, StripeResource, get_resource, record_class_body
from stripe_aep.store import (
    ItemKey,
    Store,
    dataflow_key,
    flow_run_key,
    has_intent,
    lease_held,
    record_class_key,
    schema_key,
    tenant_key,
)

if TYPE_CHECKING:
    from pydantic import SecretStr

    from stripe_aep.aep import Created, PatchOperation, PlatformClient, XdmResource

#: Which item records an object: the tenant's, a (tenant, path) dataflow's, a (sandbox, path) schema item, or the
#: sandbox's record-class item. ``tenant``/``sandbox`` kinds are one per provisioning, the others one per path.
Scope = Literal["tenant", "path", "sandbox", "sandbox_path"]
logger = logging.getLogger(__name__)
#: How many objects of one deterministic name an unfinished intent may have left (Adobe names are not unique).
MAX_NAMESAKES = 10


@dataclass(frozen=True)
class Ref:
    """Which object of a kind: its sandbox, tenant and (for per-path kinds) resource path."""

    sandbox: str
    tenant_id: str = ""
    resource_path: str = ""


@dataclass(frozen=True)
class AepObject:
    """An object known to exist in AEP: its ID, its etag (when Adobe gives one) and extra attributes to store."""

    id: str
    etag: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: The client model it was read from (a ``Flow``...), for ``Kind.drift``; ``None`` when only created.
    model: Any = field(default=None, compare=False, repr=False)


#: What a create is given: IDs of the objects it needs (``<attribute>_id`` of ``needs``) and other inputs
#: (``xdm_tenant_id``, ``schedule``, ``stripe_key``: a zero-argument reader, called only when creating;
#: ``check_on_samples``: called with a mapping set body after it validates (``validate_mapping``);
#: ``field_selection``: the tenant's selection of the path's fields, ``stripe_aep.selection``).
Given = Mapping[str, Any]


def _none_listed(client: PlatformClient, name: str) -> list[AepObject]:
    """``Kind.find_all`` of a kind Adobe cannot list by name (``namesakes_of`` then uses ``find``)."""
    return []


@dataclass(frozen=True, kw_only=True)
class Check:
    """An Adobe call that creates nothing but comes before some creates (a node of the call graph).

    ``operations``: its operationIds (``operationId:tag`` when the same operation stands elsewhere in the call
    graph too); ``shared``: cached per sandbox (made by the sandbox's first tenant only).
    """

    scope: Scope
    operations: tuple[str, ...]
    needs: tuple[str, ...] = ()
    shared: bool = False

    def applies(self, resource_path: str) -> bool:
        """Whether the call is made for ``resource_path`` (always, for a check)."""
        return True


@dataclass(frozen=True, kw_only=True)
class Kind(Check):
    """One kind of AEP object the provisioner creates (see the module docstring).

    ``attribute``: the DynamoDB attribute group; ``operations``: the calls a create sends, in order (the last
    one creates); ``forget``: further attributes removed with the object when it is deleted; ``delete`` is
    ``None`` for kinds never deleted (shared XDM resources, mapping sets: Data Prep has no delete here);
    ``for_path``: the resource paths the kind exists for (the record class: only record resources).
    """

    attribute: str
    name: Callable[[Ref], str]
    key: Callable[[Ref], ItemKey]
    find: Callable[[PlatformClient, str], AepObject | None]
    create: Callable[[PlatformClient, str, Ref, Given], AepObject] | None = None
    get: Callable[[PlatformClient, str], AepObject] | None = None
    patch: Callable[[PlatformClient, str, str, list[PatchOperation]], Created] | None = None
    delete: Callable[[PlatformClient, str], None] | None = None
    forget: tuple[str, ...] = ()
    for_path: Callable[[str], bool] = lambda resource_path: True
    #: Every object with the name (Adobe names are not unique): what converge compares with DynamoDB.
    find_all: Callable[[PlatformClient, str], list[AepObject]] = lambda client, name: []
    #: Called before an orphan is deleted (a flow is disabled first, so it stops ingesting at once).
    disable: Callable[[PlatformClient, str], None] | None = None
    #: Objects holding customer data: never deleted as orphans (datasets).
    holds_data: bool = False
    enable: Callable[[PlatformClient, str], None] | None = None
    #: How a live object differs from what its DynamoDB item asks for: ``(verb, reason, patch ops)``s.
    drift: Callable[[AepObject, Mapping[str, Any]], list[Drift]] | None = None

    def applies(self, resource_path: str) -> bool:
        """Whether an object of this kind is made for ``resource_path``."""
        return self.for_path(resource_path)


def _obj(model: Any, etag: bool = True, **extra: str) -> AepObject:
    """An ``AepObject`` from a client model; ``extra`` maps stored attributes to the model's fields."""
    return AepObject(
        str(model.id), model.etag if etag else None, {attr: getattr(model, f) for attr, f in extra.items()}, model
    )


def _found(model: Any, etag: bool = True, **extra: str) -> AepObject | None:
    """``_obj`` of a lookup's answer, or ``None`` when nothing was found."""
    return None if model is None else _obj(model, etag, **extra)


def _stripe_key(given: Given) -> SecretStr:
    reader: Callable[[], SecretStr] = given["stripe_key"]
    return reader()


def _mapping_body(ref: Ref, given: Given) -> dict[str, Any]:
    """The path's Data Prep mapping body (without its name), restricted to the tenant's ``field_selection``
    (``stripe_aep.selection``): the same for every tenant of the sandbox that selects the same fields."""
    from stripe_aep.selection import mapping_set_body

    resource = get_resource(ref.resource_path)
    return mapping_set_body(resource, given["xdm_tenant_id"], given["schema_id"], given.get("field_selection"))


def _create_mapping_set(client: PlatformClient, name: str, ref: Ref, given: Given) -> AepObject:
    created = client.create_mapping_set({**_mapping_body(ref, given), "name": name})
    return AepObject(created.id, None, {"mapping_set_version": created.version})


def _create_flow(client: PlatformClient, name: str, ref: Ref, given: Given) -> AepObject:
    created = client.create_flow(
        name,
        source_connection_id=given["source_connection_id"],
        target_connection_id=given["target_connection_id"],
        mapping_id=given["mapping_set_id"],
        mapping_version=int(given["mapping_set_version"]),
        schedule=given["schedule"],
    )
    return AepObject(created.id, created.etag)


def _tenant_key(ref: Ref) -> ItemKey:
    return tenant_key(ref.tenant_id)


def _path_key(ref: Ref) -> ItemKey:
    return dataflow_key(ref.tenant_id, ref.resource_path)


def _schema_key(ref: Ref) -> ItemKey:
    return schema_key(ref.sandbox, ref.resource_path)


#: What converge does with one object: ``keep`` it, ``create``/``recreate`` it (nothing, or nothing alive,
#: behind the recorded ID, or it uses a replaced object: ``WIRING``), ``adopt`` a namesake (record its ID),
#: ``patch``/``enable``/``disable`` it, ``repoint`` a mapping set at a re-created schema (a new version), and for
#: other namesakes ``delete_orphan`` (disabled first) or ``keep_orphan`` (datasets, kinds never deleted).
Verb = Literal[
    "keep", "create", "recreate", "adopt", "patch", "repoint", "enable", "disable", "delete_orphan", "keep_orphan"
]
#: A difference of a live object from its item: (verb, reason, JSON Patch operations for ``patch``).
Drift = tuple[Verb, str, list["PatchOperation"]]


def _flow_drift(flow: Any, item: Mapping[str, Any]) -> list[Drift]:
    """A live flow against its dataflow item: connections (``recreate``: Flow Service cannot re-point a flow),
    state (``flow_state``, default enabled: a flow disabled outside the product is re-enabled only when the
    tenant is meant to be enabled), schedule frequency/interval and mapping set id/version (``patch``)."""
    from stripe_aep.aep import PatchOperation

    if flow is None:
        return []
    want_source, want_target = item.get("source_connection_id"), item.get("target_connection_id")
    if (want_source and flow.source_connection_ids != [want_source]) or (
        want_target and flow.target_connection_ids != [want_target]
    ):
        return [("recreate", "the flow reads or writes other connections than the recorded ones", [])]
    drifts: list[Drift] = []
    wanted_state = str(item.get("flow_state") or "enabled")
    if flow.state and flow.state != wanted_state:
        drifts.append(("enable" if wanted_state == "enabled" else "disable", f"flow is {flow.state}", []))
    ops: list[PatchOperation] = []
    stored = item.get("schedule")
    schedule: Mapping[str, Any] = stored if isinstance(stored, dict) else {}
    params = flow.schedule_params or {}
    if schedule.get("frequency") and str(params.get("frequency")) != str(schedule["frequency"]):
        ops.append(PatchOperation(op="replace", path="/scheduleParams/frequency", value=schedule["frequency"]))
    interval = schedule.get("interval")
    if schedule.get("frequency") and str(params.get("interval")) != str(interval):
        if interval is None:
            ops.append(PatchOperation(op="remove", path="/scheduleParams/interval"))
        else:
            ops.append(PatchOperation(op="add", path="/scheduleParams/interval", value=int(interval)))
    index = next((i for i, t in enumerate(flow.transformations) if t.get("name") == "Mapping"), None)
    if index is not None and item.get("mapping_set_id"):
        mapping: dict[str, Any] = flow.transformations[index].get("params") or {}
        if mapping.get("mappingId") != item["mapping_set_id"]:
            ops.append(
                PatchOperation(
                    op="replace", path=f"/transformations/{index}/params/mappingId", value=item["mapping_set_id"]
                )
            )
        if str(mapping.get("mappingVersion")) != str(item.get("mapping_set_version")):
            ops.append(
                PatchOperation(
                    op="replace",
                    path=f"/transformations/{index}/params/mappingVersion",
                    value=int(item.get("mapping_set_version") or 0),
                )
            )
    if ops:
        drifts.append(("patch", ", ".join(op.path for op in ops) + " differ from DynamoDB", ops))
    return drifts


BASE_CONNECTION = Kind(
    scope="tenant",
    operations=("createConnection",),
    attribute="base_connection",
    name=lambda ref: names.base_connection_name(ref.tenant_id),
    key=_tenant_key,
    find=lambda client, name: _found(client.find_base_connection(name)),
    create=lambda client, name, ref, given: _obj(client.create_base_connection(name, _stripe_key(given))),
    find_all=lambda client, name: [_obj(c) for c in client.find_base_connections(name)],
    get=lambda client, id: AepObject(id, client.get_base_connection(id).etag),
    patch=lambda client, id, etag, ops: client.patch_base_connection(id, etag, ops),
    delete=lambda client, id: client.delete_base_connection(id),
)
#: The temporary base connection a key rotation verifies a new Stripe key with (not part of provisioning).
ROTATION_CHECK = Kind(
    scope="tenant",
    operations=("createConnection",),
    attribute="rotation_check",
    name=lambda ref: names.rotation_check_name(ref.tenant_id),
    key=_tenant_key,
    find=lambda client, name: _found(client.find_base_connection(name)),
    delete=lambda client, id: client.delete_base_connection(id),
)
#: Explore the resource path through the base connection (fails fast before the path's creates).
EXPLORE = Check(scope="path", operations=("getByConnectionId",), needs=("base_connection",))
#: The sandbox's Schema Registry tenant id (cached on the sandbox item; read by the first schema step).
XDM_TENANT = Check(scope="sandbox", operations=("retrieveStats",), needs=("explore",), shared=True)
SOURCE_CONNECTION = Kind(
    scope="path",
    operations=("createSourceConnection",),
    needs=("base_connection", "explore"),
    attribute="source_connection",
    name=lambda ref: names.source_connection_name(ref.tenant_id, ref.resource_path),
    key=_path_key,
    find=lambda client, name: _found(client.find_source_connection(name)),
    find_all=lambda client, name: [_obj(c) for c in client.find_source_connections(name)],
    create=lambda client, name, ref, given: _obj(
        client.create_source_connection(name, given["base_connection_id"], ref.resource_path)
    ),
    get=lambda client, id: AepObject(id, client.get_source_connection(id).etag),
    delete=lambda client, id: client.delete_source_connection(id),
)
#: The sandbox's custom record class, found by title; only record resources use it (``needs_custom_class``).
RECORD_CLASS = Kind(
    scope="sandbox",
    operations=("createClass",),
    needs=("xdm_tenant",),
    shared=True,
    attribute="class",
    name=lambda ref: RECORD_CLASS_TITLE,
    key=lambda ref: record_class_key(ref.sandbox),
    find=lambda client, name: _found(client.find_class(name), etag=False, class_alt_id="alt_id"),
    find_all=lambda client, name: [
        _obj(c, etag=False, class_alt_id="alt_id") for c in client.find_xdm_resources("classes", name)
    ],
    create=lambda client, name, ref, given: _obj(
        client.create_class(record_class_body()), etag=False, class_alt_id="alt_id"
    ),
    for_path=lambda resource_path: get_resource(resource_path).needs_custom_class,
)


def _sandbox_xdm_kind(
    attribute: str,
    container: str,
    *,
    operation: str,
    needs: tuple[str, ...],
    title: Callable[[StripeResource], str],
    find: Callable[[PlatformClient, str], XdmResource | None],
    create: Callable[[PlatformClient, StripeResource, Given], XdmResource],
) -> Kind:
    """A sandbox's XDM resource of one resource path (Schema Registry ``container``: ``fieldgroups``,
    ``schemas``), shared by the sandbox's tenants and found by ``title``; no etag, its ``meta:altId`` is stored
    as ``<attribute>_alt_id``."""
    alt_id = {f"{attribute}_alt_id": "alt_id"}
    return Kind(
        scope="sandbox_path",
        operations=(operation,),
        needs=needs,
        shared=True,
        attribute=attribute,
        name=lambda ref: title(get_resource(ref.resource_path)),
        key=_schema_key,
        find=lambda client, name: _found(find(client, name), etag=False, **alt_id),
        find_all=lambda client, name: [
            _obj(x, etag=False, **alt_id) for x in client.find_xdm_resources(container, name)
        ],
        create=lambda client, name, ref, given: _obj(
            create(client, get_resource(ref.resource_path), given), etag=False, **alt_id
        ),
    )


#: The sandbox's XDM field group of one resource path.
FIELD_GROUP = _sandbox_xdm_kind(
    "field_group",
    "fieldgroups",
    operation="createFieldGroup",
    needs=("xdm_tenant", "class"),
    title=lambda resource: resource.field_group_title,
    find=lambda client, title: client.find_field_group(title),
    create=lambda client, resource, given: client.create_field_group(
        resource.field_group_body(given["xdm_tenant_id"], class_id=given.get("class_id"))
    ),
)
#: The sandbox's XDM schema of one resource path.
SCHEMA = _sandbox_xdm_kind(
    "schema",
    "schemas",
    operation="createSchema",
    needs=("field_group", "class"),
    title=lambda resource: resource.schema_title,
    find=lambda client, title: client.find_schema(title),
    create=lambda client, resource, given: client.create_schema(
        resource.schema_body(given["field_group_id"], class_id=given.get("class_id"))
    ),
)
DATASET = Kind(
    scope="path",
    operations=("createDataset",),
    needs=("schema",),
    attribute="dataset",
    name=lambda ref: names.dataset_name(ref.tenant_id, ref.resource_path),
    key=_path_key,
    find=lambda client, name: _found(client.find_dataset(name), etag=False),
    find_all=lambda client, name: [_obj(d, etag=False) for d in client.find_datasets(name)],
    holds_data=True,
    create=lambda client, name, ref, given: AepObject(client.create_dataset(name, given["schema_id"])),
    delete=lambda client, id: client.delete_dataset(id),
)
TARGET_CONNECTION = Kind(
    scope="path",
    operations=("createTargetConnection",),
    needs=("schema", "dataset"),
    attribute="target_connection",
    name=lambda ref: names.target_connection_name(ref.tenant_id, ref.resource_path),
    key=_path_key,
    find=lambda client, name: _found(client.find_target_connection(name)),
    find_all=lambda client, name: [_obj(c) for c in client.find_target_connections(name)],
    create=lambda client, name, ref, given: _obj(
        client.create_target_connection(name, given["schema_id"], given["dataset_id"])
    ),
    get=lambda client, id: AepObject(id, client.get_target_connection(id).etag),
    delete=lambda client, id: client.delete_target_connection(id),
)
#: Data Prep's check of a path's mapping body before its first mapping set: validated (``POST
#: /mappingSets/validate``) and run on sample rows (explore preview=true + ``previewMappingSet``, ``mapping_check``);
#: the body is the same for every tenant of the sandbox, so this is done once per sandbox (``validate_mapping``).
MAPPING_VALIDATION = Check(
    scope="sandbox_path",
    operations=("validateMappingSet", "getByConnectionId:preview", "previewMappingSet"),
    needs=("xdm_tenant", "schema"),
    shared=True,
)
#: Created once its body is validated (``validate_mapping``); kept on deprovisioning.
MAPPING_SET = Kind(
    scope="path",
    operations=("createMappingSet",),
    needs=("mapping_validation",),
    attribute="mapping_set",
    name=lambda ref: names.mapping_set_name(ref.tenant_id, ref.resource_path),
    key=_path_key,
    find=lambda client, name: _found(client.find_mapping_set(name), etag=False, mapping_set_version="version"),
    find_all=lambda client, name: [
        _obj(m, etag=False, mapping_set_version="version") for m in client.find_mapping_sets(name)
    ],
    create=_create_mapping_set,
    get=lambda client, id: _obj(client.get_mapping_set(id), etag=False, mapping_set_version="version"),
)
FLOW = Kind(
    scope="path",
    operations=("createFlow",),
    needs=("source_connection", "target_connection", "mapping_set"),
    attribute="flow",
    name=lambda ref: names.dataflow_name(ref.tenant_id, ref.resource_path),
    key=_path_key,
    find=lambda client, name: _found(client.find_flow(name)),
    find_all=lambda client, name: [_obj(f) for f in client.find_flows(name)],
    disable=lambda client, id: client.disable_flow(id),
    enable=lambda client, id: client.enable_flow(id),
    drift=lambda live, item: _flow_drift(live.model, item),
    create=_create_flow,
    get=lambda client, id: _obj(client.get_flow(id)),
    patch=lambda client, id, etag, ops: client.patch_flow(id, etag, ops),
    delete=lambda client, id: client.delete_flow(id),
    forget=("flow_state", "flow_state_changed_at"),
)


def flow_run(flow_id: str, window: tuple[int, int], *, first: bool = False) -> Kind:
    """The on-demand run of ``flow_id`` over ``window`` (``(windowStartTime, windowEndTime)``, epoch s;
    ``stripe_aep.runs``), created by ``ensure`` with createFlowRun (``POST /runs``).

    One kind per (flow, window): a flow run has no name in Adobe, so it is found again by its window among the
    flow's latest runs (``GET /runs``, listFlowRuns) and recorded at ``store.flow_run_key`` (``first``: the
    provisioning's first run). Not in ``CATALOGUE``: a provisioning's graph ends at the flow, and the first run
    is optional (template parameter ``StartFirstRun``).
    """

    def find(client: PlatformClient, name: str) -> AepObject | None:
        from stripe_aep.aep import NotFoundError

        with contextlib.suppress(NotFoundError):
            for run in client.list_flow_runs(flow_id, limit=50):
                params = run.params
                if (_epoch(params.get("windowStartTime")), _epoch(params.get("windowEndTime"))) == window:
                    return AepObject(run.id)
        return None

    return Kind(
        scope="path",
        operations=("createFlowRun",),
        needs=("flow",),
        attribute="flow_run",
        name=lambda ref: f"run of flow {flow_id} over [{window[0]}, {window[1]}]",
        key=lambda ref: flow_run_key(flow_id, None if first else window),
        find=find,
        create=lambda client, name, ref, given: _obj(client.create_flow_run(flow_id, window[0], window[1])),
    )


def _epoch(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


#: Everything a provisioning makes or calls, by name, in creation order (``needs`` name entries of this map).
CATALOGUE: Mapping[str, Check] = {
    "base_connection": BASE_CONNECTION,
    "explore": EXPLORE,
    "source_connection": SOURCE_CONNECTION,
    "xdm_tenant": XDM_TENANT,
    "class": RECORD_CLASS,
    "field_group": FIELD_GROUP,
    "schema": SCHEMA,
    "dataset": DATASET,
    "target_connection": TARGET_CONNECTION,
    "mapping_validation": MAPPING_VALIDATION,
    "mapping_set": MAPPING_SET,
    "flow": FLOW,
}
#: The kinds a provisioning creates, in creation order.
KINDS: tuple[Kind, ...] = tuple(k for k in CATALOGUE.values() if isinstance(k, Kind))
#: Per-path kinds deprovisioning deletes, in Adobe's order (a connection still in use cannot be deleted);
#: the dataset only on ``purge``.
DELETE_ORDER: tuple[Kind, ...] = (FLOW, TARGET_CONNECTION, SOURCE_CONNECTION, DATASET)


# ---- per-kind operations ----------------------------------------------------------------------------------


def ensure(
    store: Store,
    client: PlatformClient,
    kind: Kind,
    ref: Ref,
    owner: str,
    given: Given | None = None,
    item: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Make sure exactly one ``kind`` object exists for ``ref``; return its DynamoDB item afterwards.

    ``item``: the item at ``kind.key(ref)`` as the caller has just read it (saves the read; a write that came
    in between still fails the conditional ``claim_intent``, as for a read here).

    1. The item already holds ``<attribute>_id``: nothing is called.
    2. Another owner holds a fresh intent (its create may be under way: ``store.lease_held``): raises
       ``LeaseHeldError`` with no Adobe call; the state machine retries it briefly and often until that owner
       stored the ID (or its lease of ``INTENT_LEASE_S`` expired).
    3. ``owner``'s own earlier create got no answer (*uncertain*: timeout, reset; ``<attribute>_uncertain_at``)
       and its settle deadline (``settle_deadline``) is ahead: raises ``CreateSettlingError`` with no Adobe call
       (the state machine waits, not the Lambda).
    4. An intent is recorded (an earlier create may have reached Adobe: it got no answer, the Lambda crashed,
       or the lease expired): the object is looked up once by its deterministic name; found -> its ID is
       stored, its namesakes removed (``keep_one``).
    5. Otherwise the intent is claimed under ``owner`` (an execution name; ``Store.claim_intent`` raises
       ``LeaseHeldError`` when another owner claimed it meanwhile), the object created with ``given`` and its
       ID stored with a conditional write; a create that retries ``owner``'s uncertain one is confirmed to be
       the only one of its name (``keep_one``). A ``ConflictError`` from the create (the name was taken
       meanwhile) falls back to the lookup. A create Adobe refused (4xx: a 429 too) created nothing: its intent
       is released, so the retry creates again without a lookup; so is one the rate budget refused
       (``BudgetExhaustedError``: nothing was sent).
    On the happy path this costs no lookup call, and waiting for another owner none either. Adobe errors
    propagate unchanged.
    """
    from stripe_aep.budget import priority

    with priority(kind.shared):  # every tenant of the sandbox waits on a shared object: queued, not refused
        return _ensure(store, client, kind, ref, owner, given, item)


def _ensure(
    store: Store,
    client: PlatformClient,
    kind: Kind,
    ref: Ref,
    owner: str,
    given: Given | None,
    item: Mapping[str, Any] | None,
) -> dict[str, Any]:
    from stripe_aep.aep import AepConnectionError, AepError, ConflictError, ThrottledError

    create = kind.create
    if create is None:
        raise TypeError(f"{kind.attribute} objects are not created by ensure")
    key, attribute = kind.key(ref), kind.attribute
    item = dict(item) if item is not None else store.get(key) or {}
    if item.get(f"{attribute}_id"):
        return item
    name = kind.name(ref)
    if lease_held(item, attribute, owner):
        holder = item.get(f"{attribute}_intent_owner")
        raise LeaseHeldError(f"{attribute} {name!r}: {holder} holds its create lease; waiting for its ID")
    retried = has_intent(item, attribute)
    until = settle_deadline(client, item, attribute, owner) if retried else 0.0
    if until > time.time():
        raise CreateSettlingError(
            f"{attribute} {name!r}: an earlier create got no answer; looked up after {until - time.time():.1f} s"
        )
    if retried:
        namesakes = namesakes_of(client, kind, name)
        if namesakes:
            return keep_one(store, client, kind, ref, namesakes[0], namesakes)
    store.claim_intent(key, attribute, owner)
    try:
        created = create(client, name, ref, given or {})
    except ThrottledError:  # 429, or the rate budget's refusal (nothing was sent): certainly not created
        store.release_intent(key, attribute, owner)
        raise
    except ConflictError:
        lookup = kind.find(client, name)
        if lookup is None:
            raise
        created = lookup
    except AepConnectionError:  # no answer (timeout, reset): the POST may commit later
        store.mark_uncertain(key, attribute, owner)
        raise
    except AepError as exc:
        if exc.status is not None and 400 <= exc.status < 500:  # a refusal, not an uncertainty
            store.release_intent(key, attribute, owner)
        raise
    if until:  # a retry of this owner's uncertain create: make sure no twin committed meanwhile
        return keep_one(store, client, kind, ref, created, namesakes_of(client, kind, name))
    return store.record_object(key, attribute, created.id, created.etag, created.extra)


def settle_deadline(client: PlatformClient, item: Mapping[str, Any], attribute: str, owner: str) -> float:
    """Until when (epoch s) a create of ``owner`` that got no answer may still show up: when it was given up
    (``<attribute>_uncertain_at``) + ``create_settle_s``. Otherwise (another owner's, an expired intent, an
    answered failure): 0, one lookup at once."""
    uncertain_at = item.get(f"{attribute}_uncertain_at")
    if not uncertain_at or item.get(f"{attribute}_intent_owner") != owner:
        return 0.0
    return float(uncertain_at) + client.settings.create_settle_s


def namesakes_of(client: PlatformClient, kind: Kind, name: str) -> list[AepObject]:
    """Every ``kind`` object named ``name`` (``kind.find_all``; ``kind.find`` for kinds that cannot list)."""
    if kind.find_all is not _none_listed:
        return kind.find_all(client, name)
    found = kind.find(client, name)
    return [] if found is None else [found]


def keep_one(
    store: Store, client: PlatformClient, kind: Kind, ref: Ref, chosen: AepObject, namesakes: list[AepObject]
) -> dict[str, Any]:
    """Record ``chosen`` as ``ref``'s object and remove the other ``namesakes`` (twins an uncertain create left).

    Twins are disabled (flows) and deleted; kinds Adobe cannot delete here are only logged. A twin dataset is
    deleted too: it was made by the same unfinished create and nothing points at it yet. Returns the item.
    """
    from stripe_aep.aep import NotFoundError

    item = store.record_object(kind.key(ref), kind.attribute, chosen.id, chosen.etag, chosen.extra)
    for twin in dict.fromkeys(o.id for o in namesakes if o.id != chosen.id):
        if kind.delete is None:
            logger.warning("%s %s has a namesake %s that cannot be deleted", kind.attribute, chosen.id, twin)
            continue
        with contextlib.suppress(NotFoundError):
            if kind.disable is not None:
                kind.disable(client, twin)
            kind.delete(client, twin)
        logger.warning("%s: removed %s, a duplicate of %s (uncertain create)", kind.attribute, twin, chosen.id)
    return item


#: The lease (``Store.claim_intent`` attribute group) under which one execution validates a path's mapping body
#: for the whole sandbox while the others wait (``LeaseHeldError``).
MAPPING_VALIDATION_LEASE = "mapping_validation"


def validate_mapping(store: Store, client: PlatformClient, ref: Ref, given: Given, owner: str = "") -> bool:
    """Validate the path's mapping body with Data Prep unless this sandbox already validated the same body, then
    run it on sample rows (``given["check_on_samples"]``, when given: ``steps.mapping_check``, which remembers
    its own result per sandbox and mapping version).

    Once per sandbox and body even under concurrency: the first caller claims the lease ``mapping_validation``
    on the sandbox's schema item under ``owner`` (an execution name; default the tenant id) and validates and
    checks; another caller meanwhile gets ``LeaseHeldError`` (no Adobe call; the state machine retries it),
    then finds the body validated (and checked) and calls nothing. The lease is released when the holder is
    done or fails (the next caller then validates and checks with its own samples); it is kept when the holder
    was throttled (its retry re-claims it, so no waiter runs the sample check beside it).
    The body's SHA-256 is recorded on the sandbox's schema item (``mapping_validated``) once Adobe accepted it.
    ``given``: ``xdm_tenant_id``, ``schema_id``, optional ``check_on_samples(body)``. Returns whether a
    validation call was made. Raises the client's ``AepValidationError`` (Adobe's reason in ``detail``) when the
    body is invalid (nothing recorded), ``MappingRejectedError`` from the sample check and ``LeaseHeldError``.
    The holder's calls are rate-budget ``priority`` calls (queued, not refused: the sandbox waits on them).
    Data Prep operationId ``validateMappingSet`` (``POST /conversion/mappingSets/validate``).
    """
    from stripe_aep.aep import ThrottledError
    from stripe_aep.budget import priority

    body = _mapping_body(ref, given)
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    key = schema_key(ref.sandbox, ref.resource_path)
    named = {**body, "name": names.mapping_set_name(ref.tenant_id, ref.resource_path)}
    check_on_samples = given.get("check_on_samples")
    owner = owner or ref.tenant_id
    item = store.get(key) or {}
    if lease_held(item, MAPPING_VALIDATION_LEASE, owner):  # validating, or checking the validated body
        holder = item.get(f"{MAPPING_VALIDATION_LEASE}_intent_owner")
        raise LeaseHeldError(f"mapping body of {ref.resource_path} in {ref.sandbox}: {holder} is validating it")
    validated = item.get("mapping_validated") == digest
    holding = has_intent(item, MAPPING_VALIDATION_LEASE) and (
        item.get(f"{MAPPING_VALIDATION_LEASE}_intent_owner") == owner
    )
    if validated and not holding:
        if check_on_samples:
            check_on_samples(named)
        return False
    store.claim_intent(key, MAPPING_VALIDATION_LEASE, owner)
    try:
        with priority():  # the sandbox's other tenants wait on this lease: queued, not refused
            if not validated:
                client.validate_mapping_set(named)
                store.update(key, {"mapping_validated": digest})
            if check_on_samples:
                check_on_samples(named)
    except ThrottledError:  # 429 or the budget's refusal: this owner's retry comes back soon and re-claims it
        raise
    except BaseException:
        store.release_intent(key, MAPPING_VALIDATION_LEASE, owner)
        raise
    store.release_intent(key, MAPPING_VALIDATION_LEASE, owner)
    return not validated


def delete_recorded(store: Store, client: PlatformClient, kind: Kind, ref: Ref) -> list[str]:
    """Delete the ``kind`` object DynamoDB records for ``ref``; return the IDs deleted (or found gone).

    - ``<attribute>_id`` held: delete it; ``NotFoundError`` (404) counts as deleted.
    - only ``<attribute>_intent`` held (a create may have reached Adobe): look it up by its deterministic
      name, delete what is found, and look again (at most ``MAX_NAMESAKES`` times).
    - neither: nothing is called.
    Then the ID, etag and intent (and ``kind.forget``) are removed from the item. Other Adobe errors
    (``ConflictError`` while in use...) propagate and leave the item as it was, so a re-run tries again.
    """
    from stripe_aep.aep import NotFoundError

    if kind.delete is None:
        raise TypeError(f"{kind.attribute} objects are never deleted")
    key, attribute = kind.key(ref), kind.attribute
    item = store.get(key) or {}
    deleted: list[str] = []
    if item.get(f"{attribute}_id"):
        object_id = str(item[f"{attribute}_id"])
        with contextlib.suppress(NotFoundError):
            kind.delete(client, object_id)
        deleted.append(object_id)
    elif has_intent(item, attribute):
        name = kind.name(ref)
        for _ in range(MAX_NAMESAKES):
            found = kind.find(client, name)
            if found is None or found.id in deleted:
                break
            with contextlib.suppress(NotFoundError):
                kind.delete(client, found.id)
            deleted.append(found.id)
    else:
        return deleted
    store.forget_object(key, attribute, kind.forget)
    return deleted


# ---- converge: what AEP holds against what DynamoDB records, per kind ---------------------------------------


@dataclass(frozen=True)
class Action:
    """One step of a plan: ``verb`` (see ``Verb``) on the ``kind`` object of ``resource_path`` ("" for the
    tenant's own objects); ``object_id`` is the object acted on (for ``recreate``: the recorded ID now gone)."""

    verb: Verb
    kind: str
    resource_path: str = ""
    object_id: str | None = None
    reason: str = ""
    ops: tuple[PatchOperation, ...] = ()
    #: The live object acted on, as read by the plan (``None``: nothing alive, e.g. a gone object to recreate).
    target: AepObject | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """``{verb, kind, resourcePath, objectId, reason}`` (patch values are not shown)."""
        return {
            "verb": self.verb,
            "kind": self.kind,
            "resourcePath": self.resource_path,
            "objectId": self.object_id,
            "reason": self.reason,
        }


#: The verbs that change nothing.
RESTING: frozenset[str] = frozenset({"keep", "keep_orphan"})


def _flow_wiring(flow: Any) -> dict[str, str | None]:
    def only(ids: list[str]) -> str | None:
        return ids[0] if len(ids) == 1 else ",".join(ids) or None

    return {
        "source_connection_id": only(flow.source_connection_ids),
        "target_connection_id": only(flow.target_connection_ids),
    }


#: The IDs of needed objects a live object of a kind was created with (``<attribute>_id`` of a need -> ID), read
#: from its client model (``AepObject.model``; ``None``: unknown). Adobe's guides document updating a flow's
#: name, schedule and mapping (EN update-dataflows.md) and a connection's name, description and credentials
#: (update.md), never re-pointing a source connection's base connection, a target connection's
#: ``params.dataSetId``/``data.schema``, a flow's connections or a dataset's ``schemaRef`` (the PATCH bodies of
#: flow-service.yaml and catalog.yaml are generic; the data a dataset holds was written under its schema): so an
#: object wired to a replaced one is re-created under its deterministic name (a dataset is never deleted); a
#: mapping set (never deleted) gets a new version on the live schema (``repoint``). A flow's mapping set is not
#: here: ``_flow_drift`` patches it.
WIRING: Mapping[str, Callable[[Any], dict[str, str | None]]] = {
    "source_connection": lambda c: {"base_connection_id": c.base_connection_id},
    "dataset": lambda d: {"schema_id": (d.schema_ref or {}).get("id")},
    "target_connection": lambda c: {
        "dataset_id": c.params.get("dataSetId"),
        "schema_id": (c.data.get("schema") or {}).get("id"),
    },
    "flow": _flow_wiring,
    "mapping_set": lambda m: {"schema_id": ((m.output_schema or {}).get("schemaRef") or {}).get("id")},
}


def _miswired(kind: Kind, live: AepObject, wanted: Mapping[str, str | None]) -> str | None:
    """Which replaced object ``live`` uses, given ``wanted`` (the IDs its needs have, or ``None`` for one about
    to be created anew), or ``None`` when it uses them (or its model is unknown)."""
    reader = WIRING.get(kind.attribute)
    if reader is None or live.model is None:
        return None
    wired = reader(live.model)
    for attribute, want in wanted.items():
        used = wired.get(attribute)
        if attribute not in wired or used is None or used == want:
            continue
        need = attribute.removesuffix("_id").replace("_", " ")
        now = "re-created" if want is None else f"now {want}"
        return f"it uses the {need} {used}, which is {now}"
    return None


#: The Schema Registry kind (``get_xdm_resource``) of the shared XDM kinds, read by ``meta:altId``.
_XDM_KINDS: Mapping[str, str] = {"class": "classes", "field_group": "fieldgroups", "schema": "schemas"}


def _get_recorded(client: PlatformClient, kind: Kind, item: Mapping[str, Any]) -> AepObject | None:
    """The recorded object read by its ID (``kind.get``; an XDM resource by its recorded ``<attribute>_alt_id``:
    its title may be another generation's), or ``None`` when the kind cannot be read so. Raises
    ``NotFoundError`` when it is gone."""
    if kind.get is not None:
        return kind.get(client, str(item[f"{kind.attribute}_id"]))
    alt_id = item.get(f"{kind.attribute}_alt_id")
    if kind.attribute not in _XDM_KINDS or not alt_id:
        return None
    found = client.get_xdm_resource(_XDM_KINDS[kind.attribute], str(alt_id))
    return AepObject(found.id, None, {f"{kind.attribute}_alt_id": found.alt_id}, found)


def plan_kind(
    client: PlatformClient,
    kind: Kind,
    ref: Ref,
    item: Mapping[str, Any],
    wanted: Mapping[str, str | None] | None = None,
) -> list[Action]:
    """What to do so that exactly one live ``kind`` object of ``ref`` exists and is recorded in ``item``.

    Reads AEP only: every object with the deterministic name (``kind.find_all``) and, when the recorded ID is
    not among them, the recorded object by ID (``kind.get``: it may have been renamed). Then: the recorded
    object is alive -> ``keep`` (plus its ``drift``), or ``recreate`` when it uses another object than
    ``wanted`` (``<attribute>_id`` of a need -> the ID it has now, ``None`` when it is about to be (re-)created:
    see ``WIRING``); gone or never recorded with a namesake -> ``adopt`` it; no namesake -> ``recreate``
    (recorded) or ``create``. Other namesakes are orphans: ``delete_orphan``, or ``keep_orphan`` for datasets
    (they hold data) and kinds never deleted. Adobe errors propagate.
    """
    from stripe_aep.aep import NotFoundError

    def act(verb: Verb, target: AepObject | None, reason: str, ops: list[PatchOperation] | None = None) -> Action:
        object_id = target.id if target is not None else (str(recorded) if recorded else None)
        return Action(verb, kind.attribute, ref.resource_path, object_id, reason, tuple(ops or ()), target)

    recorded = item.get(f"{kind.attribute}_id")
    namesakes = kind.find_all(client, kind.name(ref))
    live = next((o for o in namesakes if o.id == recorded), None)
    if recorded and live is None:
        with contextlib.suppress(NotFoundError):
            live = _get_recorded(client, kind, item)
    others = [o for o in namesakes if live is None or o.id != live.id]
    actions: list[Action] = []
    miswired = _miswired(kind, live, wanted or {}) if live is not None else None
    if live is not None and miswired is not None:
        if kind is MAPPING_SET:  # never deleted: a new version of it names the live schema
            actions.append(act("repoint", live, f"{miswired}: a new version names the live one"))
        else:
            actions.append(act("recreate", live, f"{miswired}: re-created on the live one"))
    elif live is not None:
        actions.append(act("keep", live, "recorded and alive"))
    elif others:
        live = others.pop(0)
        why = f"the recorded {recorded} is gone" if recorded else "not recorded"
        actions.append(act("adopt", live, f"{why}; found by name"))
    elif recorded:
        actions.append(act("recreate", None, "the recorded object is gone from AEP"))
    else:
        actions.append(act("create", None, "nothing recorded, nothing found by name"))
    if live is not None and miswired is None and kind.drift is not None:
        actions += [act(verb, live, reason, ops) for verb, reason, ops in kind.drift(live, item)]
    for orphan in others:
        keep = kind.holds_data or kind.delete is None
        reason = "a namesake holding data: never deleted" if kind.holds_data else "a namesake of the recorded object"
        actions.append(act("keep_orphan" if keep else "delete_orphan", orphan, reason))
    return actions


def converge(
    store: Store, client: PlatformClient, kind: Kind, ref: Ref, owner: str, given: Given | None = None
) -> dict[str, Any]:
    """Drive ``ref``'s ``kind`` object to what DynamoDB says: ``ensure`` when nothing is recorded yet (the
    first provisioning: no extra call), else ``plan_kind`` and apply it, then plan once more when something
    changed (a re-created flow gets the recorded state). Returns the item afterwards.

    ``given`` holds the IDs of what it needs, converged by the earlier steps: an object wired to other ones
    (``WIRING``: a target connection on a dataset that was re-created...) is re-created with them, and so is one
    gone from AEP. An orphan still in use (``ConflictError``) is left for the next run. Adobe errors propagate;
    a re-run converges further.
    """
    key = kind.key(ref)
    item = store.get(key) or {}
    if not item.get(f"{kind.attribute}_id"):
        return ensure(store, client, kind, ref, owner, given, item=item)
    wanted = {k: (str(v) if v is not None else None) for k, v in (given or {}).items() if k.endswith("_id")}
    for _ in range(2):
        actions = plan_kind(client, kind, ref, item, wanted)
        if all(a.verb in RESTING for a in actions):
            break
        for action in actions:
            item = _apply(store, client, kind, ref, owner, given, action, item)
    return item


def _apply(
    store: Store,
    client: PlatformClient,
    kind: Kind,
    ref: Ref,
    owner: str,
    given: Given | None,
    action: Action,
    item: dict[str, Any],
) -> dict[str, Any]:
    from stripe_aep.aep import ConflictError, NotFoundError
    from stripe_aep.errors import ConcurrentModificationError

    key, attribute, object_id = kind.key(ref), kind.attribute, str(action.object_id)
    if action.verb == "adopt" and action.target is not None:
        found = action.target
        return store.replace_object(key, attribute, str(item[f"{attribute}_id"]), found.id, found.etag, found.extra)
    if action.verb == "recreate":
        if action.target is not None and kind.delete is not None and not kind.holds_data:
            _delete_stale(store, client, kind, ref, object_id)  # alive but wired to replaced objects
        # Only while the item still records the object this plan saw (a shared schema item may have been
        # repaired by another tenant's execution meanwhile); the wanted state (flow_state...) stays.
        try:
            store.update(
                key,
                remove=tuple(f"{attribute}_{s}" for s in ("id", "etag", "intent", "intent_owner", "uncertain_at")),
                condition="#recorded = :recorded",
                condition_names={"#recorded": f"{attribute}_id"},
                condition_values={":recorded": object_id},
            )
        except ConcurrentModificationError:
            return store.get(key) or {}
        return ensure(store, client, kind, ref, owner, given)
    if action.verb == "repoint" and kind is MAPPING_SET:
        return _repoint_mapping_set(store, client, ref, object_id, str((given or {}).get("schema_id")))
    if action.verb == "delete_orphan" and kind.delete is not None:
        try:
            if kind.disable is not None:
                kind.disable(client, object_id)
            kind.delete(client, object_id)
        except NotFoundError:
            pass
        except ConflictError:
            logger.warning("%s orphan %s is still in use: left for the next run", attribute, object_id)
        return item
    toggle = {"enable": kind.enable, "disable": kind.disable}.get(action.verb)
    if toggle is not None:
        toggle(client, object_id)
        return item
    if action.verb == "patch" and kind.patch is not None and kind.get is not None:
        current = kind.get(client, object_id)
        created = kind.patch(client, object_id, str(current.etag), list(action.ops))
        return store.update(key, {f"{attribute}_etag": created.etag} if created.etag else {})
    return item


def _repoint_mapping_set(
    store: Store, client: PlatformClient, ref: Ref, mapping_set_id: str, schema_id: str
) -> dict[str, Any]:
    """Point a mapping set at a re-created schema: ``PUT /conversion/mappingSets/{id}`` (putMappingSet) of its
    current body (retrieveMappingSet) with only ``outputSchema.schemaRef.id`` replaced, a new version (Data
    Prep has no delete here, and a second mapping set of the name would be a duplicate). Records the version;
    ``mapping_digest`` is dropped (``steps.upgrade`` finds the mappings unchanged and records it again)."""
    body = client.get_mapping_set_body(mapping_set_id)
    output = dict(body.get("outputSchema") or {})
    output["schemaRef"] = {**(output.get("schemaRef") or {}), "id": schema_id}
    keep = ("name", "description", "mappings", "outputSchema", "xdmSchema", "xdmVersion")
    put = {k: v for k, v in {**body, "outputSchema": output}.items() if k in keep}
    if "xdmSchema" in put:
        put["xdmSchema"] = schema_id
    version = client.put_mapping_set(mapping_set_id, put).version
    logger.warning("mapping set %s: version %s points at the re-created schema %s", mapping_set_id, version, schema_id)
    return store.update(MAPPING_SET.key(ref), {"mapping_set_version": version}, remove=("mapping_digest",))


def _delete_stale(store: Store, client: PlatformClient, kind: Kind, ref: Ref, object_id: str) -> None:
    """Delete a connection about to be re-created. Adobe refuses while a flow uses it (``ConflictError``): the
    path's recorded flow then uses a replaced object too, so it is disabled and deleted first (its ID stays
    recorded: the dataflow step re-creates it, with the recorded state); still in use (by a flow the product
    does not record): left, and the next plan lists it as an orphan."""
    from stripe_aep.aep import ConflictError, NotFoundError

    delete = kind.delete
    if delete is None:
        return
    try:
        with contextlib.suppress(NotFoundError):
            delete(client, object_id)
        return
    except ConflictError:
        if kind is FLOW:
            raise
    flow_id = (store.get(FLOW.key(ref)) or {}).get("flow_id")
    try:
        if flow_id:
            with contextlib.suppress(NotFoundError):
                client.disable_flow(str(flow_id))
                client.delete_flow(str(flow_id))
            logger.warning("%s %s: deleted flow %s, which used it", kind.attribute, object_id, flow_id)
        with contextlib.suppress(NotFoundError):
            delete(client, object_id)
    except ConflictError:
        logger.warning("%s %s is still in use: left for the next run", kind.attribute, object_id)


def plan_tenant(store: Store, platform: Callable[[str], PlatformClient], tenant_id: str) -> dict[str, Any]:
    """The plan of one tenant: ``plan_kind`` of each of its objects and of the sandbox's shared XDM ones it
    stands on (record class, field group, schema: each planned once), in creation order, each dependent
    checked against the IDs its needs will have (``WIRING``: a re-created dataset re-creates the target
    connection and flow that used the old one).

    Out: ``{tenantId, sandbox, status, actions: [Action.to_dict()], changes (actions not resting)}``. Reads
    DynamoDB and AEP only. Raises ``KeyError`` when DynamoDB has no such tenant.
    """
    tenant, items = store.tenant_items(tenant_id)
    if tenant is None:
        raise KeyError(tenant_id)
    sandbox = str(tenant.get("sandbox") or "")
    client = platform(sandbox)
    actions = plan_kind(client, BASE_CONNECTION, Ref(sandbox, tenant_id), tenant)
    base = _after(BASE_CONNECTION, actions, tenant)
    shared: dict[tuple[str, ItemKey], str | None] = {}  # (kind, item key) -> its ID after the plan
    for item in items:
        ref = Ref(sandbox, tenant_id, str(item["resource_path"]))
        ids = {"base_connection_id": base}  # the ID each kind will have once the plan is applied (None: new)
        for kind in KINDS:
            if kind.scope == "tenant" or not kind.applies(ref.resource_path):
                continue
            key = kind.key(ref)
            if kind.scope != "path" and (kind.attribute, key) in shared:
                ids[f"{kind.attribute}_id"] = shared[(kind.attribute, key)]
                continue
            recorded = item if kind.scope == "path" else (store.get(key) or {})
            planned = plan_kind(client, kind, ref, recorded, ids)
            ids[f"{kind.attribute}_id"] = _after(kind, planned, recorded)
            if kind.scope != "path":
                shared[(kind.attribute, key)] = ids[f"{kind.attribute}_id"]
            actions += planned
    return {
        "tenantId": tenant_id,
        "sandbox": sandbox,
        "status": tenant.get("status"),
        "actions": [a.to_dict() for a in actions],
        "changes": sum(a.verb not in RESTING for a in actions),
    }


def _after(kind: Kind, actions: list[Action], item: Mapping[str, Any]) -> str | None:
    """The ID ``kind``'s object has once ``actions`` (its ``plan_kind``) are applied: the recorded or adopted
    one, or ``None`` when it is (re-)created (a new ID, unknown until then)."""
    if not actions or any(a.verb in ("create", "recreate") for a in actions):
        return None  # (a "repoint" keeps the ID: the mapping set gets a new version)
    if actions[0].verb == "adopt":
        return actions[0].object_id
    recorded = item.get(f"{kind.attribute}_id")
    return str(recorded) if recorded else None
