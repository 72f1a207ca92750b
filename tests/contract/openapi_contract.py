"""Check requests the AEP simulator received against Adobe's published OpenAPI specs.

The specs live in ``<repo>/../shared/aep-openapi/`` (never copied into the repo). Each recorded request is
matched on its path (the specs' servers are templated ``//{environment}.adobe.io/data/foundation/...``) and
validated with openapi-core: operation exists, required parameters and headers present, body matches the
schema.

Tolerated differences (aep-api-notes.md, "Where Adobe's OpenAPI specs and the Stripe tutorial disagree"): the
client follows the tutorial on these, so the request is rewritten to the spec's form before validation. Each
has
a test in ``test_tolerated_differences.py`` showing the spec really rejects the tutorial's form.

Counters are module-level so every conftest (this repo's and the integration stack's) adds to one session
total.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

SHARED_DIR = Path(__file__).resolve().parents[2] / ".." / "shared"
SPEC_DIR = SHARED_DIR / "aep-openapi"
SKIP_REASON = f"Adobe's OpenAPI specs not found at {SPEC_DIR.resolve()} (../shared is absent)"
HOST_URL = "https://platform.adobe.io"

# Path prefix on platform.adobe.io -> spec file. Schema Registry: the OpenAPI 3 conversion (openapi-core reads
# only OpenAPI 3).
SPEC_FILES: dict[str, str] = {
    "/data/foundation/flowservice": "flow-service.yaml",
    "/data/foundation/schemaregistry": "schema-registry.openapi3.yaml",
    "/data/foundation/catalog": "catalog.yaml",
    "/data/foundation/conversion": "data-prep.yaml",
}

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def specs_available() -> bool:
    return all((SPEC_DIR / name).is_file() for name in SPEC_FILES.values())


# ---- counters (whole session) -------------------------------------------------------------------------

_lock = threading.Lock()
requests_validated = 0
operations_covered: set[str] = set()
tolerated_seen: dict[str, int] = {}


def summary_line() -> str:
    return (
        f"contract: {requests_validated} requests validated against Adobe's OpenAPI specs, "
        f"{len(operations_covered)} operations covered"
    )


# ---- loading ----------------------------------------------------------------------------------------------


def _normalise(spec: dict[str, Any], base_path: str) -> dict[str, Any]:
    """Make a spec loadable and path-matchable:
    - servers -> one concrete ``https://platform.adobe.io/data/foundation/<api>`` (we match on path);
    - trailing slashes dropped from path keys (flow-service's ``DELETE /connections/{id}/``);
    - duplicate parameters (same name and ``in``; catalog.yaml lists ``x-api-key`` twice) dropped;
    - integer response codes turned into strings (YAML reads ``200:`` as an int in catalog.yaml).
    """
    spec = copy.deepcopy(spec)
    spec["servers"] = [{"url": HOST_URL + base_path}]
    refs = spec.get("components", {}).get("parameters", {})

    def key(param: dict[str, Any]) -> tuple[str, str]:
        if "$ref" in param:
            target = refs.get(param["$ref"].rsplit("/", 1)[-1], {})
            return (str(target.get("name", param["$ref"])).lower(), str(target.get("in", "")))
        return (str(param.get("name", "")).lower(), str(param.get("in", "")))

    def dedupe(params: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen: set[tuple[str, str]] = set()
        kept = []
        for param in params:
            k = key(param)
            if k not in seen:
                seen.add(k)
                kept.append(param)
        return kept

    paths: dict[str, Any] = {}
    for raw_path, item in spec.get("paths", {}).items():
        path = raw_path.rstrip("/") or "/"
        merged = paths.setdefault(path, {})
        for method, op in item.items():
            if method == "parameters":
                merged["parameters"] = dedupe(op)
                continue
            if method in _METHODS and isinstance(op, dict):
                op["parameters"] = dedupe(op.get("parameters", []))
                op["responses"] = {str(code): resp for code, resp in op.get("responses", {}).items()}
            merged[method] = op
    spec["paths"] = paths
    return spec


@cache
def _spec_dict(base_path: str) -> dict[str, Any]:
    """The normalised spec of one API (read once per process; libyaml's loader when available)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with (SPEC_DIR / SPEC_FILES[base_path]).open(encoding="utf-8") as fh:
        raw = yaml.load(fh, Loader=loader)  # noqa: S506 (a safe loader)
    return _normalise(raw, base_path)


@cache
def _openapi(base_path: str) -> OpenAPI:
    """The openapi-core object of one API (built once per process)."""
    # Adobe's files carry documentation slips (e.g. `description: null`) that fail openapi-spec-validator's
    # meta-schema; they do not affect request validation, so the spec check is skipped (also faster to load).
    return OpenAPI.from_dict(copy.deepcopy(_spec_dict(base_path)), config=Config(spec_validator_cls=None))


@cache
def _operation_ids(base_path: str) -> dict[tuple[str, str], str]:
    """(method, normalised path template) -> operationId."""
    spec = _spec_dict(base_path)
    out: dict[tuple[str, str], str] = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in _METHODS and isinstance(op, dict):
                out[(method, path)] = str(op.get("operationId", f"{method.upper()} {path}"))
    return out


# ---- the request as openapi-core sees it ----------------------------------------------------------------


@dataclass
class SpecRequest:
    """An openapi-core ``Request`` built from a recorded request."""

    host_url: str
    path: str
    method: str
    parameters: RequestParameters
    body: bytes | None
    content_type: str


def _query_pairs(query: Any) -> list[tuple[str, str]]:
    if query is None:
        return []
    if isinstance(query, bytes):
        query = query.decode()
    if isinstance(query, str):
        return parse_qsl(query.lstrip("?"), keep_blank_values=True)
    pairs: list[tuple[str, str]] = []
    items = query.items() if hasattr(query, "items") else query
    for name, value in items:
        if isinstance(value, list | tuple):
            pairs.extend((name, str(v)) for v in value)
        else:
            pairs.append((name, str(value)))
    return pairs


def _body_bytes(body: Any) -> bytes | None:
    if body is None or body in (b"", ""):
        return None
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


# ---- tolerated differences (client follows the tutorial) --------------------------------------------------
# Each rewrites the tutorial's form into the spec's form; each is tested in test_tolerated_differences.py.

Rewrite = Callable[[str, list[tuple[str, str]], Any], tuple[list[tuple[str, str]], Any]]


def _explore_object_type(op: str, query: list[tuple[str, str]], body: Any) -> tuple[list[tuple[str, str]], Any]:
    # Tutorial: objectType=rest; spec enum: ROOT, TABLE, FILE, FOLDER, REST.
    return [(k, "REST" if k == "objectType" and v == "rest" else v) for k, v in query], body


def _flow_mapping_version(op: str, query: list[tuple[str, str]], body: Any) -> tuple[list[tuple[str, str]], Any]:
    # Tutorial: transformations[].params.mappingVersion integer 0; spec: string.
    if isinstance(body, dict):
        for transformation in body.get("transformations") or []:
            params = transformation.get("params") if isinstance(transformation, dict) else None
            if isinstance(params, dict) and isinstance(params.get("mappingVersion"), int):
                params["mappingVersion"] = str(params["mappingVersion"])
    return query, body


def _flow_interval(op: str, query: list[tuple[str, str]], body: Any) -> tuple[list[tuple[str, str]], Any]:
    # Tutorial: scheduleParams.interval integer; spec: string. (PATCH values are free-form in the spec.)
    schedule = body.get("scheduleParams") if isinstance(body, dict) else None
    if isinstance(schedule, dict) and isinstance(schedule.get("interval"), int):
        schedule["interval"] = str(schedule["interval"])
    return query, body


def _state_transition_sub_op(op: str, query: list[tuple[str, str]], body: Any) -> tuple[list[tuple[str, str]], Any]:
    # EN update-dataflows.md / the tutorial's docs enable and disable with ?op=ENABLE|DISABLE only; the spec
    # marks
    # the FINALIZE_UPDATE companion `subOp` required for every op. Not in aep-api-notes' table: found here.
    if not any(k == "subOp" for k, _ in query) and any(k == "op" and v in ("ENABLE", "DISABLE") for k, v in query):
        return [*query, ("subOp", "APPLY")], body
    return query, body


def _patch_op_case(op: str, query: list[tuple[str, str]], body: Any) -> tuple[list[tuple[str, str]], Any]:
    # EN update-dataflows.md / update.md (and the spec's own description) write ops as add|replace|remove; the
    # PatchInstruction schema's enum is ADD|REPLACE|REMOVE.
    for item in body if isinstance(body, list) else [body]:
        if isinstance(item, dict) and isinstance(item.get("op"), str) and item["op"].islower():
            item["op"] = item["op"].upper()
    return query, body


def _patch_value_type(op: str, query: list[tuple[str, str]], body: Any) -> tuple[list[tuple[str, str]], Any]:
    # EN docs replace scalars (`"value": "day"`) and send no value with `remove`; the spec types `value` as an
    # object and requires it. Only the value's type is relaxed: op and path are still checked.
    for item in body if isinstance(body, list) else [body]:
        if isinstance(item, dict) and not isinstance(item.get("value"), dict):
            item["value"] = {}
    return query, body


def _patch_connection_array(op: str, query: list[tuple[str, str]], body: Any) -> tuple[list[tuple[str, str]], Any]:
    # EN update.md sends a JSON Patch array to PATCH /connections/{id}; the spec's body is one
    # PatchInstruction.
    # The first operation is validated (the client sends one per rotation).
    if isinstance(body, list) and body:
        return query, body[0]
    return query, body


def _patch_field_group_value(op: str, query: list[tuple[str, str]], body: Any) -> tuple[list[tuple[str, str]], Any]:
    # schema-registry.openapi3.yaml types a JSON Patch `value` as a string, while its own patchFieldGroup
    # example (and RFC 6902, and the field groups guide) adds an object (a field's definition). Only the value's
    # type is relaxed: op and path are still checked.
    for item in body if isinstance(body, list) else [body]:
        if isinstance(item, dict) and not isinstance(item.get("value"), str) and "value" in item:
            item["value"] = json.dumps(item["value"])
    return query, body


_PATCH_TOLERATED: list[tuple[str, Rewrite]] = [
    ("PATCH op lower-case add|replace|remove (spec enum upper-case)", _patch_op_case),
    ("PATCH value not an object / absent for remove (spec: object, required)", _patch_value_type),
]

# operationId -> (name, rewrite). The names are what tests and the summary report.
TOLERATED: dict[str, list[tuple[str, Rewrite]]] = {
    "getByConnectionId": [("explore objectType 'rest' (spec enum REST)", _explore_object_type)],
    "createFlow": [
        ("flow transformations[].params.mappingVersion integer (spec string)", _flow_mapping_version),
        ("flow scheduleParams.interval integer (spec string)", _flow_interval),
    ],
    "postStateTransition": [("flow action without subOp (spec requires it)", _state_transition_sub_op)],
    "patchFlow": _PATCH_TOLERATED,
    "patchFieldGroup": [
        ("patchFieldGroup value an object (spec: string; its own example adds an object)", _patch_field_group_value)
    ],
    "patchSourceConnection": _PATCH_TOLERATED,
    "patchTargetConnection": _PATCH_TOLERATED,
    "patchConnection": [
        ("PATCH /connections body an array (spec: one PatchInstruction)", _patch_connection_array),
        *_PATCH_TOLERATED,
    ],
}
# Not tolerated (the client follows the spec; tests show the spec rejects the tutorial's form):
# scheduleParams.startTime is an integer (tutorial shows a string), createSchema bodies carry a description.


# ---- validation -------------------------------------------------------------------------------------------


def _field(req: Any, name: str, default: Any = None) -> Any:
    if isinstance(req, dict):
        return req.get(name, default)
    return getattr(req, name, default)


def _split_path(full_path: str) -> tuple[str, str] | None:
    for base in SPEC_FILES:
        if full_path == base or full_path.startswith(base + "/"):
            return base, full_path[len(base) :] or "/"
    return None


def _match_template(base: str, method: str, sub_path: str) -> tuple[str, str] | None:
    """(template, operationId) of the spec path matching ``sub_path`` (literal segments win over
    parameters)."""
    parts = sub_path.rstrip("/").split("/")
    best: tuple[int, str, str] | None = None
    for (m, template), op_id in _operation_ids(base).items():
        if m != method:
            continue
        tparts = template.split("/")
        if len(tparts) != len(parts):
            continue
        score = 0
        for t, p in zip(tparts, parts, strict=True):
            if t.startswith("{") and t.endswith("}"):
                continue
            if t != p:
                break
            score += 1
        else:
            if best is None or score > best[0]:
                best = (score, template, op_id)
    return (best[1], best[2]) if best else None


_KEPT_HEADERS = frozenset({"content-type", "accept"})
_MAX_VERDICTS = 50_000
_verdicts: dict[tuple[Any, ...], tuple[str, ...]] = {}


def _body_shape(body: Any, raw_body: bytes | None) -> Any:
    """The body for the verdict cache: top-level ``name``/``description`` strings and ``…Id`` / ``…Ids``
    strings (plain ``type: string`` in every create schema of the four specs) are masked; the rest is kept."""
    if not isinstance(body, dict):
        return raw_body
    masked: dict[str, Any] = {}
    for k, v in body.items():
        if isinstance(v, str) and (k in ("name", "description") or k.endswith("Id")):
            masked[k] = "*"
        elif k.endswith("Ids") and isinstance(v, list) and all(isinstance(x, str) for x in v):
            masked[k] = ["*"] * len(v)
        else:
            masked[k] = v
    return json.dumps(masked, sort_keys=True)


@cache
def _free_text_query_params(base: str, method: str, template: str) -> frozenset[str]:
    """Query parameters of an operation whose schema is a plain string (no enum, pattern or format)."""
    spec = _spec_dict(base)
    refs = spec.get("components", {}).get("parameters", {})
    item = spec["paths"][template]
    free = set()
    for param in [*item.get("parameters", []), *item[method].get("parameters", [])]:
        if "$ref" in param:
            param = refs.get(param["$ref"].rsplit("/", 1)[-1], {})
        schema = param.get("schema") or {}
        if param.get("in") != "query":
            continue
        items = schema.get("items") if schema.get("type") == "array" else schema
        if (
            isinstance(items, dict)
            and items.get("type") == "string"
            and not ({"enum", "pattern", "format"} & set(items))
        ):
            free.add(str(param.get("name")))
    return frozenset(free)


def validate_request(req: Any) -> list[str]:
    """Violations (empty when valid) of one recorded request. ``req`` has method, path, query, headers, body
    (attributes or dict keys). IMS and other non-Platform paths are not validated (returns [])."""
    global requests_validated
    full_path = str(_field(req, "path", "")).split("?", 1)[0]
    split = _split_path(full_path)
    if split is None:
        return []  # IMS (/ims/token/v3) and anything outside the four APIs: no published spec here
    base, sub_path = split
    method = str(_field(req, "method", "GET")).lower()
    label = f"{method.upper()} {full_path}"
    matched = _match_template(base, method, sub_path)
    if matched is None:
        return [f"{label}: no such operation in {SPEC_FILES[base]}"]
    _template, op_id = matched

    query = _query_pairs(_field(req, "query"))
    raw_body = _body_bytes(_field(req, "body"))
    body: Any = None
    if raw_body is not None:
        try:
            body = json.loads(raw_body)
        except ValueError:
            body = None
    tolerated = []
    for name, rewrite in TOLERATED.get(op_id, []):
        before = (list(query), json.dumps(body, sort_keys=True))
        query, body = rewrite(op_id, query, body)
        if (query, json.dumps(body, sort_keys=True)) != before:
            tolerated.append(name)
    if body is not None:
        raw_body = json.dumps(body).encode()

    headers = Headers([(str(k), str(v)) for k, v in dict(_field(req, "headers", {}) or {}).items()])
    content_type = headers.get("Content-Type", "application/json" if raw_body else "")
    request = SpecRequest(
        host_url=HOST_URL,
        path=full_path,
        method=method,
        parameters=RequestParameters(query=ImmutableMultiDict(query), header=headers),
        body=raw_body,
        content_type=content_type.lower(),
    )
    # Identical shapes get identical verdicts: ids in the path (the template), free-text query values and
    # header values (all plain strings in the specs) do not change the outcome, so they are masked in the key.
    # Bodies are kept whole except top-level free-text names and ids (see _body_shape). Measured: 2,002
    # requests (500 creates, 1,500 GETs) validate in ~0.4 s with the cache, ~20 s without.
    free = _free_text_query_params(base, method, _template)
    key = (
        method,
        _template,
        tuple((k, "*" if k in free else v) for k, v in query),
        tuple(sorted((k.lower(), v if k.lower() in _KEPT_HEADERS else "*") for k, v in headers.items())),
        _body_shape(body, raw_body),
    )
    cached = _verdicts.get(key)
    if cached is None:
        cached = tuple(_describe(err) for err in _openapi(base).iter_request_errors(request))
        with _lock:
            if len(_verdicts) < _MAX_VERDICTS:
                _verdicts[key] = cached
    errors = [f"{label} ({op_id}): {text}" for text in cached]
    with _lock:
        requests_validated += 1
        operations_covered.add(op_id)
        for name in tolerated:
            tolerated_seen[name] = tolerated_seen.get(name, 0) + 1
    return errors


def _describe(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}"
    cause = err.__cause__
    schema_errors = getattr(cause, "schema_errors", None) or getattr(err, "schema_errors", None)
    if schema_errors:
        details = "; ".join(
            f"{'/'.join(str(p) for p in e.absolute_path) or '<body>'}: {e.message}" for e in schema_errors
        )
        text += f" [{details}]"
    elif cause is not None:
        text += f" ({type(cause).__name__}: {cause})"
    return " ".join(text.split())[:600]


def check_requests(requests: Iterable[Any]) -> None:
    """Validate every recorded request; raise ``AssertionError`` listing all violations. Skipped silently (no
    counting) when the specs are absent: the caller decides whether to skip."""
    if not specs_available():
        return
    violations: list[str] = []
    for req in list(requests):
        violations.extend(validate_request(req))
    if violations:
        shown = "\n  ".join(violations[:50])
        more = f"\n  ... and {len(violations) - 50} more" if len(violations) > 50 else ""
        raise AssertionError(f"{len(violations)} request(s) violate Adobe's OpenAPI specs:\n  {shown}{more}")
