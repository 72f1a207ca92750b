"""Flow Service handlers (spec flow-service.yaml; base path /data/foundation/flowservice).

Choices where Adobe's documentation is silent:
- Names are not unique (as in Adobe): creating the same name twice makes two objects; that is what the
  provisioner's find-by-name idempotency has to cope with.
- A base connection is created whatever Stripe key it carries; the key is checked by explore (400
  FLOW-1200-400,
  "Stripe rejected the key", key masked to its last 4 characters).
- GET answers mask `auth.params.accessToken` as "********"; the key itself is kept apart
  (`State.connection_secrets`).
- GET by id answers `{"items": [object]}` (spec FlowListResponse / ConnectionListResponse).
- Validation failures answer 400 `FLOW-1400-400`; missing If-Match 400 `FLOW-1401-400`; stale If-Match 412
  `FLOW-1404-412`; in use 400 `FLOW-1418-400`; unknown id 404 `FLOW-1439-404`.
- A changed `scheduleParams.startTime` is refused once the old start time has passed (simulator clock).
- Explore preview=true answers `{"format": "hierarchical", "schema": ..., "data": [{"data": <Stripe
  object>}, ...]}`: the newest `PREVIEW_ROWS` objects of that path in the connection's Stripe account
  (stripe_account.py; the three generated samples when nobody seeded it).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from typing import Any

from .calls import Call, Reply, list_page
from .runs import last_run_details, start_flow_run
from .state import ApiError, State, new_etag, new_uuid
from .stripe_account import account_objects, newest_first
from .stripe_data import RESOURCE_PATHS, explore_schema

STRIPE_CONNECTION_SPEC = {"id": "cc2c31d6-7b8c-4581-b49f-5c8698aa3ab3", "version": "1.0"}
DATA_LAKE_CONNECTION_SPEC = {"id": "c604ff05-7f1a-43c0-8e18-33bf874cb11c", "version": "1.0"}
FLOW_SPEC = {"id": "6499120c-0b15-42dc-936e-847ea3c24d72", "version": "1.0"}
AUTH_SPEC_NAME = "OAuth2 Refresh Code"
MASK = "********"
FREQUENCIES = ("once", "minute", "hour", "day", "week")

BAD = "FLOW-1400-400"
NOT_FOUND = "FLOW-1439-404"
IN_USE = "FLOW-1418-400"
STALE = "FLOW-1404-412"
MISSING_IF_MATCH = "FLOW-1401-400"
STRIPE_REJECTED = "FLOW-1200-400"
PREVIEW_ROWS = 100  # rows an explore preview carries (Adobe documents no number)


def _bad(message: str) -> ApiError:
    return ApiError(400, "flow", BAD, message)


def _not_found(kind: str, object_id: str) -> ApiError:
    return ApiError(404, "flow", NOT_FOUND, f"{kind} with id '{object_id}' was not found")


def _require_str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"'{key}' is required and must be a non-empty string")
    return value


def _require_spec(value: Any, expected: dict[str, str], what: str) -> None:
    if not isinstance(value, dict) or value.get("id") != expected["id"] or value.get("version") != expected["version"]:
        raise _bad(f"{what} must be {{'id': '{expected['id']}', 'version': '{expected['version']}'}}")


def _stamp(state: State, call: Call, obj: dict[str, Any]) -> dict[str, Any]:
    now = state.now_ms()
    obj.update(
        {
            "id": obj.get("id") or new_uuid(),
            "createdAt": now,
            "updatedAt": now,
            "createdBy": f"{call.client_id}@AdobeID",
            "updatedBy": f"{call.client_id}@AdobeID",
            "createdClient": call.client_id,
            "updatedClient": call.client_id,
            "sandboxName": call.sandbox,
            "imsOrgId": call.ims_org,
            "etag": new_etag(),
        }
    )
    return obj


def _created(obj: dict[str, Any]) -> Reply:
    return Reply(201, {"id": obj["id"], "etag": obj["etag"]})


def _objects(state: State, call: Call, kind: str) -> dict[str, dict[str, Any]]:
    return state.sandbox(call.sandbox)[kind]


def _get(state: State, call: Call, kind: str, label: str) -> dict[str, Any]:
    obj = _objects(state, call, kind).get(call.params["id"])
    if obj is None:
        raise _not_found(label, call.params["id"])
    return obj


# --- base connections ---------------------------------------------------------------------------------------


def _check_auth(auth: Any) -> str:
    if not isinstance(auth, dict) or auth.get("specName") != AUTH_SPEC_NAME:
        raise _bad(f"auth.specName must be '{AUTH_SPEC_NAME}'")
    params = auth.get("params")
    key = params.get("accessToken") if isinstance(params, dict) else None
    if not isinstance(key, str) or not key:
        raise _bad("auth.params.accessToken is required")
    return key


def create_connection(state: State, call: Call) -> Reply:
    """POST /connections (createConnection): a Stripe base connection -> 201 {id, etag}."""
    body = call.json_object()
    _require_str(body, "name")
    _require_spec(body.get("connectionSpec"), STRIPE_CONNECTION_SPEC, "connectionSpec")
    key = _check_auth(body.get("auth"))
    obj = copy.deepcopy(body)
    obj["auth"]["params"]["accessToken"] = MASK
    obj.setdefault("description", "")
    obj["state"] = "enabled"
    _stamp(state, call, obj)
    state.connection_secrets[obj["id"]] = key
    _objects(state, call, "connections")[obj["id"]] = obj
    return _created(obj)


def list_connections(state: State, call: Call) -> Reply:
    """GET /connections (listConnections)."""
    return list_page(call, list(_objects(state, call, "connections").values()))


def get_connection(state: State, call: Call) -> Reply:
    """GET /connections/{id} (retrieveConnection) -> {"items": [connection]}."""
    return Reply(200, {"items": [_get(state, call, "connections", "Connection")]})


def _mask_key(key: str) -> str:
    return f"****{key[-4:]}" if len(key) > 4 else "****"


def explore(state: State, call: Call) -> Reply:
    """GET /connections/{id}/explore (getByConnectionId) for a Stripe resource path."""
    connection = _get(state, call, "connections", "Connection")
    object_type = (call.arg("objectType") or "").lower()
    if object_type != "rest":
        raise _bad(f"objectType must be 'rest', got {call.arg('objectType')!r}")
    if (call.arg("object") or "") != "json":
        raise _bad("object must be 'json'")
    file_type = call.arg("fileType") or call.arg("FileType")
    if file_type != "json":
        raise _bad("fileType must be 'json'")
    preview = (call.arg("preview") or "false").lower()
    if preview not in ("true", "false"):
        raise _bad("preview must be true or false")
    raw = call.arg("sourceParams")
    if not raw:
        raise _bad("sourceParams is required")
    try:
        decoded = json.loads(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError):
        raise _bad("sourceParams must be base64 of a JSON object, URL-encoded once") from None
    path = decoded.get("resourcePath") if isinstance(decoded, dict) else None
    if path not in RESOURCE_PATHS:
        raise _bad(f"unknown resourcePath {path!r}; expected one of {list(RESOURCE_PATHS)}")
    key = state.connection_secrets.get(connection["id"], "")
    if key not in state.stripe_keys:
        raise ApiError(
            400,
            "flow",
            STRIPE_REJECTED,
            f"Stripe rejected the API key ending in {_mask_key(key)}: 401 Unauthorized (invalid API key provided)",
        )
    answer: dict[str, Any] = {"format": "hierarchical", "schema": explore_schema(path)}
    if preview == "true":
        rows = newest_first(account_objects(state, key, path))[:PREVIEW_ROWS]
        answer["data"] = [{"data": copy.deepcopy(row)} for row in rows]
    return Reply(200, answer)


# --- source and target connections --------------------------------------------------------------------------


def create_source_connection(state: State, call: Call) -> Reply:
    """POST /sourceConnections (createSourceConnection) -> 201 {id, etag}."""
    body = call.json_object()
    _require_str(body, "name")
    base_id = _require_str(body, "baseConnectionId")
    if base_id not in _objects(state, call, "connections"):
        raise _bad(f"base connection '{base_id}' does not exist")
    _require_spec(body.get("connectionSpec"), STRIPE_CONNECTION_SPEC, "connectionSpec")
    data = body.get("data")
    if not isinstance(data, dict) or data.get("format") != "json":
        raise _bad("data.format must be 'json'")
    params = body.get("params")
    path = params.get("resourcePath") if isinstance(params, dict) else None
    if path not in RESOURCE_PATHS:
        raise _bad(f"params.resourcePath must be one of {list(RESOURCE_PATHS)}")
    obj = _stamp(state, call, copy.deepcopy(body))
    obj["state"] = "enabled"
    _objects(state, call, "sourceConnections")[obj["id"]] = obj
    return _created(obj)


def create_target_connection(state: State, call: Call) -> Reply:
    """POST /targetConnections (createTargetConnection): data lake, parquet_xdm -> 201 {id, etag}."""
    body = call.json_object()
    _require_str(body, "name")
    _require_spec(body.get("connectionSpec"), DATA_LAKE_CONNECTION_SPEC, "connectionSpec")
    data = body.get("data")
    if not isinstance(data, dict) or data.get("format") != "parquet_xdm":
        raise _bad("data.format must be 'parquet_xdm'")
    schema = data.get("schema")
    schema_id = schema.get("id") if isinstance(schema, dict) else None
    sandbox = state.sandbox(call.sandbox)
    if not any(s["$id"] == schema_id for s in sandbox["schemas"].values()):
        raise _bad(f"data.schema.id '{schema_id}' is not an XDM schema of this sandbox")
    params = body.get("params")
    dataset_id = params.get("dataSetId") if isinstance(params, dict) else None
    if not isinstance(dataset_id, str) or dataset_id not in sandbox["dataSets"]:
        raise _bad(f"params.dataSetId '{dataset_id}' is not a dataset of this sandbox")
    obj = _stamp(state, call, copy.deepcopy(body))
    obj["state"] = "enabled"
    sandbox["targetConnections"][obj["id"]] = obj
    return _created(obj)


def list_source_connections(state: State, call: Call) -> Reply:
    """GET /sourceConnections (getSourceConnections)."""
    return list_page(call, list(_objects(state, call, "sourceConnections").values()))


def list_target_connections(state: State, call: Call) -> Reply:
    """GET /targetConnections (getTargetConnections)."""
    return list_page(call, list(_objects(state, call, "targetConnections").values()))


def get_source_connection(state: State, call: Call) -> Reply:
    """GET /sourceConnections/{id} (retrieveSourceConnection) -> {"items": [...]}."""
    return Reply(200, {"items": [_get(state, call, "sourceConnections", "Source connection")]})


def get_target_connection(state: State, call: Call) -> Reply:
    """GET /targetConnections/{id} (retrieveTargetConnection) -> {"items": [...]}."""
    return Reply(200, {"items": [_get(state, call, "targetConnections", "Target connection")]})


# --- flows --------------------------------------------------------------------------------------------------


def _as_int(value: Any, what: str) -> int:
    """An integer given as a JSON integer or a numeric string (the tutorial and the spec disagree)."""
    if isinstance(value, bool):
        raise _bad(f"{what} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise _bad(f"{what} must be an integer or a numeric string, got {value!r}")


def check_schedule(schedule: Any) -> None:
    """Adobe's schedule rules (spec ScheduleSpecDTO; tutorial). Raises ApiError 400."""
    if not isinstance(schedule, dict):
        raise _bad("scheduleParams is required")
    _as_int(schedule.get("startTime"), "scheduleParams.startTime")
    frequency = schedule.get("frequency")
    if frequency not in FREQUENCIES:
        raise _bad(f"scheduleParams.frequency must be one of {list(FREQUENCIES)}")
    interval = schedule.get("interval")
    if frequency == "once":
        if interval is not None:
            raise _bad("scheduleParams.interval is not allowed when frequency is 'once'")
        if schedule.get("backfill"):
            raise _bad("backfill is not allowed when frequency is 'once'")
        return
    value = _as_int(interval, "scheduleParams.interval")
    minimum = 15 if frequency == "minute" else 1
    if value < minimum:
        raise _bad(f"scheduleParams.interval must be >= {minimum} when frequency is '{frequency}'")


def _check_flow_refs(state: State, call: Call, flow: dict[str, Any]) -> None:
    sandbox = state.sandbox(call.sandbox)
    for key, kind in (
        ("sourceConnectionIds", "sourceConnections"),
        ("targetConnectionIds", "targetConnections"),
    ):
        ids = flow.get(key)
        if not isinstance(ids, list) or not ids:
            raise _bad(f"{key} must be a non-empty list")
        for object_id in ids:
            if object_id not in sandbox[kind]:
                raise _bad(f"{key}: '{object_id}' does not exist")
    for transformation in flow.get("transformations") or []:
        params = transformation.get("params") if isinstance(transformation, dict) else None
        if isinstance(transformation, dict) and transformation.get("name") == "Mapping":
            mapping_id = params.get("mappingId") if isinstance(params, dict) else None
            if mapping_id not in sandbox["mappingSets"]:
                raise _bad(f"mapping set '{mapping_id}' does not exist")


def create_flow(state: State, call: Call) -> Reply:
    """POST /flows (createFlow) -> 201 {id, etag}; the flow is enabled."""
    body = call.json_object()
    _require_str(body, "name")
    _require_spec(body.get("flowSpec"), FLOW_SPEC, "flowSpec")
    _check_flow_refs(state, call, body)
    check_schedule(body.get("scheduleParams"))
    obj = _stamp(state, call, copy.deepcopy(body))
    obj["state"] = "enabled"
    _objects(state, call, "flows")[obj["id"]] = obj
    return _created(obj)


def _with_runs(state: State, flow: dict[str, Any]) -> dict[str, Any]:
    details = last_run_details(state.runs.get(flow["id"], []))
    if details is None:
        return flow
    return {**flow, "lastRunDetails": details}


def list_flows(state: State, call: Call) -> Reply:
    """GET /flows (listFlows): items carry lastRunDetails once runs exist."""
    flows = [_with_runs(state, f) for f in _objects(state, call, "flows").values()]
    return list_page(call, flows)


def get_flow(state: State, call: Call) -> Reply:
    """GET /flows/{id} (retrieveFlow) -> {"items": [flow]}."""
    return Reply(200, {"items": [_with_runs(state, _get(state, call, "flows", "Flow"))]})


def flow_action(state: State, call: Call) -> Reply:
    """POST /flows/{id}/action?op=ENABLE|DISABLE (postStateTransition) -> 200 {id, etag}."""
    flow = _get(state, call, "flows", "Flow")
    op = (call.arg("op") or "").upper()
    if op not in ("ENABLE", "DISABLE"):
        raise _bad("op must be ENABLE or DISABLE")
    if_match = call.headers.get("if-match")
    if if_match is not None and if_match != flow["etag"]:
        raise ApiError(412, "flow", STALE, "If-Match does not match the current etag")
    flow["state"] = "enabled" if op == "ENABLE" else "disabled"
    flow["etag"] = new_etag()
    flow["updatedAt"] = state.now_ms()
    return Reply(200, {"id": flow["id"], "etag": flow["etag"]})


# --- PATCH (JSON Patch + If-Match) --------------------------------------------------------------------------

_READ_ONLY = (
    "/id",
    "/etag",
    "/createdAt",
    "/updatedAt",
    "/createdBy",
    "/createdClient",
    "/sandboxName",
    "/imsOrgId",
)


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise _bad(f"JSON Patch path must start with '/': {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def apply_patch(doc: dict[str, Any], ops: Any) -> dict[str, Any]:
    """A patched deep copy of `doc` (ops add/replace/remove on objects and list indexes). Raises ApiError
    400."""
    if not isinstance(ops, list) or not ops:
        raise _bad("the body must be a non-empty JSON Patch array")
    result = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or op.get("op") not in ("add", "replace", "remove"):
            raise _bad(f"unsupported JSON Patch operation {op!r} (use add, replace or remove)")
        path = op.get("path")
        if not isinstance(path, str) or any(path == p or path.startswith(p + "/") for p in _READ_ONLY):
            raise _bad(f"path {path!r} cannot be patched")
        parts = _pointer(path)
        parent: Any = result
        for part in parts[:-1]:
            if isinstance(parent, dict) and part in parent:
                parent = parent[part]
            elif isinstance(parent, list) and part.isdigit() and int(part) < len(parent):
                parent = parent[int(part)]
            else:
                raise _bad(f"path {path!r} does not exist")
        last = parts[-1]
        kind = op["op"]
        if kind != "remove" and "value" not in op:
            raise _bad(f"'{kind}' needs a value")
        if isinstance(parent, dict):
            if kind in ("replace", "remove") and last not in parent:
                raise _bad(f"path {path!r} does not exist")
            if kind == "remove":
                del parent[last]
            else:
                parent[last] = copy.deepcopy(op["value"])
        elif isinstance(parent, list):
            if last == "-" and kind == "add":
                parent.append(copy.deepcopy(op["value"]))
                continue
            if not last.isdigit() or int(last) > len(parent) or (kind != "add" and int(last) >= len(parent)):
                raise _bad(f"path {path!r} does not exist")
            index = int(last)
            if kind == "add":
                parent.insert(index, copy.deepcopy(op["value"]))
            elif kind == "replace":
                parent[index] = copy.deepcopy(op["value"])
            else:
                del parent[index]
        else:
            raise _bad(f"path {path!r} does not exist")
    return result


def _patch(state: State, call: Call, kind: str, label: str) -> Reply:
    current = _get(state, call, kind, label)
    if_match = call.headers.get("if-match")
    if if_match is None:
        raise ApiError(400, "flow", MISSING_IF_MATCH, "the If-Match header (the object's etag) is required")
    if if_match != current["etag"]:
        raise ApiError(412, "flow", STALE, f"If-Match {if_match} does not match the current etag")
    patched = apply_patch(current, call.json())
    new_key: str | None = None
    if kind == "connections":
        _require_spec(patched.get("connectionSpec"), STRIPE_CONNECTION_SPEC, "connectionSpec")
        key = _check_auth(patched.get("auth"))
        if key != MASK:
            new_key = key
            patched["auth"]["params"]["accessToken"] = MASK
    elif kind == "flows":
        check_schedule(patched.get("scheduleParams"))
        _check_flow_refs(state, call, patched)
        old_start = _as_int(current["scheduleParams"]["startTime"], "startTime")
        new_start = _as_int(patched["scheduleParams"]["startTime"], "startTime")
        if new_start != old_start and old_start * 1000 <= state.now_ms():
            raise _bad("scheduleParams.startTime cannot be changed once it has passed")
    elif kind == "sourceConnections":
        params = patched.get("params")
        if not isinstance(params, dict) or params.get("resourcePath") not in RESOURCE_PATHS:
            raise _bad(f"params.resourcePath must be one of {list(RESOURCE_PATHS)}")
    if not isinstance(patched.get("name"), str) or not patched["name"]:
        raise _bad("name must be a non-empty string")
    if new_key is not None:
        state.connection_secrets[current["id"]] = new_key
    patched["etag"] = new_etag()
    patched["updatedAt"] = state.now_ms()
    patched["updatedClient"] = call.client_id
    _objects(state, call, kind)[current["id"]] = patched
    return Reply(200, {"id": patched["id"], "etag": patched["etag"]})


def patch_connection(state: State, call: Call) -> Reply:
    """PATCH /connections/{id} (patchConnection), If-Match required -> 200 {id, etag}."""
    return _patch(state, call, "connections", "Connection")


def patch_source_connection(state: State, call: Call) -> Reply:
    """PATCH /sourceConnections/{id} (patchSourceConnection)."""
    return _patch(state, call, "sourceConnections", "Source connection")


def patch_target_connection(state: State, call: Call) -> Reply:
    """PATCH /targetConnections/{id} (patchTargetConnection)."""
    return _patch(state, call, "targetConnections", "Target connection")


def patch_flow(state: State, call: Call) -> Reply:
    """PATCH /flows/{id} (patchFlow); the schedule rules apply to the patched flow."""
    return _patch(state, call, "flows", "Flow")


# --- DELETE -------------------------------------------------------------------------------------------------


def delete_flow(state: State, call: Call) -> Reply:
    """DELETE /flows/{id} (deleteByFlow) -> 204; its runs go with it."""
    flow = _get(state, call, "flows", "Flow")
    del _objects(state, call, "flows")[flow["id"]]
    state.runs.pop(flow["id"], None)
    state.generated_until_ms.pop(flow["id"], None)
    return Reply(204)


def _users(state: State, call: Call, object_id: str, key: str) -> list[str]:
    return [f["id"] for f in _objects(state, call, "flows").values() if object_id in (f.get(key) or [])]


def delete_connection(state: State, call: Call) -> Reply:
    """DELETE /connections/{id} (deleteConnection) -> 204; 400 FLOW-1418-400 while source connections use
    it."""
    connection = _get(state, call, "connections", "Connection")
    users = [
        s["id"]
        for s in _objects(state, call, "sourceConnections").values()
        if s.get("baseConnectionId") == connection["id"]
    ]
    if users:
        raise ApiError(400, "flow", IN_USE, f"connection is in use by source connections {users}; delete them first")
    del _objects(state, call, "connections")[connection["id"]]
    state.connection_secrets.pop(connection["id"], None)
    return Reply(204)


def delete_source_connection(state: State, call: Call) -> Reply:
    """DELETE /sourceConnections/{id} (deleteSourceConnection) -> 204; 400 FLOW-1418-400 while flows use
    it."""
    obj = _get(state, call, "sourceConnections", "Source connection")
    users = _users(state, call, obj["id"], "sourceConnectionIds")
    if users:
        raise ApiError(400, "flow", IN_USE, f"source connection is in use by flows {users}; delete them first")
    del _objects(state, call, "sourceConnections")[obj["id"]]
    return Reply(204)


def delete_target_connection(state: State, call: Call) -> Reply:
    """DELETE /targetConnections/{id} (deleteTargetConnection) -> 204; 400 FLOW-1418-400 while flows use
    it."""
    obj = _get(state, call, "targetConnections", "Target connection")
    users = _users(state, call, obj["id"], "targetConnectionIds")
    if users:
        raise ApiError(400, "flow", IN_USE, f"target connection is in use by flows {users}; delete them first")
    del _objects(state, call, "targetConnections")[obj["id"]]
    return Reply(204)


# --- runs ---------------------------------------------------------------------------------------------------


def list_runs(state: State, call: Call) -> Reply:
    """GET /runs (listFlowRuns), usually `property=flowId==X`; newest first by default."""
    flows = _objects(state, call, "flows")
    runs = [run for flow_id in flows for run in state.runs.get(flow_id, [])]
    return list_page(call, runs, default_orderby="-createdAt")


_MS_THRESHOLD = 10**11  # epoch values at or above this are milliseconds


def _epoch_s(params: dict[str, Any], key: str, default: int | None = None) -> int:
    value = params.get(key, default)
    if isinstance(value, str) and value.isdigit():  # the guide's examples send strings
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(f"params.{key} must be unix time (epoch seconds)")
    if value >= _MS_THRESHOLD:
        raise _bad(f"params.{key} must be unix time in seconds, not milliseconds")
    return value


def create_run(state: State, call: Call) -> Reply:
    """POST /runs (createFlowRun; EN on-demand-ingestion.md) -> 201 {id, etag}: an on-demand run of an
    enabled flow over [windowStartTime, windowEndTime] (epoch s; the window may not end in the future)."""
    body = call.json_object()
    flow_id = _require_str(body, "flowId")
    params = body.get("params")
    if not isinstance(params, dict):
        raise _bad("'params' is required: {startTime, windowStartTime, windowEndTime}")
    flow = _objects(state, call, "flows").get(flow_id)
    if flow is None:
        raise _not_found("Flow", flow_id)
    if flow.get("state") != "enabled":
        raise _bad(f"flow '{flow_id}' is disabled; on-demand runs need an enabled flow")
    start = _epoch_s(params, "windowStartTime")
    end = _epoch_s(params, "windowEndTime")
    start_time = _epoch_s(params, "startTime", end)
    if end <= start:
        raise _bad("params.windowEndTime must be after params.windowStartTime")
    if end > state.now_ms() // 1000:
        raise _bad("params.windowEndTime is in the future")
    run = start_flow_run(state, flow, window_start_s=start, window_end_s=end, start_time_s=start_time)
    return Reply(201, {"id": run["id"], "etag": run["etag"]})
