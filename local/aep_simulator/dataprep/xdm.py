"""XDM schemas stored in the simulator -> JSON Schema, and validation of output rows with jsonschema.

Resolution, as the Schema Registry composes a schema (help/xdm/api/schemas.md, "composition"; field types
from help/xdm/schema/field-constraints.md "XDM field type constraints"):

- the schema's `allOf` names one class and field groups; their `properties` (top level and under
  `definitions.*`) are merged, deeper objects merged field by field;
- the ExperienceEvent class (`https://ns.adobe.com/xdm/context/experienceevent`) brings `_id` (string) and
  `timestamp` (date-time), both required, and `eventType` (string); a record class (custom, extending
  `https://ns.adobe.com/xdm/data/record`) brings `_id` (string, optional) plus its own properties;
- XDM objects are closed: a field not in the schema makes the row invalid (additional properties false);
- `meta:xdmType: map` objects are maps: `additionalProperties` gives the value type, keys are free; an object
  without that marker is a plain object whatever `additionalProperties` it carries (the simulator's reading:
  the Schema Registry keeps maps only by `meta:xdmType`);
- integers: the field's own `minimum`/`maximum`, else the range of its `meta:xdmType` (`long` +-2^53-1, `int`
  32-bit, `short` 16-bit, `byte` 8-bit; `int` when neither is given); `number` is XDM double;
- strings keep `format` (`date-time` RFC 3339, `date`, `email`, `uri`, `uuid`), `enum`, `pattern`,
  `minLength`/`maxLength`; arrays keep `items`;
- `required` lists are kept.

Validation uses jsonschema's Draft 2020-12 validator with its format checker (rfc3339-validator checks
`date-time`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

from .expressions import ConversionError
from .mapping import WILDCARD, Coercer, split_path

__all__ = ["EXPERIENCE_EVENT", "coercer", "field_schema", "resolve_schema", "validate_row", "validator"]

EXPERIENCE_EVENT = "https://ns.adobe.com/xdm/context/experienceevent"
RECORD_BEHAVIOUR = "https://ns.adobe.com/xdm/data/record"
TIME_SERIES_BEHAVIOUR = "https://ns.adobe.com/xdm/data/time-series"

_INT_RANGES = {
    "long": (-9007199254740991, 9007199254740991),
    "int": (-2147483648, 2147483647),
    "short": (-32768, 32767),
    "byte": (-128, 127),
}
_STRING_KEYWORDS = ("format", "enum", "pattern", "minLength", "maxLength")

_EVENT_CLASS_FIELDS: dict[str, Any] = {
    "_id": {"type": "string"},
    "timestamp": {"type": "string", "format": "date-time"},
    "eventType": {"type": "string"},
}


def _properties_of(body: Mapping[str, Any]) -> list[tuple[dict[str, Any], list[str]]]:
    found: list[tuple[dict[str, Any], list[str]]] = []
    for definition in (body.get("definitions") or {}).values():
        if isinstance(definition, dict) and isinstance(definition.get("properties"), dict):
            found.append((definition["properties"], list(definition.get("required") or [])))
    if isinstance(body.get("properties"), dict):
        found.append((body["properties"], list(body.get("required") or [])))
    return found


def _merge(into: dict[str, Any], properties: Mapping[str, Any]) -> None:
    for name, spec in properties.items():
        current = into.get(name)
        if (
            isinstance(current, dict)
            and isinstance(spec, dict)
            and isinstance(current.get("properties"), dict)
            and isinstance(spec.get("properties"), dict)
        ):
            merged = {**current, **{k: v for k, v in spec.items() if k != "properties"}}
            merged["properties"] = dict(current["properties"])
            _merge(merged["properties"], spec["properties"])
            merged["required"] = sorted(set(current.get("required") or []) | set(spec.get("required") or []))
            into[name] = merged
        else:
            into[name] = copy.deepcopy(spec)


def to_json_schema(field: Mapping[str, Any]) -> dict[str, Any]:
    """One XDM field definition -> JSON Schema (see the module docstring). Raises ValueError for a field with
    no type the Schema Registry accepts."""
    xdm_type = field.get("meta:xdmType")
    kind = field.get("type")
    if xdm_type == "map":
        values = field.get("additionalProperties")
        return {"type": "object", "additionalProperties": to_json_schema(values) if isinstance(values, dict) else {}}
    if kind == "object" or (kind is None and isinstance(field.get("properties"), dict)):
        properties = {k: to_json_schema(v) for k, v in (field.get("properties") or {}).items()}
        out: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
        if field.get("required"):
            out["required"] = list(field["required"])
        return out
    if kind == "array":
        items = field.get("items")
        return {"type": "array", "items": to_json_schema(items) if isinstance(items, dict) else {}}
    if kind == "integer":
        low, high = _INT_RANGES.get(str(xdm_type or "int"), _INT_RANGES["int"])
        return {"type": "integer", "minimum": field.get("minimum", low), "maximum": field.get("maximum", high)}
    if kind == "number":
        return {"type": "number"}
    if kind == "boolean":
        return {"type": "boolean"}
    if kind == "string":
        out = {"type": "string"}
        out.update({k: field[k] for k in _STRING_KEYWORDS if k in field})
        return out
    raise ValueError(f"an XDM field needs a type, got {dict(field)!r}"[:200])


def resolve_schema(sandbox: Mapping[str, Mapping[str, Any]], schema_id: str) -> dict[str, Any]:
    """The JSON Schema of the XDM schema `schema_id` ($id) from a sandbox's stored objects (`State.sandbox`).

    Raises KeyError when the schema, its class or a field group is not in the sandbox.
    """
    schema = next((s for s in sandbox["schemas"].values() if s["$id"] == schema_id), None)
    if schema is None:
        raise KeyError(f"XDM schema {schema_id!r} does not exist in this sandbox")
    classes = {c["$id"]: c for c in sandbox["classes"].values()}
    groups = {g["$id"]: g for g in sandbox["fieldgroups"].values()}
    properties: dict[str, Any] = {}
    required: set[str] = set()
    for ref in schema.get("allOf") or []:
        target = ref.get("$ref") if isinstance(ref, dict) else None
        if target == EXPERIENCE_EVENT:
            _merge(properties, _EVENT_CLASS_FIELDS)
            required |= {"_id", "timestamp"}
        elif target in classes:
            _merge(properties, {"_id": {"type": "string"}})
            for props, req in _properties_of(classes[target]):
                _merge(properties, props)
                required |= set(req)
            behaviours = [r.get("$ref") for r in classes[target].get("allOf") or [] if isinstance(r, dict)]
            if TIME_SERIES_BEHAVIOUR in behaviours:
                _merge(properties, {"timestamp": _EVENT_CLASS_FIELDS["timestamp"]})
                required |= {"_id", "timestamp"}
        elif target in groups:
            for props, req in _properties_of(groups[target]):
                _merge(properties, props)
                required |= set(req)
        elif isinstance(target, str) and target.startswith("https://ns.adobe.com/xdm/"):
            _merge(properties, {"_id": {"type": "string"}})
        else:
            raise KeyError(f"XDM schema {schema_id!r} references {target!r}, which is not in this sandbox")
    root = to_json_schema({"type": "object", "properties": properties, "required": sorted(required)})
    root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    root["title"] = schema.get("title", "")
    return root


def validator(json_schema: Mapping[str, Any]) -> Draft202012Validator:
    """A jsonschema validator (format checks on) for a resolved schema."""
    return Draft202012Validator(json_schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def validate_row(json_schema: Mapping[str, Any] | Draft202012Validator, row: Any) -> list[str]:
    """Why `row` is not valid XDM for the schema: `"<json path>: <reason>"` messages, [] when valid."""
    checker = json_schema if isinstance(json_schema, Draft202012Validator) else validator(json_schema)
    errors = sorted(checker.iter_errors(row), key=lambda e: (list(e.absolute_path), e.message))
    return [f"{_where(e)}: {e.message}" for e in errors]


def _where(error: jsonschema.ValidationError) -> str:
    return "/" + "/".join(str(p) for p in error.absolute_path)


def field_schema(json_schema: Mapping[str, Any], destination: str) -> dict[str, Any] | None:
    """The JSON Schema of a destination path (`a.b[*].c`, `[n]`) in a resolved schema, or None when absent."""
    node: Any = json_schema
    try:
        parts = split_path(destination)
    except ValueError:
        return None
    for part in parts:
        if part == WILDCARD or isinstance(part, int):
            node = node.get("items") if isinstance(node, dict) and node.get("type") == "array" else None
        elif isinstance(node, dict) and node.get("type") == "object":
            properties = node.get("properties") or {}
            if part in properties:
                node = properties[part]
            elif isinstance(node.get("additionalProperties"), dict):
                node = node["additionalProperties"]
            else:
                return None
        else:
            return None
        if node is None:
            return None
    return node if isinstance(node, dict) else None


def _coerce(schema: Mapping[str, Any], value: Any, destination: str) -> Any:
    kind = schema.get("type")
    if kind == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return value
    if kind == "integer":
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                raise ConversionError(f"{destination}: {value!r} cannot be converted to an integer") from None
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value
    if kind == "number":
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                raise ConversionError(f"{destination}: {value!r} cannot be converted to a number") from None
        return value
    if kind == "boolean" and isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def coercer(json_schema: Mapping[str, Any]) -> Coercer:
    """A `coerce(destination, value)` for `apply_mapping_set`: Data Prep's conversion of a value to the
    destination field's type (data-handling.md: numeric strings to numbers, numbers and booleans to strings,
    "true"/"false" to booleans). Values it cannot convert raise ConversionError; values of another shape are
    left for the XDM validation to reject."""

    def coerce(destination: str, value: Any) -> Any:
        schema = field_schema(json_schema, destination)
        return value if schema is None else _coerce(schema, value, destination)

    return coerce
