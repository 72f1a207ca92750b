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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from stripe_aep import names
from stripe_aep.resources import RECORD_CLASS_TITLE, get_resource, record_class_body
from stripe_aep.store import ItemKey, Store, dataflow_key, has_intent, record_class_key, schema_key, tenant_key

if TYPE_CHECKING:
    from pydantic import SecretStr

    from stripe_aep.aep import Created, PatchOperation, PlatformClient

#: Which item records an object: the tenant's, a (tenant, path) dataflow's, a (sandbox, path) schema item, or the
#: sandbox's record-class item. ``tenant``/``sandbox`` kinds are one per provisioning, the others one per path.
Scope = Literal["tenant", "path", "sandbox", "sandbox_path"]
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


#: What a create is given: IDs of the objects it needs (``<attribute>_id`` of ``needs``) and other inputs
#: (``xdm_tenant_id``, ``schedule``, ``stripe_key``: a zero-argument reader, called only when creating;
#: ``check_mapping``: called with a mapping set body after it validates and before it is created;
#: ``field_selection``: the tenant's selection of the path's fields, ``stripe_aep.selection``).
Given = Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class Check:
    """An Adobe call that creates nothing but comes before some creates (a node of the call graph).

    ``operations``: its operationIds; ``shared``: cached per sandbox (made by the sandbox's first tenant only).
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

    def applies(self, resource_path: str) -> bool:
        """Whether an object of this kind is made for ``resource_path``."""
        return self.for_path(resource_path)


def _obj(model: Any, etag: bool = True, **extra: str) -> AepObject:
    """An ``AepObject`` from a client model; ``extra`` maps stored attributes to the model's fields."""
    return AepObject(
        str(model.id), model.etag if etag else None, {attr: getattr(model, f) for attr, f in extra.items()}
    )


def _found(model: Any, etag: bool = True, **extra: str) -> AepObject | None:
    """``_obj`` of a lookup's answer, or ``None`` when nothing was found."""
    return None if model is None else _obj(model, etag, **extra)


def _stripe_key(given: Given) -> SecretStr:
    reader: Callable[[], SecretStr] = given["stripe_key"]
    return reader()


def _create_mapping_set(client: PlatformClient, name: str, ref: Ref, given: Given) -> AepObject:
    from stripe_aep.selection import mapping_set_body

    resource = get_resource(ref.resource_path)
    chosen = given.get("field_selection")
    body = {**mapping_set_body(resource, given["xdm_tenant_id"], given["schema_id"], chosen), "name": name}
    client.validate_mapping_set(body)
    check: Callable[[Mapping[str, Any]], None] | None = given.get("check_mapping")
    if check is not None:  # the mapping's run on sample rows (stripe_aep.steps.mapping_check)
        check(body)
    created = client.create_mapping_set(body)
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


BASE_CONNECTION = Kind(
    scope="tenant",
    operations=("createConnection",),
    attribute="base_connection",
    name=lambda ref: names.base_connection_name(ref.tenant_id),
    key=_tenant_key,
    find=lambda client, name: _found(client.find_base_connection(name)),
    create=lambda client, name, ref, given: _obj(client.create_base_connection(name, _stripe_key(given))),
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
    create=lambda client, name, ref, given: _obj(
        client.create_class(record_class_body()), etag=False, class_alt_id="alt_id"
    ),
    for_path=lambda resource_path: get_resource(resource_path).needs_custom_class,
)
#: The sandbox's XDM field group of one resource path (shared by the sandbox's tenants), found by title.
FIELD_GROUP = Kind(
    scope="sandbox_path",
    operations=("createFieldGroup",),
    needs=("xdm_tenant", "class"),
    shared=True,
    attribute="field_group",
    name=lambda ref: get_resource(ref.resource_path).field_group_title,
    key=_schema_key,
    find=lambda client, name: _found(client.find_field_group(name), etag=False, field_group_alt_id="alt_id"),
    create=lambda client, name, ref, given: _obj(
        client.create_field_group(
            get_resource(ref.resource_path).field_group_body(given["xdm_tenant_id"], class_id=given.get("class_id"))
        ),
        etag=False,
        field_group_alt_id="alt_id",
    ),
)
#: The sandbox's XDM schema of one resource path (shared by the sandbox's tenants), found by title.
SCHEMA = Kind(
    scope="sandbox_path",
    operations=("createSchema",),
    needs=("field_group", "class"),
    shared=True,
    attribute="schema",
    name=lambda ref: get_resource(ref.resource_path).schema_title,
    key=_schema_key,
    find=lambda client, name: _found(client.find_schema(name), etag=False, schema_alt_id="alt_id"),
    create=lambda client, name, ref, given: _obj(
        client.create_schema(
            get_resource(ref.resource_path).schema_body(given["field_group_id"], class_id=given.get("class_id"))
        ),
        etag=False,
        schema_alt_id="alt_id",
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
    create=lambda client, name, ref, given: _obj(
        client.create_target_connection(name, given["schema_id"], given["dataset_id"])
    ),
    get=lambda client, id: AepObject(id, client.get_target_connection(id).etag),
    delete=lambda client, id: client.delete_target_connection(id),
)
#: Validated (``POST /mappingSets/validate``) before it is created; kept on deprovisioning.
MAPPING_SET = Kind(
    scope="path",
    operations=("validateMappingSet", "createMappingSet"),
    needs=("xdm_tenant", "schema"),
    attribute="mapping_set",
    name=lambda ref: names.mapping_set_name(ref.tenant_id, ref.resource_path),
    key=_path_key,
    find=lambda client, name: _found(client.find_mapping_set(name), etag=False, mapping_set_version="version"),
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
    create=_create_flow,
    get=lambda client, id: AepObject(id, client.get_flow(id).etag),
    patch=lambda client, id, etag, ops: client.patch_flow(id, etag, ops),
    delete=lambda client, id: client.delete_flow(id),
    forget=("flow_state", "flow_state_changed_at"),
)

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
    store: Store, client: PlatformClient, kind: Kind, ref: Ref, owner: str, given: Given | None = None
) -> dict[str, Any]:
    """Make sure exactly one ``kind`` object exists for ``ref``; return its DynamoDB item afterwards.

    1. The item already holds ``<attribute>_id``: nothing is called.
    2. An intent is recorded (an earlier attempt may have created the object and crashed before storing its
       ID): the object is looked up by its deterministic name; found -> its ID is stored.
    3. Otherwise the intent is claimed under ``owner`` (an execution name; ``Store.claim_intent`` raises
       ``ConcurrentModificationError`` while another owner's lease stands), the object created with ``given``
       and its ID stored with a conditional write. A ``ConflictError`` from the create (the name was taken
       meanwhile) falls back to the lookup.
    On the happy path this costs no lookup call. Adobe errors propagate unchanged.
    """
    from stripe_aep.aep import ConflictError

    if kind.create is None:
        raise TypeError(f"{kind.attribute} objects are not created by ensure")
    key, attribute = kind.key(ref), kind.attribute
    item = store.get(key) or {}
    if item.get(f"{attribute}_id"):
        return item
    name = kind.name(ref)
    if has_intent(item, attribute):
        found = kind.find(client, name)
        if found is not None:
            return store.record_object(key, attribute, found.id, found.etag, found.extra)
    store.claim_intent(key, attribute, owner)
    try:
        created = kind.create(client, name, ref, given or {})
    except ConflictError:
        lookup = kind.find(client, name)
        if lookup is None:
            raise
        created = lookup
    return store.record_object(key, attribute, created.id, created.etag, created.extra)


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
