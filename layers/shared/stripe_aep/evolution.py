"""Table versions and AEP's additive rule: what changed between two versions of a Stripe -> XDM field table.

A *table snapshot* is the part of a resource path's table that AEP sees, read back from the request bodies
(``StripeResource.field_group_body`` / ``mapping_set_body``) or from a field group AEP answers
(``retrieveFieldGroup``), so that the same comparison runs on the repo's released tables (``tables/v*.json``,
written by ``tools/table_snapshot.py``) and on what a sandbox actually holds:

``{"table_version": int, "field_group_title": str, "fields": {<path under _{TENANT}.stripe_<path>>: <leaf
JSON schema without title/description>}, "required": [<path>...], "mappings": {<destination>: <source>}}``

Field paths are dotted, with ``[*]`` where an array is (``fee_details[*].amount``).

``compare(old, new)`` classifies every difference by the schema evolution rules of Adobe's "Basics of schema
composition" (experience-platform.en help/xdm/schema/composition.md, "Schema evolution principles"): once a
dataset exists for a schema "only additive schema changes are supported", and the fields "become non-editable
across all XDM schemas in which they are referenced" (the tenant namespace is organisation-wide, so a field's type
is fixed for every schema of the organisation). ``RULES`` holds each rule with its source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from stripe_aep.errors import BreakingChangeError
from stripe_aep.resources import RESOURCES, StripeResource

__all__ = [
    "RULES",
    "Change",
    "compare",
    "field_group_snapshot",
    "leaf_schema",
    "require_additive",
    "table_snapshot",
    "tables_snapshot",
]

_COMPOSITION = "Basics of schema composition (help/xdm/schema/composition.md), Schema evolution principles"
_REQUIRED = "Basics of schema composition (help/xdm/schema/composition.md), Setting fields as required after ingestion"

Rule = Literal[
    "added",
    "enum_value_added",
    "description_changed",
    "mapping_changed",
    "removed",
    "renamed",
    "moved",
    "retyped",
    "restricted",
    "required_added",
]

#: Every rule: (breaking, what Adobe's table says, source). Breaking changes are refused once a dataset exists.
RULES: Mapping[Rule, tuple[bool, str, str]] = {
    "added": (False, "Adding new fields to the resource (supported)", _COMPOSITION),
    "enum_value_added": (False, "Adding new fields to the resource: a new allowed value widens a field", _COMPOSITION),
    "description_changed": (False, "Changing the resource's display name and description (supported)", _COMPOSITION),
    "mapping_changed": (
        False,
        "only the Data Prep mapping changes (a new mapping set version; the XDM field stays as it is)",
        "Data Prep mapping sets (help/data-prep/mapping-set.md): a mapping set has versions",
    ),
    "removed": (True, "Removing previously defined fields (not supported)", _COMPOSITION),
    "renamed": (True, "Renaming or redefining existing fields (not supported)", _COMPOSITION),
    "moved": (True, "Moving existing fields to a different location in the tree (not supported)", _COMPOSITION),
    "retyped": (True, "Renaming or redefining existing fields: a field's type is fixed (not supported)", _COMPOSITION),
    "restricted": (True, "Removing or restricting previously supported field values (not supported)", _COMPOSITION),
    "required_added": (
        True,
        "a field made required after ingestion: historical rows may hold no value and re-writing them fails "
        "(this project refuses it)",
        _REQUIRED,
    ),
}

_EACH = "[*]"
_TENANT = "_TENANT"
_NARROWING = ("minimum", "maximum", "maxLength", "minLength", "pattern", "format")


@dataclass(frozen=True)
class Change:
    """One difference between two table versions of a resource path: ``field`` (path under the group, or the
    XDM destination for a mapping), the ``rule`` it falls under, and ``detail`` (old -> new)."""

    resource_path: str
    field: str
    rule: Rule
    detail: str = ""

    @property
    def breaking(self) -> bool:
        return RULES[self.rule][0]

    def message(self) -> str:
        _, text, source = RULES[self.rule]
        kind = "breaking" if self.breaking else "additive"
        return f"{self.resource_path}: field {self.field}: {self.rule} ({kind}: {text}; {source}){self._detail()}"

    def _detail(self) -> str:
        return f": {self.detail}" if self.detail else ""


# ---- snapshots ---------------------------------------------------------------------------------------------


def leaf_schema(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A field's JSON schema without its display name and description (what the additive rule compares)."""
    return {k: v for k, v in spec.items() if k not in ("title", "description")}


def _flatten(properties: Mapping[str, Any], prefix: str, out: dict[str, dict[str, Any]], required: list[str]) -> None:
    for name, spec in properties.items():
        if not isinstance(spec, Mapping):
            continue
        path = f"{prefix}{name}"
        if spec.get("type") == "object" and isinstance(spec.get("properties"), Mapping):
            required += [f"{path}.{r}" for r in spec.get("required") or () if isinstance(r, str)]
            _flatten(spec["properties"], path + ".", out, required)
        elif spec.get("type") == "array" and isinstance(spec.get("items"), Mapping):
            items = spec["items"]
            if items.get("type") == "object" and isinstance(items.get("properties"), Mapping):
                _flatten(items["properties"], path + _EACH + ".", out, required)
            else:
                out[path + _EACH] = leaf_schema(items)
        else:
            out[path] = leaf_schema(spec)


def field_group_snapshot(body: Mapping[str, Any], group: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """``(fields, required)`` of a field group body or a retrieveFieldGroup answer: the leaves under
    ``definitions.<group>.properties._{tenant}.properties.<group>`` (``group``: ``stripe_<path>``)."""
    definition = (body.get("definitions") or {}).get(group) or {}
    namespaces = definition.get("properties") or {}
    fields: dict[str, dict[str, Any]] = {}
    required: list[str] = []
    for namespace in namespaces.values():
        node = ((namespace or {}).get("properties") or {}).get(group) or {}
        required += [str(r) for r in node.get("required") or ()]
        _flatten(node.get("properties") or {}, "", fields, required)
    return fields, sorted(required)


def table_snapshot(resource: StripeResource, table_version: int | None = None) -> dict[str, Any]:
    """The snapshot of one resource path's table (see the module docstring)."""
    class_id = "CLASS" if resource.needs_custom_class else None
    fields, required = field_group_snapshot(resource.field_group_body(_TENANT, class_id), resource.group)
    mappings = resource.mapping_set_body(_TENANT, "SCHEMA")["mappings"]
    return {
        "table_version": table_version if table_version is not None else getattr(resource, "table_version", 1),
        "field_group_title": resource.field_group_title,
        "fields": fields,
        "required": required,
        "mappings": {m["destination"]: m["source"] for m in mappings},
    }


def tables_snapshot(resources: Mapping[str, StripeResource] = RESOURCES) -> dict[str, Any]:
    """``{"paths": {path: table_snapshot}}`` of every resource path."""
    return {"paths": {path: table_snapshot(r) for path, r in resources.items()}}


# ---- comparison --------------------------------------------------------------------------------------------


def _parent(path: str) -> str:
    return path.rsplit(".", 1)[0] if "." in path else ""


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def _sources(snapshot: Mapping[str, Any], group: str) -> dict[str, str]:
    """field path -> mapping source, for the fields of the group."""
    prefix = f"{_TENANT}.{group}."
    out = {}
    for destination, source in (snapshot.get("mappings") or {}).items():
        if destination.startswith(prefix):
            out[destination.removeprefix(prefix)] = source
    return out


def _retype(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[Rule, str] | None:
    """How a field's schema changed, or ``None`` when it did not."""
    if old == new:
        return None
    if old.get("type") != new.get("type") or old.get("meta:xdmType") != new.get("meta:xdmType"):
        return "retyped", f"{_type_label(old)} -> {_type_label(new)}"
    if old.get("additionalProperties") != new.get("additionalProperties") or old.get("items") != new.get("items"):
        return "retyped", f"{old.get('additionalProperties') or old.get('items')} -> " + str(
            new.get("additionalProperties") or new.get("items")
        )
    old_enum, new_enum = old.get("enum"), new.get("enum")
    if old_enum != new_enum:
        if new_enum is not None and (old_enum is None or not set(old_enum) <= set(new_enum)):
            lost = sorted(set(old_enum or ()) - set(new_enum)) if old_enum else "any value"
            return "restricted", f"enum values no longer allowed: {lost}"
        if new_enum is None:
            pass  # the enum was lifted: every value allowed now (widening)
        else:
            return "enum_value_added", f"new values {sorted(set(new_enum) - set(old_enum or ()))}"
    for key in _NARROWING:
        before, after = old.get(key), new.get(key)
        if before != after and not _widens(key, before, after):
            return "restricted", f"{key} {before!r} -> {after!r}"
    rest = {k for k in (*old, *new) if k not in ("enum", *_NARROWING) and old.get(k) != new.get(k)}
    if rest:
        return "retyped", ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(rest))
    return None


def _widens(key: str, before: Any, after: Any) -> bool:
    """Whether changing constraint ``key`` from ``before`` to ``after`` accepts every value accepted before."""
    if after is None:
        return True  # the constraint was lifted
    if before is None:
        return False  # a new constraint
    if key in ("minimum", "minLength"):
        return bool(after <= before)
    if key in ("maximum", "maxLength"):
        return bool(after >= before)
    return False  # pattern, format: any other value restricts


def _type_label(spec: Mapping[str, Any]) -> str:
    xdm = spec.get("meta:xdmType")
    fmt = spec.get("format")
    return str(spec.get("type")) + (f" ({xdm})" if xdm else "") + (f" ({fmt})" if fmt else "")


def compare(resource_path: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every difference between two snapshots of ``resource_path``'s table, classified (see ``RULES``).

    A field present only in ``old`` is *renamed* when ``new`` maps the same Stripe source to a field of the same
    parent object, *moved* when to another place in the tree, else *removed*. Returns the changes sorted by
    field; an empty list means the two versions are the same to AEP.
    """
    group = f"stripe_{resource_path}"
    old_fields: Mapping[str, Any] = old.get("fields") or {}
    new_fields: Mapping[str, Any] = new.get("fields") or {}
    old_src, new_src = _sources(old, group), _sources(new, group)
    by_source: dict[str, list[str]] = {}
    for path, source in new_src.items():
        by_source.setdefault(source, []).append(path)
    changes: list[Change] = []
    gone = [p for p in old_fields if p not in new_fields]
    added = [p for p in new_fields if p not in old_fields]
    taken: set[str] = set()
    for path in gone:
        target = next((p for p in by_source.get(old_src.get(path, "\0"), []) if p in added), None)
        if target is None:
            changes.append(Change(resource_path, path, "removed", "no longer in the table"))
            continue
        taken.add(target)
        rule: Rule = "renamed" if _parent(path) == _parent(target) else "moved"
        changes.append(Change(resource_path, path, rule, f"now {target}"))
    for path in added:
        if path not in taken:
            changes.append(Change(resource_path, path, "added", _type_label(new_fields[path])))
    for path in old_fields:
        if path in new_fields and (how := _retype(old_fields[path], new_fields[path])) is not None:
            changes.append(Change(resource_path, path, how[0], how[1]))
    for path in sorted(set(new.get("required") or ()) - set(old.get("required") or ())):
        changes.append(Change(resource_path, path, "required_added", "newly required"))
    old_maps, new_maps = old.get("mappings") or {}, new.get("mappings") or {}
    for destination in old_maps:
        if destination in new_maps and old_maps[destination] != new_maps[destination]:
            detail = f"{old_maps[destination]} -> {new_maps[destination]}"
            changes.append(Change(resource_path, destination, "mapping_changed", detail))
    return sorted(changes, key=lambda c: (not c.breaking, c.field, c.rule))


def require_additive(changes: Sequence[Change]) -> list[Change]:
    """``changes`` when none is breaking; else raise ``BreakingChangeError`` naming each breaking field and rule."""
    breaking = [c for c in changes if c.breaking]
    if breaking:
        raise BreakingChangeError("; ".join(c.message() for c in breaking))
    return list(changes)
