"""The XDM row each corpus object must become: Stripe's rules applied in plain Python, not by Data Prep.

For every mapping of a resource's table (``stripe_aep.resources``: which Stripe field lands on which XDM path)
the expected value is derived from the Stripe object by the rule of its kind, written here independently of the
mapping expressions and of the simulator's evaluator:

- a copied value stays as Stripe sent it (strings digit for digit, integers in minor units, booleans, maps with
  their keys byte for byte);
- a timestamp (Unix seconds) becomes the UTC instant, ``datetime`` with tzinfo;
- a currency code becomes upper-case;
- an expandable reference becomes the id, from the string or from the object's ``id``;
- ``[*]`` paths hold one element per Stripe element, in order;
- null and absent values are absent from the row (no "", "null", 0 or 1970); an element, object or map left
  with nothing in it is absent too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from stripe_aep.resources import MappedField, StripeResource

MISSING = object()


def _get(node: Any, parts: list[str]) -> Any:
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return MISSING if node is None else node


def _convert(field: MappedField, value: Any) -> Any:
    if value is MISSING:
        return MISSING
    match field.transform:
        case "timestamp":
            return dt.datetime.fromtimestamp(int(value), tz=dt.UTC)
        case "currency":
            return str(value).upper()
        case "reference":
            if isinstance(value, dict):
                return MISSING if value.get("id") is None else value["id"]
            return value
    if isinstance(value, dict):
        kept = {k: v for k, v in value.items() if v is not None}
        return kept or MISSING
    if isinstance(value, list):
        return [v for v in value if v is not None] or MISSING
    return value


def _values(field: MappedField, obj: dict[str, Any]) -> Any:
    """The converted value, or a list of per-element values (``MISSING`` holes) for ``[*]`` sources."""
    path = field.stripe_field
    if "[*]" not in path:
        return _convert(field, _get(obj, path.split(".")))
    head, tail = path.split("[*]", 1)
    array = _get(obj, head.split("."))
    if not isinstance(array, list):
        return MISSING
    tail_parts = tail.removeprefix(".").split(".") if tail else []
    return [_convert(field, _get(element, tail_parts) if tail_parts else element) for element in array]


def _put(row: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = row
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _prune(node: Any) -> Any:
    if isinstance(node, dict):
        pruned = {k: _prune(v) for k, v in node.items()}
        pruned = {k: v for k, v in pruned.items() if v is not MISSING}
        return pruned or MISSING
    if isinstance(node, list):
        items = [_prune(v) for v in node]
        items = [v for v in items if v is not MISSING]
        return items or MISSING
    return node


def expected_row(resource: StripeResource, obj: dict[str, Any], tenant_id: str) -> dict[str, Any]:
    """The XDM row of ``obj`` (a Stripe object of ``resource``) for an AEP tenant id (without ``_``)."""
    row: dict[str, Any] = {}
    group = f"_{tenant_id}.{resource.group}"
    for field in resource.class_fields:
        _put(row, field.xdm_path, _values(field, obj))
    arrays: dict[str, list[dict[str, Any]]] = {}
    for field in resource.fields:
        values = _values(field, obj)
        if "[*]" not in field.xdm_path:
            _put(row, f"{group}.{field.xdm_path}", values)
            continue
        array_path, element_path = field.xdm_path.split("[*]", 1)
        if values is MISSING:
            continue
        elements = arrays.setdefault(array_path, [{} for _ in values])
        for element, value in zip(elements, values, strict=True):
            if element_path:
                _put(element, element_path.removeprefix("."), value)
            else:
                element["value"] = value
    for array_path, elements in arrays.items():
        if elements and all(set(e) == {"value"} for e in elements):
            _put(row, f"{group}.{array_path}", [e["value"] for e in elements])
        else:
            _put(row, f"{group}.{array_path}", elements)
    pruned = _prune(row)
    return {} if pruned is MISSING else pruned


def flatten(row: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a.b": 1, "a.c[0].d": 2, "m{key}": "v"}``: one entry per leaf; map keys (metadata) in braces."""
    out: dict[str, Any] = {}
    if isinstance(row, dict):
        for key, value in row.items():
            name = f"{prefix}{{{key}}}" if prefix.endswith("metadata") else f"{prefix}.{key}" if prefix else key
            out.update(flatten(value, name))
    elif isinstance(row, list):
        for i, value in enumerate(row):
            out.update(flatten(value, f"{prefix}[{i}]"))
    else:
        out[prefix] = row
    return out
