"""Schema Registry, Catalog and Data Prep handlers (specs schema-registry.yaml, catalog.yaml, data-prep.yaml).

Choices where Adobe's documentation is silent:
- Schema Registry codes: 400 `XDM-1000-400`, 404 `XDM-1012-404`, 409 duplicate title or still in use
  `XDM-1521-409`. A field group's custom properties must all sit under `_{tenantId}`; a schema's `allOf`
  holds one
  class `$ref` (any `https://ns.adobe.com/xdm/...` class) and field group `$ref`s that exist in the sandbox.
- Lists answer `{"results": [...], "_page": {"orderby", "next": null, "count"}, "_links": {}}`: with
  `Accept: application/vnd.adobe.xed-id+json` each result is `{$id, meta:altId, version, title}`, else the
  full body.
- Catalog: duplicate dataset names are allowed (as in Catalog); deleting a dataset a target connection uses
  answers
  409 `{"code": "409", ...}`; DELETE answers 200 `["@/dataSets/{id}"]`; GET by id answers `{id: dataset}`.
- Data Prep: both validate and create answer 400 `MAPPER-1400-400` with `report.invalidDestinations` when a
  destination is not a field of the schema (field groups' properties under `_{tenantId}`, plus the class's
  `_id`, and `timestamp` for ExperienceEvent; `[*]`/`[n]` indexes are ignored in that check). The tutorial's older body
  (`xdmSchema`, `sourceAttribute`, `destinationXdmPath`) is accepted too. An EXPRESSION must parse and name only
  known functions (dataprep/expressions.py); it is evaluated when a flow runs (dataprep/ingest.py).
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import unquote

from .calls import Call, Reply
from .dataprep import validate_expression
from .state import ApiError, State, new_hex

EXPERIENCE_EVENT = "https://ns.adobe.com/xdm/context/experienceevent"
XDM_BAD = "XDM-1000-400"
XDM_NOT_FOUND = "XDM-1012-404"
XDM_CONFLICT = "XDM-1521-409"
MAPPER_BAD = "MAPPER-1400-400"
MAPPER_NOT_FOUND = "MAPPER-1404-404"
_KIND_SEGMENT = {"classes": "classes", "fieldgroups": "mixins", "schemas": "schemas"}
#: Behaviours a custom class may extend (Adobe's classes guide: a class extends record or time-series).
_BEHAVIOURS = ("https://ns.adobe.com/xdm/data/record", "https://ns.adobe.com/xdm/data/time-series")


# --- Schema Registry ----------------------------------------------------------------------------------------


def stats(state: State, call: Call) -> Reply:
    """GET /schemaregistry/stats (retrieveStats) -> {imsOrg, tenantId, counts, ...}."""
    sandbox = state.sandbox(call.sandbox)
    return Reply(
        200,
        {
            "imsOrg": call.ims_org,
            "tenantId": state.tenant_id,
            "counts": {
                "schemas": len(sandbox["schemas"]),
                "mixins": len(sandbox["fieldgroups"]),
                "datatypes": 0,
                "classes": 0,
                "unions": 0,
            },
            "recentlyCreatedResources": [],
            "recentlyUpdatedResources": [],
            "classUsage": {},
        },
    )


def _xdm_bad(message: str) -> ApiError:
    return ApiError(400, "xdm", XDM_BAD, message)


def _properties_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The `properties` objects of a field group body (under `definitions.*` and at the top)."""
    found = []
    for definition in (body.get("definitions") or {}).values():
        if isinstance(definition, dict) and isinstance(definition.get("properties"), dict):
            found.append(definition["properties"])
    if isinstance(body.get("properties"), dict):
        found.append(body["properties"])
    return found


def _create_resource(state: State, call: Call, kind: str) -> Reply:
    body = call.json_object()
    title = body.get("title")
    if not isinstance(title, str) or not title:
        raise _xdm_bad("title is required")
    tenant = state.tenant_id
    store = state.sandbox(call.sandbox)[kind]
    if any(obj["title"] == title for obj in store.values()):
        raise ApiError(409, "xdm", XDM_CONFLICT, f"a resource titled '{title}' already exists")
    if kind == "fieldgroups":
        props = _properties_of(body)
        if not props:
            raise _xdm_bad("a field group needs definitions with properties")
        for properties in props:
            stray = [k for k in properties if k != f"_{tenant}"]
            if stray:
                raise _xdm_bad(f"custom fields must be nested under '_{tenant}'; found {stray}")
    elif kind == "classes":
        refs = [r.get("$ref") for r in body.get("allOf") or [] if isinstance(r, dict)]
        if not any(r in _BEHAVIOURS for r in refs):
            raise _xdm_bad(f"a class must extend one of the behaviours {list(_BEHAVIOURS)}")
    else:
        if not isinstance(body.get("description"), str):
            raise _xdm_bad("description is required")
        refs = [r.get("$ref") for r in body.get("allOf") or [] if isinstance(r, dict)]
        custom = {c["$id"] for c in state.sandbox(call.sandbox)["classes"].values()}
        classes = [r for r in refs if isinstance(r, str) and (r.startswith("https://ns.adobe.com/xdm/") or r in custom)]
        if len(classes) != 1:
            raise _xdm_bad("allOf must reference exactly one XDM class")
        known = {fg["$id"] for fg in state.sandbox(call.sandbox)["fieldgroups"].values()}
        unknown = [r for r in refs if r not in classes and r not in known]
        if unknown:
            raise _xdm_bad(f"unknown field groups in allOf: {unknown}")
        body["meta:class"] = classes[0]
    segment = _KIND_SEGMENT[kind]
    hex_id = new_hex(24)
    obj = copy.deepcopy(body)
    obj.update(
        {
            "$id": f"https://ns.adobe.com/{tenant}/{segment}/{hex_id}",
            "meta:altId": f"_{tenant}.{segment}.{hex_id}",
            "meta:resourceType": segment,
            "meta:containerId": "tenant",
            "meta:tenantNamespace": f"_{tenant}",
            "version": "1.0",
            "meta:createdDate": state.now_ms(),
            "meta:sandboxId": call.sandbox,
        }
    )
    store[obj["meta:altId"]] = obj
    return Reply(201, copy.deepcopy(obj))


def _list_resources(state: State, call: Call, kind: str) -> Reply:
    objects = list(state.sandbox(call.sandbox)[kind].values())
    for expr in call.query.get("property", []):
        if "==" not in expr:
            raise _xdm_bad(f"unsupported property filter {expr!r}")
        name, value = expr.split("==", 1)
        objects = [o for o in objects if str(o.get(name.strip())) == value]
    objects.sort(key=lambda o: o["title"])
    accept = call.headers.get("accept", "")
    if "xed-id+json" in accept:
        results = [{k: o[k] for k in ("$id", "meta:altId", "version", "title")} for o in objects]
    else:
        results = copy.deepcopy(objects)
    return Reply(
        200,
        {
            "results": results,
            "_page": {"orderby": "title", "next": None, "count": len(results)},
            "_links": {},
        },
    )


def _find(state: State, call: Call, kind: str) -> dict[str, Any]:
    ident = unquote(call.params["id"])
    store = state.sandbox(call.sandbox)[kind]
    obj = store.get(ident) or next((o for o in store.values() if o["$id"] == ident), None)
    if obj is None:
        raise ApiError(404, "xdm", XDM_NOT_FOUND, f"resource '{ident}' was not found")
    return obj


def _delete_resource(state: State, call: Call, kind: str) -> Reply:
    obj = _find(state, call, kind)
    sandbox = state.sandbox(call.sandbox)
    if kind == "classes":
        users = [s["$id"] for s in sandbox["schemas"].values() if s.get("meta:class") == obj["$id"]]
    elif kind == "fieldgroups":
        users = [
            s["$id"]
            for s in sandbox["schemas"].values()
            if any(r.get("$ref") == obj["$id"] for r in s.get("allOf") or [] if isinstance(r, dict))
        ]
    else:
        users = [d_id for d_id, d in sandbox["dataSets"].items() if d["schemaRef"]["id"] == obj["$id"]]
    if users:
        raise ApiError(409, "xdm", XDM_CONFLICT, f"'{obj['$id']}' is still referenced by {users}")
    del sandbox[kind][obj["meta:altId"]]
    return Reply(204)


def create_class(state: State, call: Call) -> Reply:
    """POST /schemaregistry/tenant/classes (createClass) -> 201 body with $id, meta:altId, version; the class
    must extend a behaviour (record or time-series)."""
    return _create_resource(state, call, "classes")


def list_classes(state: State, call: Call) -> Reply:
    """GET /schemaregistry/tenant/classes (listClasses), `property=title==X`."""
    return _list_resources(state, call, "classes")


def get_class(state: State, call: Call) -> Reply:
    """GET /schemaregistry/tenant/classes/{$id or altId, URL-encoded} (retrieveClass)."""
    return Reply(200, copy.deepcopy(_find(state, call, "classes")))


def delete_class(state: State, call: Call) -> Reply:
    """DELETE /schemaregistry/tenant/classes/{altId} (removeClass) -> 204; 409 while a schema uses it."""
    return _delete_resource(state, call, "classes")


def create_field_group(state: State, call: Call) -> Reply:
    """POST /schemaregistry/tenant/fieldgroups (createFieldGroup) -> 201 body with $id, meta:altId,
    version."""
    return _create_resource(state, call, "fieldgroups")


def _in_use(state: State, call: Call, field_group: dict[str, Any]) -> bool:
    """Whether a dataset's schema uses the field group (then the additive rule is enforced)."""
    sandbox = state.sandbox(call.sandbox)
    schemas = {
        s["$id"]
        for s in sandbox["schemas"].values()
        if any(r.get("$ref") == field_group["$id"] for r in s.get("allOf") or [] if isinstance(r, dict))
    }
    return any(d["schemaRef"]["id"] in schemas for d in sandbox["dataSets"].values())


def _resolve(doc: Any, pointer: str) -> tuple[bool, Any]:
    """(found, value) of a JSON pointer in ``doc``."""
    node = doc
    for raw in pointer[1:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False, None
    return True, node


_XDM_EDITABLE = ("/title", "/description")


def patch_field_group(state: State, call: Call) -> Reply:
    """PATCH /schemaregistry/tenant/fieldgroups/{altId or $id} (patchFieldGroup): a JSON Patch array ->
    200 with the updated field group, ``version`` minor + 1.

    Once a dataset's schema uses the group, only additive operations pass (Adobe's "Basics of schema
    composition", schema evolution): ``add`` of a path that does not exist yet (or holds the same value), and
    ``replace`` of ``/title`` or ``/description``; anything else -> 400 naming the path. Custom fields stay
    under ``_{tenant}``."""
    from .flow_service import apply_patch

    current = _find(state, call, "fieldgroups")
    ops = call.json()
    if not isinstance(ops, list) or not ops:
        raise _xdm_bad("the body must be a non-empty JSON Patch array")
    if _in_use(state, call, current):
        for op in ops:
            path = op.get("path") if isinstance(op, dict) else None
            kind = op.get("op") if isinstance(op, dict) else None
            if not isinstance(path, str):
                raise _xdm_bad(f"JSON Patch operation without a path: {op!r}")
            found, value = _resolve(current, path)
            additive = (kind == "add" and (not found or value == op.get("value"))) or (
                kind == "replace" and path in _XDM_EDITABLE
            )
            if not additive:
                raise _xdm_bad(
                    f"breaking change to a field group in use: {kind} {path} (only additive changes are allowed "
                    "once a dataset is created for the schema)"
                )
    try:
        patched = apply_patch(current, ops)
    except ApiError as exc:
        raise _xdm_bad(exc.message) from None
    for properties in _properties_of(patched):
        stray = [k for k in properties if k != f"_{state.tenant_id}"]
        if stray:
            raise _xdm_bad(f"custom fields must be nested under '_{state.tenant_id}'; found {stray}")
    major, _, minor = str(current.get("version", "1.0")).partition(".")
    patched["version"] = f"{major}.{int(minor or 0) + 1}"
    patched["meta:updatedDate"] = state.now_ms()
    state.sandbox(call.sandbox)["fieldgroups"][current["meta:altId"]] = patched
    return Reply(200, copy.deepcopy(patched))


def create_schema(state: State, call: Call) -> Reply:
    """POST /schemaregistry/tenant/schemas (createSchema) -> 201 body with $id, meta:altId, version."""
    return _create_resource(state, call, "schemas")


def list_field_groups(state: State, call: Call) -> Reply:
    """GET /schemaregistry/tenant/fieldgroups (listFieldGroups), `property=title==X`."""
    return _list_resources(state, call, "fieldgroups")


def list_schemas(state: State, call: Call) -> Reply:
    """GET /schemaregistry/tenant/schemas (listSchemas), `property=title==X`."""
    return _list_resources(state, call, "schemas")


def get_field_group(state: State, call: Call) -> Reply:
    """GET /schemaregistry/tenant/fieldgroups/{$id or altId, URL-encoded} (retrieveFieldGroup)."""
    return Reply(200, copy.deepcopy(_find(state, call, "fieldgroups")))


def get_schema(state: State, call: Call) -> Reply:
    """GET /schemaregistry/tenant/schemas/{$id or altId, URL-encoded} (retrieveSchema)."""
    return Reply(200, copy.deepcopy(_find(state, call, "schemas")))


def delete_field_group(state: State, call: Call) -> Reply:
    """DELETE /schemaregistry/tenant/fieldgroups/{altId} (removeFieldGroup) -> 204; 409 while a schema uses
    it."""
    return _delete_resource(state, call, "fieldgroups")


def delete_schema(state: State, call: Call) -> Reply:
    """DELETE /schemaregistry/tenant/schemas/{altId} (deleteSchema) -> 204; 409 while a dataset uses it."""
    return _delete_resource(state, call, "schemas")


# --- Catalog ------------------------------------------------------------------------------------------------


def create_dataset(state: State, call: Call) -> Reply:
    """POST /catalog/dataSets (createDataset) -> 201 ["@/dataSets/{id}"]; 400 when the schema does not
    exist."""
    body = call.json_object()
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise ApiError(400, "catalog", "400", "name is required")
    schema_ref = body.get("schemaRef")
    schema_id = schema_ref.get("id") if isinstance(schema_ref, dict) else None
    sandbox = state.sandbox(call.sandbox)
    if not any(s["$id"] == schema_id for s in sandbox["schemas"].values()):
        raise ApiError(400, "catalog", "400", f"schemaRef.id '{schema_id}' is not an XDM schema of this sandbox")
    dataset_id = new_hex(12)
    now = state.now_ms()
    sandbox["dataSets"][dataset_id] = {
        **copy.deepcopy(body),
        "id": dataset_id,
        "imsOrg": call.ims_org,
        "sandboxName": call.sandbox,
        "created": now,
        "updated": now,
        "createdClient": call.client_id,
        "version": "1.0.0",
    }
    return Reply(201, [f"@/dataSets/{dataset_id}"])


def list_datasets(state: State, call: Call) -> Reply:
    """GET /catalog/dataSets (listDatasets), `name=X` -> {id: dataset} ({} when none)."""
    name = call.arg("name")
    datasets = state.sandbox(call.sandbox)["dataSets"]
    return Reply(200, {k: v for k, v in datasets.items() if name is None or v["name"] == name})


def _dataset(state: State, call: Call) -> dict[str, Any]:
    dataset = state.sandbox(call.sandbox)["dataSets"].get(call.params["id"])
    if dataset is None:
        raise ApiError(
            404,
            "catalog",
            "404",
            f"dataset '{call.params['id']}' was not found",
            extra={"rows": [call.params["id"]]},
        )
    return dataset


def get_dataset(state: State, call: Call) -> Reply:
    """GET /catalog/dataSets/{id} (retrieveDataset) -> {id: dataset}."""
    dataset = _dataset(state, call)
    return Reply(200, {dataset["id"]: dataset})


def delete_dataset(state: State, call: Call) -> Reply:
    """DELETE /catalog/dataSets/{id} (deleteDataset) -> 200 ["@/dataSets/{id}"]; 409 while a target uses
    it."""
    dataset = _dataset(state, call)
    sandbox = state.sandbox(call.sandbox)
    users = [
        t["id"]
        for t in sandbox["targetConnections"].values()
        if (t.get("params") or {}).get("dataSetId") == dataset["id"]
    ]
    if users:
        raise ApiError(409, "catalog", "409", f"dataset is used by target connections {users}", extra={"rows": users})
    del sandbox["dataSets"][dataset["id"]]
    return Reply(200, [f"@/dataSets/{dataset['id']}"])


# --- Data Prep ----------------------------------------------------------------------------------------------


def _leaf_paths(properties: dict[str, Any], prefix: str) -> set[str]:
    paths: set[str] = set()
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        paths.add(path)
        if isinstance(spec, dict) and isinstance(spec.get("properties"), dict):
            paths |= _leaf_paths(spec["properties"], path + ".")
        items = spec.get("items") if isinstance(spec, dict) else None
        if isinstance(items, dict) and isinstance(items.get("properties"), dict):  # arrays of objects
            paths |= _leaf_paths(items["properties"], path + ".")
    return paths


def schema_fields(state: State, sandbox_name: str, schema_id: str) -> set[str] | None:
    """Dotted paths a mapping may target in an XDM schema, or None when the schema does not exist."""
    sandbox = state.sandbox(sandbox_name)
    schema = next((s for s in sandbox["schemas"].values() if s["$id"] == schema_id), None)
    if schema is None:
        return None
    groups = {fg["$id"]: fg for fg in sandbox["fieldgroups"].values()}
    fields = {"_id"}
    for ref in schema.get("allOf") or []:
        target = ref.get("$ref") if isinstance(ref, dict) else None
        if target == EXPERIENCE_EVENT:
            fields.add("timestamp")
        if target in groups:
            for properties in _properties_of(groups[target]):
                fields |= _leaf_paths(properties, "")
    return fields


def _expression_problem(source: Any) -> str | None:
    """Why an EXPRESSION source is refused (it must parse with the Data Prep evaluator), or None."""
    if not isinstance(source, str):
        return f"{source!r} is not an expression"
    return validate_expression(source)


def _plain_path(destination: Any) -> str:
    """A destination without array indexes (`a.b[*].c` -> `a.b.c`), as schema_fields lists fields."""
    return re.sub(r"\[(\*|\d+)\]", "", destination) if isinstance(destination, str) else str(destination)


def _checked_mapping_set(state: State, call: Call) -> dict[str, Any]:
    body = call.json_object()
    mappings: Any
    if "xdmSchema" in body:  # the tutorial's older body
        schema_id = body.get("xdmSchema")
        mappings = [
            {
                "sourceType": "ATTRIBUTE",
                "source": m.get("sourceAttribute"),
                "destination": m.get("destinationXdmPath"),
            }
            for m in body.get("mappings") or []
            if isinstance(m, dict)
        ]
    else:
        output = body.get("outputSchema")
        ref = output.get("schemaRef") if isinstance(output, dict) else None
        schema_id = ref.get("id") if isinstance(ref, dict) else None
        mappings = body.get("mappings")
    if not isinstance(schema_id, str):
        raise ApiError(400, "dataprep", MAPPER_BAD, "outputSchema.schemaRef.id is required")
    fields = schema_fields(state, call.sandbox, schema_id)
    if fields is None:
        raise ApiError(400, "dataprep", MAPPER_BAD, f"XDM schema '{schema_id}' does not exist in this sandbox")
    if not isinstance(mappings, list) or not mappings:
        raise ApiError(400, "dataprep", MAPPER_BAD, "mappings must be a non-empty list")
    problems: list[str] = []
    bad_destinations: list[str] = []
    for index, mapping in enumerate(mappings):
        if not isinstance(mapping, dict):
            problems.append(f"mappings[{index}] is not an object")
            continue
        source, destination = mapping.get("source"), mapping.get("destination")
        source_type = mapping.get("sourceType", "ATTRIBUTE")
        if source_type == "ATTRIBUTE" and not (isinstance(source, str) and source.startswith("data.")):
            problems.append(f"mappings[{index}].source {source!r} must start with 'data.'")
        elif source_type == "EXPRESSION" and (problem := _expression_problem(source)):
            problems.append(f"mappings[{index}].source: {problem}")
        elif source_type not in ("ATTRIBUTE", "EXPRESSION", "STATIC"):
            problems.append(f"mappings[{index}].sourceType {source_type!r} is not ATTRIBUTE, EXPRESSION or STATIC")
        if _plain_path(destination) not in fields:
            bad_destinations.append(str(destination))
    if bad_destinations:
        problems.append(f"destinations not in the XDM schema: {bad_destinations}")
    if problems:
        raise ApiError(
            400, "dataprep", MAPPER_BAD, "; ".join(problems), extra={"invalidDestinations": bad_destinations}
        )
    return {"schemaId": schema_id, "body": body, "mappings": mappings}


def validate_mapping_set(state: State, call: Call) -> Reply:
    """POST /conversion/mappingSets/validate (validateMappingSet) -> 200 {"validationResponse": [...]}."""
    checked = _checked_mapping_set(state, call)
    return Reply(200, {"validationResponse": [{"status": "SUCCESS", "errors": None} for _ in checked["mappings"]]})


def create_mapping_set(state: State, call: Call) -> Reply:
    """POST /conversion/mappingSets (createMappingSet) -> 200 {id, version: 0, createdDate, ...} (epoch
    ms)."""
    checked = _checked_mapping_set(state, call)
    now = state.now_ms()
    mapping_id = new_hex(16)
    stored = {
        **copy.deepcopy(checked["body"]),
        "id": mapping_id,
        "version": 0,
        "createdDate": now,
        "modifiedDate": now,
        "createdBy": call.client_id,
        "modifiedBy": call.client_id,
        "mappings": [{**copy.deepcopy(m), "id": new_hex(16)} for m in checked["mappings"]],
    }
    state.sandbox(call.sandbox)["mappingSets"][mapping_id] = stored
    summary = {k: stored[k] for k in ("id", "version", "createdDate", "modifiedDate", "createdBy", "modifiedBy")}
    return Reply(200, summary)


def put_mapping_set(state: State, call: Call) -> Reply:
    """PUT /conversion/mappingSets/{id} (putMappingSet) -> 200 with the new version (``version`` + 1, same id).
    Earlier versions stay readable by flows naming them (``mapping_set_version``)."""
    sets = state.sandbox(call.sandbox)["mappingSets"]
    stored = sets.get(call.params["id"])
    if stored is None:
        raise ApiError(404, "dataprep", MAPPER_NOT_FOUND, f"mapping set '{call.params['id']}' was not found")
    checked = _checked_mapping_set(state, call)
    history = dict(stored.get(_VERSIONS) or {})
    history[str(stored["version"])] = {k: v for k, v in stored.items() if k != _VERSIONS}
    now = state.now_ms()
    updated = {
        **copy.deepcopy(checked["body"]),
        "id": stored["id"],
        "name": stored.get("name"),
        "version": int(stored["version"]) + 1,
        "createdDate": stored["createdDate"],
        "modifiedDate": now,
        "createdBy": stored.get("createdBy"),
        "modifiedBy": call.client_id,
        "mappings": [{**copy.deepcopy(m), "id": new_hex(16)} for m in checked["mappings"]],
        _VERSIONS: history,
    }
    sets[stored["id"]] = updated
    return Reply(200, _public_mapping_set(updated))


#: Where the simulator keeps a mapping set's earlier versions (never answered).
_VERSIONS = "_versions"


def _public_mapping_set(stored: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in stored.items() if k != _VERSIONS}


def mapping_set_version(stored: dict[str, Any], version: Any) -> dict[str, Any]:
    """The mapping set as it was at ``version`` (the current one when ``version`` is None or current)."""
    if version is None or str(version) == str(stored.get("version")):
        return _public_mapping_set(stored)
    earlier = (stored.get(_VERSIONS) or {}).get(str(version))
    if earlier is None:
        raise KeyError(f"mapping set {stored.get('id')} has no version {version}")
    return copy.deepcopy(earlier)


def list_mapping_sets(state: State, call: Call) -> Reply:
    """GET /conversion/mappingSets (listMappingSets) with `name`, `start` (offset) and `limit` ->
    MapperSetPage `{"data": [...], "_page": {...}, "_links": {}}`, newest first."""
    stored = sorted(state.sandbox(call.sandbox)["mappingSets"].values(), key=lambda m: m["createdDate"], reverse=True)
    names = call.query.get("name") or []
    if names:
        name = names[0]
        stored = [m for m in stored if m.get("name") == name]
    try:
        start = int((call.query.get("start") or ["0"])[0])
        limit = int((call.query.get("limit") or ["10"])[0])
    except ValueError:
        raise ApiError(400, "dataprep", MAPPER_BAD, "start and limit must be integers") from None
    page = stored[start : start + limit]
    return Reply(
        200,
        {
            "data": [_public_mapping_set(m) for m in page],
            "_page": {"count": len(page), "totalCount": len(stored), "start": start, "limit": limit},
            "_links": {},
        },
    )


def get_mapping_set(state: State, call: Call) -> Reply:
    """GET /conversion/mappingSets/{id} (retrieveMappingSet) -> the mapping set."""
    stored = state.sandbox(call.sandbox)["mappingSets"].get(call.params["id"])
    if stored is None:
        raise ApiError(404, "dataprep", MAPPER_NOT_FOUND, f"mapping set '{call.params['id']}' was not found")
    return Reply(200, _public_mapping_set(stored))
