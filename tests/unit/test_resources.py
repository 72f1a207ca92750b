"""Tests of the Stripe resource -> XDM tables and the request bodies built from them.

Checked against Stripe's object model (``<repo>/../shared/stripe-fixtures``) and Adobe's OpenAPI specs
(``<repo>/../shared/aep-openapi``); tests needing those files skip with a reason when they are absent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

from stripe_aep.resources import (
    EXPERIENCE_EVENT_CLASS,
    RECORD_CLASS_TITLE,
    RESOURCE_PATHS,
    RESOURCES,
    MappedField,
    StripeResource,
    get_resource,
    record_class_body,
)

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
FIXTURES = SHARED / "stripe-fixtures"
OPENAPI = SHARED / "aep-openapi"
needs_fixtures = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason=f"Stripe fixtures not found at {FIXTURES} (../shared is absent)"
)
needs_openapi = pytest.mark.skipif(
    not OPENAPI.is_dir(), reason=f"Adobe OpenAPI specs not found at {OPENAPI} (../shared is absent)"
)

TENANT = "acmeorg"
CLASS_ID = "https://ns.adobe.com/acmeorg/classes/0123456789abcdef"
FIELD_GROUP_ID = "https://ns.adobe.com/acmeorg/mixins/fedcba9876543210"
SCHEMA_ID = "https://ns.adobe.com/acmeorg/schemas/00112233445566778899"

# Adobe's charges mapping example (Stripe source tutorial, "Create a mapping"): 36 fields under data.
ADOBE_CHARGE_FIELDS = [
    "id",
    "amount",
    "amount_captured",
    "amount_refunded",
    "currency",
    "created",
    "status",
    "paid",
    "captured",
    "refunded",
    "disputed",
    "customer",
    "payment_intent",
    "payment_method",
    "receipt_url",
    "balance_transaction",
    "calculated_statement_descriptor",
    "livemode",
    "object",
    "outcome",
    "payment_method_details",
    "payment_method_details.card.last4",
    "payment_method_details.card.fingerprint",
    "payment_method_details.card.funding",
    "payment_method_details.card.country",
    "payment_method_details.card.exp_year",
    "payment_method_details.card.exp_month",
    "payment_method_details.card.amount_authorized",
    "payment_method_details.card.network",
    "payment_method_details.card.brand",
    "payment_method_details.card.network_token.used",
    "payment_method_details.card.overcapture.maximum_amount_capturable",
    "payment_method_details.card.overcapture.status",
    "payment_method_details.card.incremental_authorization.status",
    "payment_method_details.card.multicapture.status",
    "payment_method_details.card.extended_authorization.status",
]

RESOURCE_LIST = [RESOURCES[p] for p in RESOURCE_PATHS]
RESOURCE_IDS = list(RESOURCE_PATHS)


def _class_id(resource: StripeResource) -> str | None:
    return CLASS_ID if resource.needs_custom_class else None


def _all_fields(resource: StripeResource) -> Iterator[MappedField]:
    yield from resource.class_fields
    yield from resource.fields


@cache
def _field_summary() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "schema" / "field_summary.json").read_text())
    return data


@cache
def _fixture(stripe_object: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "objects" / f"{stripe_object}.json").read_text())
    return data


@cache
def _spec(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((OPENAPI / name).read_text())
    return data


def _request_validator(spec_name: str, operation_id: str) -> OAS30Validator:
    """A validator for the application/json request body of ``operation_id`` in ``spec_name``."""
    spec = _spec(spec_name)
    uri = f"urn:aep-openapi:{spec_name}"
    registry: Registry[Any] = Registry().with_resource(uri, DRAFT4.create_resource(spec))
    operation = next(
        op
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and op.get("operationId") == operation_id
    )
    body = operation["requestBody"]
    if "$ref" in body:  # components/requestBodies/...
        body = registry.resolver(uri).lookup(uri + body["$ref"]).contents
    schema = body["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = {"$ref": uri + schema["$ref"]}
    return OAS30Validator(schema, registry=registry)


def _errors(validator: OAS30Validator, body: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]


def _group_properties(resource: StripeResource, body: dict[str, Any], tenant: str = TENANT) -> dict[str, Any]:
    definition = body["definitions"][resource.group]
    namespace = definition["properties"][f"_{tenant}"]
    assert namespace["type"] == "object"
    group = namespace["properties"][resource.group]
    assert group["type"] == "object"
    properties: dict[str, Any] = group["properties"]
    return properties


def _resolve(properties: dict[str, Any], dotted: str) -> dict[str, Any]:
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = properties[part]
        assert node["type"] == "object", f"{part} of {dotted} is not an XDM object"
        properties = node["properties"]
    leaf_schema: dict[str, Any] = properties[leaf]
    return leaf_schema


# --- the tables --------------------------------------------------------------------------------------------


def test_resource_paths_are_the_tutorials_six_in_order() -> None:
    assert RESOURCE_PATHS == (
        "charges",
        "subscriptions",
        "refunds",
        "balance_transactions",
        "customers",
        "prices",
    )
    assert list(RESOURCES) == list(RESOURCE_PATHS)
    assert all(RESOURCES[p].path == p for p in RESOURCE_PATHS)


def test_get_resource_returns_the_table_and_rejects_unknown_paths_with_value_error() -> None:
    assert get_resource("refunds") is RESOURCES["refunds"]
    with pytest.raises(ValueError, match="invoices") as excinfo:
        get_resource("invoices")
    assert not isinstance(excinfo.value, KeyError)
    for path in RESOURCE_PATHS:
        assert path in str(excinfo.value)


def test_charges_cover_adobes_36_mapped_fields() -> None:
    assert len(ADOBE_CHARGE_FIELDS) == 36
    sources = [f.stripe_field for f in RESOURCES["charges"].fields]
    missing = [name for name in ADOBE_CHARGE_FIELDS if not any(s == name or s.startswith(name + ".") for s in sources)]
    assert missing == []


@pytest.mark.parametrize("resource", RESOURCE_LIST, ids=RESOURCE_IDS)
def test_every_resource_has_comparable_coverage(resource: StripeResource) -> None:
    names = {f.stripe_field for f in resource.fields}
    assert len(resource.fields) >= 12
    assert {"id", "object", "created"} <= names
    assert len(names) == len(resource.fields), "a Stripe field is mapped twice"
    destinations = [f.xdm_path for f in resource.fields]
    assert len(set(destinations)) == len(destinations), "two fields land on one XDM path"


@needs_fixtures
@pytest.mark.parametrize("resource", RESOURCE_LIST, ids=RESOURCE_IDS)
def test_every_source_exists_in_stripes_object_model(resource: StripeResource) -> None:
    summary = _field_summary()[resource.stripe_object]
    fixture = _fixture(resource.stripe_object)
    assert fixture["object"] == resource.stripe_object
    for field in _all_fields(resource):
        top, *rest = field.stripe_field.split(".")
        assert top in summary, f"{resource.stripe_object}.{top} is not in Stripe's field summary"
        if rest:
            assert summary[top]["type"] == "object", f"{field.stripe_field}: {top} is not an object"
            node: Any = fixture
            for part in field.stripe_field.split("."):
                assert isinstance(node, dict) and part in node, f"{field.stripe_field} not in the fixture"
                node = node[part]


def _expected_xdm_type(spec: dict[str, Any]) -> str:
    """The XDM type a top-level Stripe field of the summary must get."""
    kind = spec["type"]
    if kind == "integer":
        return "date-time" if spec.get("format") == "unix-time" else "integer"
    return {"string|object": "string", "map": "map"}.get(kind, kind)


@needs_fixtures
@pytest.mark.parametrize("resource", RESOURCE_LIST, ids=RESOURCE_IDS)
def test_types_follow_the_stripe_field_summary(resource: StripeResource) -> None:
    summary = _field_summary()[resource.stripe_object]
    fixture = _fixture(resource.stripe_object)
    for field in resource.fields:
        if "." not in field.stripe_field:
            assert field.xdm_type == _expected_xdm_type(summary[field.stripe_field]), field.stripe_field
            continue
        value: Any = fixture
        for part in field.stripe_field.split("."):
            value = value[part]
        if value is None:  # nested null in the fixture: the type is only checked by name
            continue
        if isinstance(value, bool):
            assert field.xdm_type == "boolean", field.stripe_field
        elif isinstance(value, int):
            assert field.xdm_type in {"integer", "date-time"}, field.stripe_field
        else:
            assert isinstance(value, str) and field.xdm_type == "string", field.stripe_field


@needs_fixtures
@pytest.mark.parametrize("resource", RESOURCE_LIST, ids=RESOURCE_IDS)
def test_amounts_are_integers_with_their_currency_beside_them(resource: StripeResource) -> None:
    summary = _field_summary()[resource.stripe_object]
    by_name = {f.stripe_field: f for f in resource.fields}
    in_model = [n for n, spec in summary.items() if spec.get("minor_units") and spec["type"] == "integer"]
    mapped = [n for n in in_model if n in by_name]
    assert bool(mapped) == bool(in_model), "the object has amounts but none is mapped"
    for name in mapped:
        assert by_name[name].xdm_type == "integer"
    if mapped:
        assert by_name["currency"].xdm_type == "string"


@pytest.mark.parametrize("resource", RESOURCE_LIST, ids=RESOURCE_IDS)
def test_timestamps_map_through_a_dformat_expression_in_milliseconds(resource: StripeResource) -> None:
    for field in _all_fields(resource):
        if field.xdm_type == "date-time":
            assert field.source_type == "EXPRESSION"
            assert field.mapping_source == (
                f"dformat(data.{field.stripe_field} * 1000, \"yyyy-MM-dd'T'HH:mm:ss.SSSX\")"
            )
        else:
            assert field.source_type == "ATTRIBUTE"
            assert field.mapping_source == field.source == f"data.{field.stripe_field}"


# --- the bodies --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", RESOURCE_LIST, ids=RESOURCE_IDS)
def test_every_destination_resolves_in_the_field_group_with_its_type(resource: StripeResource) -> None:
    body = resource.field_group_body(TENANT, class_id=_class_id(resource))
    properties = _group_properties(resource, body)
    prefix = f"_{TENANT}.{resource.group}."
    group_destinations = [d for d in resource.destinations(TENANT) if d.startswith(prefix)]
    assert len(group_destinations) == len(resource.fields)
    for field, destination in zip(resource.fields, group_destinations, strict=True):
        leaf = _resolve(properties, destination.removeprefix(prefix))
        match field.xdm_type:
            case "integer":
                assert leaf["type"] == "integer"
                assert leaf["maximum"] >= 2**53 - 1  # XDM long: amounts do not fit 32 bits
            case "date-time":
                assert leaf == leaf | {"type": "string", "format": "date-time"}
            case "map":
                assert leaf["type"] == "object"
                assert leaf["additionalProperties"] == {"type": "string"}
                assert "properties" not in leaf
            case other:
                assert leaf["type"] == other
    root = [d for d in resource.destinations(TENANT) if not d.startswith(prefix)]
    assert root == [f.xdm_path for f in resource.class_fields]


def test_nested_stripe_objects_become_xdm_objects() -> None:
    charges = RESOURCES["charges"]
    properties = _group_properties(charges, charges.field_group_body(TENANT))
    assert properties["outcome"]["type"] == "object"
    card = properties["payment_method_details"]["properties"]["card"]
    assert card["type"] == "object"
    assert card["properties"]["brand"]["type"] == "string"
    assert card["properties"]["overcapture"]["properties"]["status"]["type"] == "string"
    assert properties["metadata"] == properties["metadata"] | {
        "type": "object",
        "additionalProperties": {"type": "string"},
    }


@pytest.mark.parametrize("resource", RESOURCE_LIST, ids=RESOURCE_IDS)
def test_field_group_body_has_adobes_documented_shape(resource: StripeResource) -> None:
    body = resource.field_group_body(TENANT, class_id=_class_id(resource))
    assert body["title"] == resource.field_group_title
    assert body["type"] == "object"
    assert body["description"]
    expected_class = CLASS_ID if resource.needs_custom_class else EXPERIENCE_EVENT_CLASS
    assert body["meta:intendedToExtend"] == [expected_class]
    assert list(body["definitions"]) == [resource.group]
    assert list(body["definitions"][resource.group]["properties"]) == [f"_{TENANT}"]
    assert body["allOf"] == [{"$ref": f"#/definitions/{resource.group}"}]
    assert resource.group == f"stripe_{resource.path}"


def test_experience_events_map_id_and_timestamp_and_records_need_the_custom_class() -> None:
    for resource in RESOURCE_LIST:
        mappings = resource.mapping_set_body(TENANT, SCHEMA_ID)["mappings"]
        if resource.behaviour == "time-series":
            assert resource.xdm_class == EXPERIENCE_EVENT_CLASS
            assert not resource.needs_custom_class
            assert mappings[0] == {"sourceType": "ATTRIBUTE", "source": "data.id", "destination": "_id"}
            assert mappings[1]["destination"] == "timestamp"
            assert mappings[1]["sourceType"] == "EXPRESSION"
            assert mappings[1]["source"].startswith("dformat(data.created * 1000,")
        else:
            assert resource.needs_custom_class
            assert {m["destination"] for m in mappings}.isdisjoint({"_id", "timestamp"})
            with pytest.raises(ValueError, match="class_id"):
                resource.field_group_body(TENANT)
            with pytest.raises(ValueError, match="class_id"):
                resource.schema_body(FIELD_GROUP_ID)
    assert {r.path for r in RESOURCE_LIST if r.behaviour == "time-series"} == {
        "charges",
        "refunds",
        "balance_transactions",
    }


@pytest.mark.parametrize("resource", RESOURCE_LIST, ids=RESOURCE_IDS)
def test_schema_body_refers_to_class_and_field_group(resource: StripeResource) -> None:
    class_id = _class_id(resource)
    body = resource.schema_body(FIELD_GROUP_ID, class_id=class_id)
    assert body["title"] == resource.schema_title
    assert body["type"] == "object"
    assert body["description"]
    assert body["allOf"] == [{"$ref": class_id or EXPERIENCE_EVENT_CLASS}, {"$ref": FIELD_GROUP_ID}]


def test_mapping_set_body_targets_the_schema_with_every_field() -> None:
    charges = RESOURCES["charges"]
    body = charges.mapping_set_body(TENANT, SCHEMA_ID)
    assert body["outputSchema"] == {
        "schemaRef": {"id": SCHEMA_ID, "contentType": "application/vnd.adobe.xed-full+json;version=1"}
    }
    by_destination = {m["destination"]: m for m in body["mappings"]}
    assert len(by_destination) == len(body["mappings"]) == len(charges.fields) + 2
    assert by_destination[f"_{TENANT}.stripe_charges.payment_method_details.card.brand"] == {
        "sourceType": "ATTRIBUTE",
        "source": "data.payment_method_details.card.brand",
        "destination": f"_{TENANT}.stripe_charges.payment_method_details.card.brand",
    }
    assert by_destination[f"_{TENANT}.stripe_charges.created"]["sourceType"] == "EXPRESSION"


def test_titles_are_deterministic_distinct_and_independent_of_the_tenant() -> None:
    titles = [(r.field_group_title, r.schema_title) for r in RESOURCE_LIST]
    assert titles[0] == ("Stripe charges (stripe-aep v1)", "Stripe charges schema (stripe-aep v1)")
    flat = [t for pair in titles for t in pair] + [RECORD_CLASS_TITLE]
    assert len(set(flat)) == len(flat)
    for resource in RESOURCE_LIST:
        a = resource.field_group_body("tenanta", class_id=_class_id(resource))
        b = resource.field_group_body("_tenantb", class_id=_class_id(resource))
        assert a["title"] == b["title"] == resource.field_group_title
        assert json.dumps(a).replace("_tenanta", "_tenantb") == json.dumps(b)
        assert resource.field_group_body("tenanta", class_id=_class_id(resource)) == a


@pytest.mark.parametrize("tenant_id", ["", "_", "acme org", "acme.org", "_acme-org"])
def test_malformed_tenant_ids_are_rejected(tenant_id: str) -> None:
    with pytest.raises(ValueError, match="tenant id"):
        RESOURCES["charges"].field_group_body(tenant_id)
    with pytest.raises(ValueError, match="tenant id"):
        RESOURCES["charges"].mapping_set_body(tenant_id, SCHEMA_ID)


# --- against Adobe's OpenAPI specs --------------------------------------------------------------------------


@needs_openapi
@pytest.mark.parametrize("resource", RESOURCE_LIST, ids=RESOURCE_IDS)
def test_bodies_are_valid_against_adobes_specs(resource: StripeResource) -> None:
    class_id = _class_id(resource)
    registry_spec = "schema-registry.openapi3.yaml"
    field_group = _request_validator(registry_spec, "createFieldGroup")
    assert _errors(field_group, resource.field_group_body(TENANT, class_id=class_id)) == []
    schema = _request_validator(registry_spec, "createSchema")
    assert _errors(schema, resource.schema_body(FIELD_GROUP_ID, class_id=class_id)) == []
    mapping_body = resource.mapping_set_body(TENANT, SCHEMA_ID)
    for operation in ("createMappingSet", "validateMappingSet"):
        assert _errors(_request_validator("data-prep.yaml", operation), mapping_body) == []


@needs_openapi
def test_record_class_body_is_valid_and_has_record_behaviour() -> None:
    body = record_class_body()
    assert body["title"] == RECORD_CLASS_TITLE
    assert body["allOf"] == [{"$ref": "https://ns.adobe.com/xdm/data/record"}]
    validator = _request_validator("schema-registry.openapi3.yaml", "createClass")
    assert _errors(validator, body) == []


@needs_openapi
def test_spec_validation_catches_broken_bodies() -> None:
    """The validators used above do reject bodies that break Adobe's contract."""
    charges = RESOURCES["charges"]
    field_group = charges.field_group_body(TENANT)
    del field_group["meta:intendedToExtend"]
    assert _errors(_request_validator("schema-registry.openapi3.yaml", "createFieldGroup"), field_group)
    schema = charges.schema_body(FIELD_GROUP_ID)
    del schema["description"]
    assert _errors(_request_validator("schema-registry.openapi3.yaml", "createSchema"), schema)
    mapping = charges.mapping_set_body(TENANT, SCHEMA_ID)
    mapping["mappings"][0]["sourceType"] = "COLUMN"
    assert _errors(_request_validator("data-prep.yaml", "createMappingSet"), mapping)
