"""Provisioning runs each mapping set on the tenant's sample rows (Data Prep previewMappingSet) before it creates
the mapping set and the flow: a broken mapping is refused with the field named, and nothing downstream exists.
The check is spent once per sandbox and mapping version (remembered in DynamoDB)."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any

import pytest

from local.stack import LocalStack
from stripe_aep import resources
from stripe_aep.runtime import Runtime, Settings
from stripe_aep.store import Store, schema_key
from tests.contract import openapi_contract as oc
from tests.integration.conftest import DEFAULT_STRIPE_KEY, TenantFactory
from tests.integration.support import provision, store_of


def _cause(stack: LocalStack, described: dict[str, Any]) -> str:
    return str(described.get("cause") or "")


def _broken_charges() -> resources.StripeResource:
    """charges whose ``created`` mapping reads the currency code as Unix seconds: every row errors."""
    charges = resources.RESOURCES["charges"]
    broken = tuple(
        dataclasses.replace(f, stripe_field="currency") if f.stripe_field == "created" else f for f in charges.fields
    )
    return dataclasses.replace(charges, fields=broken)


def test_a_broken_mapping_is_refused_with_the_field_named_and_no_flow_exists(
    stack: LocalStack, tenant_factory: TenantFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources, "RESOURCES", MappingProxyType({**resources.RESOURCES, "charges": _broken_charges()}))
    tenant = tenant_factory("broken-map")

    described = provision(stack, {"tenantId": tenant, "resourcePaths": ["charges"]}, "provision-broken-map-1")

    assert described["status"] == "FAILED"
    cause = _cause(stack, described)
    assert "MappingRejectedError" in str(described.get("error")), described.get("error")
    assert "charges" in cause
    assert "stripe_charges.created" in cause, cause  # the XDM field
    assert "data.currency" in cause, cause  # the source attribute
    assert "on record " in cause, cause  # the sample record it failed on
    sim = stack.simulator
    assert sim.calls["previewMappingSet"] == 1
    assert sim.objects("flows") == []
    assert sim.objects("mappingSets") == []
    tenant_item, _ = store_of(stack).tenant_items(tenant)
    assert tenant_item is not None and tenant_item["status"] == "FAILED"
    assert "stripe_charges.created" in tenant_item["last_error"]["message"]


def test_the_check_runs_once_per_sandbox_and_mapping_version(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    paths = ["charges", "customers"]
    first = tenant_factory("map-check-a")
    assert provision(stack, {"tenantId": first, "resourcePaths": paths}, "provision-map-check-a-1")["status"] == (
        "SUCCEEDED"
    )
    sim = stack.simulator
    assert sim.calls["previewMappingSet"] == len(paths)
    store: Store = store_of(stack)
    sandbox = store.tenant_items(first)[0]["sandbox"]  # type: ignore[index]
    for path in paths:
        assert store.get(schema_key(sandbox, path))["mapping_checked"]  # type: ignore[index]

    second = tenant_factory("map-check-b")
    assert provision(stack, {"tenantId": second, "resourcePaths": paths}, "provision-map-check-b-1")["status"] == (
        "SUCCEEDED"
    )
    assert sim.calls["previewMappingSet"] == len(paths), "a warm sandbox spends no second check"
    assert len(sim.objects("flows")) == 2 * len(paths)


@pytest.mark.skipif(not oc.specs_available(), reason=oc.SKIP_REASON)
def test_requests_of_the_two_new_operations_validate_against_adobes_spec(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    tenant = tenant_factory("map-contract")
    assert provision(stack, {"tenantId": tenant, "resourcePaths": ["prices"]}, "provision-map-contract-1")[
        "status"
    ] == ("SUCCEEDED")
    client = Runtime(Settings.from_env()).platform("prod")  # the handlers' settings (os.environ of the stack)
    assert client.validate_expression('upper("usd")') is True
    for expression in {m.mapping_source for m in resources.RESOURCES["prices"].fields if m.source_type == "EXPRESSION"}:
        assert client.validate_expression(expression) is True, expression
    new_operations = {"previewMappingSet", "validateExpression"}
    recorded = [r for r in stack.simulator.requests if r.operation in new_operations]
    assert {r.operation for r in recorded} == new_operations
    for request in recorded:
        assert oc.validate_request(request) == [], request.operation
    # The validator does reject a request that breaks the spec (PreviewRequest.data must be an array).
    preview = next(r for r in recorded if r.operation == "previewMappingSet")
    bad = dataclasses.replace(preview, body=b'{"data": {"not": "an array"}, "mappingSet": {"mappings": []}}')
    assert oc.validate_request(bad)


def test_an_account_without_records_is_not_remembered_as_checked(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    tenant = tenant_factory("map-empty")
    stack.simulator.seed_stripe_account(DEFAULT_STRIPE_KEY, {"refunds": []})
    described = provision(stack, {"tenantId": tenant, "resourcePaths": ["refunds"]}, "provision-map-empty-1")
    assert described["status"] == "SUCCEEDED"
    sim = stack.simulator
    assert sim.calls["previewMappingSet"] == 0  # nothing to run the mapping on
    store = store_of(stack)
    sandbox = str(store.tenant_items(tenant)[0]["sandbox"])  # type: ignore[index]
    assert "mapping_checked" not in (store.get(schema_key(sandbox, "refunds")) or {})  # the next tenant checks
    assert len(sim.objects("flows")) == 1
