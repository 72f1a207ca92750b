"""Tests of the Stripe resource -> XDM tables and the request bodies built from them.

Checked against Stripe's object model (``<repo>/../shared/stripe-fixtures``) and Adobe's OpenAPI specs
(``<repo>/../shared/aep-openapi``); tests needing those files skip with a reason when they are absent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
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
from tests.conftest import SHARED, STRIPE_FIXTURES, stripe_field_summary

FIXTURES = STRIPE_FIXTURES
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
    return stripe_field_summary()


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
    """The schema of the leaf at ``dotted``; a ``name[*]`` segment steps into an XDM array's items."""
    *parents, leaf = dotted.split(".")
    for part in parents:
        name = part.removesuffix("[*]")
        node = properties[name]
        if part.endswith("[*]"):
            assert node["type"] == "array", f"{name} of {dotted} is not an XDM array"
            node = node["items"]
        assert node["type"] == "object", f"{part} of {dotted} is not an XDM object"
        properties = node["properties"]
    if leaf.endswith("[*]"):
        array: dict[str, Any] = properties[leaf.removesuffix("[*]")]
        assert array["type"] == "array"
        items: dict[str, Any] = array["items"]
        return items
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
    summary = {**_field_summary()[resource.stripe_object], **_field_summary()["deleted_customer"]}
    fixture = _fixture(resource.stripe_object)
    assert fixture["object"] == resource.stripe_object
    for field in _all_fields(resource):
        top = field.top_level
        assert top in summary, f"{resource.stripe_object}.{top} is not in Stripe's field summary"
        if field.stripe_field != top:
            nested = {"object", "string|object", "list", "array"}
            assert summary[top]["type"] in nested, f"{field.stripe_field}: {top} holds no fields"
        if resource.path == "charges" and field.stripe_field in ADOBE_CHARGE_FIELDS:  # all in the fixture
            node: Any = fixture
            for part in field.stripe_field.split("."):
                assert isinstance(node, dict) and part in node, f"{field.stripe_field} not in the fixture"
                node = node[part]


@needs_fixtures
def test_coverage_every_top_level_field_is_mapped_or_left_out_with_a_reason(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the coverage table (mapped / left out / total top-level fields of Stripe's schema per path)."""
    rows = []
    for resource in RESOURCE_LIST:
        coverage = resource.coverage(list(_field_summary()[resource.stripe_object]))
        assert coverage["unaccounted"] == [], f"{resource.path}: neither mapped nor left out"
        assert coverage["both"] == [], f"{resource.path}: mapped and left out"
        assert coverage["mapped"] + coverage["left_out"] == coverage["total"]
        assert all(len(reason) > 20 for reason in resource.left_out.values())
        rows.append((resource.path, coverage["mapped"], coverage["left_out"], coverage["total"]))
    with capsys.disabled():
        print("\ncoverage per path (top-level fields of Stripe's schema 2026-07-29.dahlia):")
        print(f"  {'path':<22}{'mapped':>7}{'left out':>9}{'total':>6}")
        for path, mapped, left_out, total in rows:
            print(f"  {path:<22}{mapped:>7}{left_out:>9}{total:>6}")
        for resource in RESOURCE_LIST:
            for name, reason in resource.left_out.items():
                print(f"  left out {resource.path}.{name}: {reason}")
    assert {r[0] for r in rows} == set(RESOURCE_PATHS)


def test_coverage_names_fields_not_accounted_for() -> None:
    coverage = RESOURCES["prices"].coverage(["id", "unit_amount", "currency_options", "new_field"])
    assert coverage == {"mapped": 2, "left_out": 1, "total": 4, "unaccounted": ["new_field"], "both": []}


def _expected_xdm_type(spec: dict[str, Any]) -> str:
    """The XDM type a top-level Stripe field of the summary must get."""
    kind = spec["type"]
    if kind == "integer":
        return "date-time" if spec.get("format") == "unix-time" else "integer"
    return {"string|object": "string", "map": "map"}.get(kind, kind)


@needs_fixtures
@pytest.mark.parametrize("resource", RESOURCE_LIST, ids=RESOURCE_IDS)
def test_types_follow_the_stripe_field_summary(resource: StripeResource) -> None:
    summary = {**_field_summary()[resource.stripe_object], **_field_summary()["deleted_customer"]}
    items = _field_summary()["subscription_item"]
    for field in resource.fields:
        if field.stripe_field in summary:
            spec = summary[field.stripe_field]
        elif field.stripe_field.startswith("items.data[*].") and field.stripe_field.count(".") == 2:
            spec = items[field.stripe_field.rsplit(".", 1)[1]]
        else:
            continue
        expected = _expected_xdm_type(spec)
        if field.stripe_field.endswith("created") and field.stripe_field.startswith("items."):
            expected = "date-time"  # subscription_item.created: unix seconds, the spec gives no format
        assert field.xdm_type == expected, field.stripe_field
        if spec.get("format") == "currency":
            assert field.transform == "currency", field.stripe_field
        if spec["type"] == "string|object":
            assert field.transform == "reference", field.stripe_field


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
def test_timestamps_map_through_a_guarded_dformat_expression_in_milliseconds(resource: StripeResource) -> None:
    for field in _all_fields(resource):
        x = f"data.{field.stripe_field}"
        if field.xdm_type == "date-time":
            assert field.source_type == "EXPRESSION"
            assert field.mapping_source == (
                f"iif({x} != null, dformat({x} * 1000, \"yyyy-MM-dd'T'HH:mm:ss.SSSX\"), null)"
            )
        elif field.transform == "currency":
            assert field.mapping_source == f"iif({x} != null, upper({x}), null)"
        elif field.transform == "reference":
            assert field.mapping_source == f"coalesce({x}.id, {x})"
        else:
            assert field.source_type == "ATTRIBUTE"
            assert field.mapping_source == field.source == x


def test_arrays_of_objects_lists_and_tombstones_have_their_fields() -> None:
    by_path = {r.path: {f.xdm_path: f for f in r.fields} for r in RESOURCE_LIST}
    assert by_path["balance_transactions"]["fee_details[*].amount"].stripe_field == "fee_details[*].amount"
    subscription = by_path["subscriptions"]
    assert subscription["items[*].current_period_start"].stripe_field == "items.data[*].current_period_start"
    assert subscription["items[*].current_period_end"].xdm_type == "date-time"
    assert subscription["items_has_more"].stripe_field == "items.has_more"
    assert subscription["discounts[*]"].transform == "reference"
    assert by_path["charges"]["refunds_has_more"].xdm_type == "boolean"
    assert by_path["charges"]["billing_details.address.country"].xdm_type == "string"
    assert by_path["prices"]["tiers[*].up_to"].xdm_type == "integer"
    assert by_path["customers"]["deleted"].xdm_type == "boolean"
    assert by_path["charges"]["customer_deleted"].stripe_field == "customer.deleted"


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
                assert leaf["meta:xdmType"] == "map"
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
        "meta:xdmType": "map",
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
            assert mappings[1]["source"].startswith("iif(data.created != null, dformat(data.created * 1000,")
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
    assert titles[0] == ("Stripe charges (stripe-aep v2)", "Stripe charges schema (stripe-aep v2)")
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
