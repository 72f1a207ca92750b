"""The sample inputs and events in events/ against the JSON Schemas in schemas/ (draft 2020-12).

Every good sample validates; every events/bad/*.json fails, and fails on the field its file name names (so a
bad sample cannot pass the test by breaking something else). Good samples are also accepted by the shared
library's pydantic models, so the schemas and the code that enforces them at run time do not drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from stripe_aep.tenants import (
    DeprovisionInput,
    LifecycleInput,
    ProvisionInput,
    parse_input,
    validate_tenant_id,
)

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "events"
SCHEMAS = REPO / "schemas"

# Good sample -> the schema it follows.
GOOD: dict[str, str] = {
    "provision-console-input.json": "provision-input",
    "provision-console-input-minimal.json": "provision-input",
    "deprovision-console-input.json": "deprovision-input",
    "lifecycle-update-schedule.json": "lifecycle-input",
    "lifecycle-rotate-key.json": "lifecycle-input",
    "lifecycle-enable.json": "lifecycle-input",
    "lifecycle-disable.json": "lifecycle-input",
    "lifecycle-run-now.json": "lifecycle-input",
    "tenant-signed-up.json": "tenant-event",
    "tenant-deleted.json": "tenant-event",
    "secret-changed.json": "tenant-event",
}

# Bad sample -> (schema, the field that must be reported: a JSON path prefix, or a key named in the message).
BAD: dict[str, tuple[str, str]] = {
    "bad-tenant-id-path-traversal.json": ("provision-input", "tenantId"),
    "bad-tenant-id-nested-traversal.json": ("provision-input", "tenantId"),
    "bad-tenant-id-wildcard.json": ("provision-input", "tenantId"),
    "bad-tenant-id-too-long.json": ("provision-input", "tenantId"),
    "bad-tenant-id-cyrillic-lookalike.json": ("provision-input", "tenantId"),
    "bad-tenant-id-empty.json": ("provision-input", "tenantId"),
    "bad-tenant-id-uppercase.json": ("provision-input", "tenantId"),
    "bad-tenant-id-trailing-hyphen.json": ("provision-input", "tenantId"),
    "bad-tenant-id-not-a-string.json": ("provision-input", "tenantId"),
    "bad-missing-tenant-id.json": ("provision-input", "tenantId"),
    "bad-resource-path.json": ("provision-input", "resourcePaths/1"),
    "bad-resource-paths-empty.json": ("provision-input", "resourcePaths"),
    "bad-resource-paths-repeated.json": ("provision-input", "resourcePaths"),
    "bad-sandbox.json": ("provision-input", "sandbox"),
    "bad-schedule-minute-interval.json": ("provision-input", "schedule/interval"),
    "bad-schedule-once-interval.json": ("provision-input", "schedule"),
    "bad-schedule-frequency.json": ("provision-input", "schedule/frequency"),
    "bad-schedule-interval-zero.json": ("provision-input", "schedule/interval"),
    "bad-schedule-start-time-milliseconds.json": ("provision-input", "schedule/startTime"),
    "bad-unknown-field.json": ("provision-input", "tenant_id"),
    "bad-carries-stripe-key.json": ("provision-input", "stripeSecretKey"),
    "bad-deprovision-purge.json": ("deprovision-input", "purge"),
    "bad-deprovision-tenant-id-wildcard.json": ("deprovision-input", "tenantId"),
    "bad-lifecycle-operation.json": ("lifecycle-input", "operation"),
    "bad-lifecycle-update-schedule-missing-schedule.json": ("lifecycle-input", "schedule"),
    "bad-lifecycle-enable-schedule.json": ("lifecycle-input", "schedule"),
    "bad-lifecycle-schedule-start-time.json": ("lifecycle-input", "schedule/startTime"),
    "bad-lifecycle-tenant-id-path-traversal.json": ("lifecycle-input", "tenantId"),
    "bad-event-detail-type.json": ("tenant-event", "detail-type"),
    "bad-event-source.json": ("tenant-event", "source"),
    "bad-event-carries-secret.json": ("tenant-event", "detail/stripeSecretKey"),
    "bad-event-tenant-id-path-traversal.json": ("tenant-event", "detail/tenantId"),
    "bad-event-missing-detail.json": ("tenant-event", "detail"),
    "bad-event-secret-string.json": ("tenant-event", "detail/requestParameters/secretString"),
    "bad-event-secret-event-name.json": ("tenant-event", "detail/eventName"),
}

MODELS: dict[str, type[ProvisionInput | DeprovisionInput | LifecycleInput]] = {
    "provision-input": ProvisionInput,
    "deprovision-input": DeprovisionInput,
    "lifecycle-input": LifecycleInput,
}


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _registry() -> Registry[Any]:
    registry: Registry[Any] = Registry()
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        resource = Resource.from_contents(_load(path))
        uri = resource.id()
        assert uri is not None, f"{path.name} has no $id"
        registry = registry.with_resource(uri, resource)
    return registry


def _validator(schema_name: str) -> Draft202012Validator:
    schema = _load(SCHEMAS / f"{schema_name}.schema.json")
    return Draft202012Validator(schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def _flatten(errors: Iterator[ValidationError]) -> Iterator[ValidationError]:
    for error in errors:
        yield error
        yield from _flatten(iter(error.context or ()))


def _names(error: ValidationError, field: str) -> bool:
    """Whether the error is about ``field``: its instance path starts there, or (for required /
    additionalProperties / false-schema errors one level up) its path plus the message names the field."""
    path = "/".join(str(part) for part in error.absolute_path)
    if path == field or path.startswith(field + "/"):
        return True
    parent, _, leaf = field.rpartition("/")
    return path == parent and f"'{leaf}'" in error.message


def test_every_sample_is_listed() -> None:
    assert {p.name for p in EVENTS.glob("*.json")} == set(GOOD)
    assert {p.name for p in (EVENTS / "bad").glob("*.json")} == set(BAD)


def test_schemas_are_valid_draft_2020_12() -> None:
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        schema = _load(path)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", path.name
        Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_sample_validates(name: str) -> None:
    errors = list(_validator(GOOD[name]).iter_errors(_load(EVENTS / name)))
    assert errors == [], [e.message for e in errors]


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_sample_fails_on_the_named_field(name: str) -> None:
    schema_name, field = BAD[name]
    errors = list(_flatten(_validator(schema_name).iter_errors(_load(EVENTS / "bad" / name))))
    assert errors, f"{name} validates against {schema_name}"
    assert any(_names(e, field) for e in errors), [("/".join(map(str, e.absolute_path)), e.message) for e in errors]


@pytest.mark.parametrize("name", sorted(n for n, s in GOOD.items() if s in MODELS))
def test_good_console_input_is_accepted_by_the_library(name: str) -> None:
    parsed: ProvisionInput | DeprovisionInput | LifecycleInput = parse_input(MODELS[GOOD[name]], _load(EVENTS / name))
    assert parsed.tenantId == "acme"


@pytest.mark.parametrize("name", ["tenant-signed-up.json", "tenant-deleted.json"])
def test_platform_event_detail_is_accepted_by_the_library(name: str) -> None:
    event = _load(EVENTS / name)
    detail = event["detail"]
    if event["detail-type"] == "Tenant Signed Up":
        assert parse_input(ProvisionInput, detail).tenantId == "acme"
    else:
        assert parse_input(DeprovisionInput, detail).tenantId == "acme"


BAD_TENANT_IDS = sorted(
    n for n, (_, field) in BAD.items() if field.endswith("tenantId") and n != "bad-missing-tenant-id.json"
)


@pytest.mark.parametrize("name", BAD_TENANT_IDS)
def test_bad_tenant_id_is_rejected_by_the_library(name: str) -> None:
    sample = _load(EVENTS / "bad" / name)
    tenant_id = sample.get("detail", sample)["tenantId"]
    with pytest.raises(ValueError, match="tenant id"):
        validate_tenant_id(tenant_id)


def test_secret_changed_event_names_a_tenant_secret_and_carries_no_value() -> None:
    event = _load(EVENTS / "secret-changed.json")
    detail = event["detail"]
    assert detail["requestParameters"]["secretId"].startswith("stripe-aep/tenants/")
    text = json.dumps(event)
    assert "secretString" not in text and "sk_" not in text
