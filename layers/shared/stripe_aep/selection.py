"""Per-tenant field selection: which optional fields of a resource path a tenant's mapping set writes.

A selection is ``{"include": [...]}`` or ``{"exclude": [...]}`` of Stripe field names as the table names them
(``MappedField.stripe_field``: ``amount``, ``outcome.type``, ``fee_details[*].amount``) or a top-level field
standing for all its sub-fields (``outcome``). It changes only the tenant's mapping set: the sandbox's field
group and schema keep every field (they are shared by the sandbox's tenants), so an excluded field is simply
absent from the tenant's rows. It is stored on the (tenant, path) DynamoDB item (``field_selection``) and
applied again by every later mapping set version (upgrades keep it).

Fields the XDM class needs cannot be excluded: ``id`` and ``created`` (ExperienceEvent ``_id`` and
``timestamp``; for record resources ``id`` is the record's key).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stripe_aep.errors import InputValidationError
from stripe_aep.resources import MappedField, StripeResource, get_resource

__all__ = ["REQUIRED_FIELDS", "check_selection", "mapping_set_body", "selected_fields"]

#: Stripe fields every tenant's mapping keeps (the XDM class requires them: ``_id``, ``timestamp``).
REQUIRED_FIELDS = frozenset({"id", "created"})


def _names(field: MappedField) -> set[str]:
    """The names a selection may use for ``field``: its own path and each enclosing path (``a``, ``a.b``)."""
    parts = field.stripe_field.split(".")
    return {".".join(parts[: i + 1]) for i in range(len(parts))} | {field.top_level}


def _known(resource: StripeResource) -> set[str]:
    return {n for f in (*resource.class_fields, *resource.fields) for n in _names(f)}


def check_selection(resource_path: str, selection: Mapping[str, Any] | None) -> dict[str, list[str]] | None:
    """Validate a selection for ``resource_path``; return it normalised (``{"include": [...]}`` or
    ``{"exclude": [...]}``, sorted) or ``None`` for "every field".

    Raises ``InputValidationError`` naming each unknown field (with the reason when the table leaves a Stripe
    field out, from ``StripeResource.left_out``: the Stripe field summary's other fields), a required field
    excluded (or left out of an include list: it is kept anyway, so it is refused to be explicit), or both
    lists given.
    """
    if not selection:
        return None
    resource = get_resource(resource_path)
    include, exclude = selection.get("include"), selection.get("exclude")
    unexpected = sorted(set(selection) - {"include", "exclude"})
    if unexpected:
        raise InputValidationError(f"fields.{resource_path}: unknown keys {unexpected} (use include or exclude)")
    if include is not None and exclude is not None:
        raise InputValidationError(f"fields.{resource_path}: give include or exclude, not both")
    which, names = ("include", include) if include is not None else ("exclude", exclude)
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise InputValidationError(f"fields.{resource_path}.{which}: a non-empty list of Stripe field names")
    known = _known(resource)
    problems = []
    for name in names:
        if name in known:
            continue
        top = name.split(".", 1)[0].split("[", 1)[0]
        if top in resource.left_out:
            problems.append(f"{name} (not mapped by the table: {resource.left_out[top]})")
        else:
            problems.append(f"{name} (not a field of Stripe {resource.stripe_object} in the table)")
    if problems:
        raise InputValidationError(f"fields.{resource_path}.{which}: unknown fields: {'; '.join(problems)}")
    if which == "exclude":
        required = sorted(n for n in names if n in REQUIRED_FIELDS)
        if required:
            raise InputValidationError(
                f"fields.{resource_path}.exclude: {required} cannot be excluded (the XDM class requires them)"
            )
    return {which: sorted(set(names))}


def selected_fields(resource: StripeResource, selection: Mapping[str, Sequence[str]] | None) -> list[MappedField]:
    """The group fields a tenant's mapping writes under ``selection`` (all of them for ``None``)."""
    if not selection:
        return list(resource.fields)
    if "include" in selection:
        wanted = set(selection["include"]) | REQUIRED_FIELDS
        return [f for f in resource.fields if _names(f) & wanted]
    unwanted = set(selection.get("exclude") or ())
    return [f for f in resource.fields if not _names(f) & unwanted]


def mapping_set_body(
    resource: StripeResource, tenant_id: str, schema_id: str, selection: Mapping[str, Sequence[str]] | None
) -> dict[str, Any]:
    """``StripeResource.mapping_set_body`` restricted to the selected fields (the class fields always stay)."""
    body = resource.mapping_set_body(tenant_id, schema_id)
    if not selection:
        return body
    prefix = resource.destinations(tenant_id)[len(resource.class_fields) :]
    keep = {d for d, f in zip(prefix, resource.fields, strict=True) if f in selected_fields(resource, selection)}
    class_destinations = {f.xdm_path for f in resource.class_fields}
    body["mappings"] = [m for m in body["mappings"] if m["destination"] in keep | class_destinations]
    return body
