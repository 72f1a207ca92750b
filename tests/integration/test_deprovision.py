"""The deprovision state machine on the one-machine stack: a fully and a partially provisioned tenant, twice
in a row, purge versus keep, an unknown tenant. Every test asserts the simulator's objects and DynamoDB
afterwards.
"""

from __future__ import annotations

import time
from typing import Any

from local.aep_simulator import Fault
from local.stack import LocalStack
from stripe_aep.store import DEPROVISIONED, dataflow_key, tenant_key
from stripe_aep.tenants import dataflow_name, dataset_name
from tests.integration.conftest import TenantFactory
from tests.integration.support import PATHS, provision_tenant, run, table_store

FLOW_SERVICE_KINDS = ("connections", "sourceConnections", "targetConnections", "flows")
OBJECT_ATTRS = ("flow_id", "target_connection_id", "source_connection_id")


def _counts(stack: LocalStack) -> dict[str, int]:
    kinds = (*FLOW_SERVICE_KINDS, "dataSets", "schemas", "fieldgroups", "mappingSets")
    return {kind: len(stack.simulator.objects(kind)) for kind in kinds}


def _platform_calls(stack: LocalStack) -> dict[str, int]:
    return {op: n for op, n in stack.simulator.calls.items() if op != "imsToken"}


def _assert_deprovisioned(stack: LocalStack, tenant: str, paths: list[str]) -> dict[str, Any]:
    store = table_store(stack)
    item = store.get(tenant_key(tenant)) or {}
    assert item["status"] == DEPROVISIONED
    assert item["deprovisioned_at"] > 0
    assert "base_connection_id" not in item
    for path in paths:
        flow_item = store.get(dataflow_key(tenant, path)) or {}
        assert flow_item["status"] == DEPROVISIONED
        assert flow_item["deprovisioned_at"] > 0
        assert not [a for a in OBJECT_ATTRS if a in flow_item]
        assert "gsi1pk" not in flow_item
    assert [i for i in store.active_dataflows() if i["gsi1sk"].startswith(f"{tenant}#")] == []
    return item


def test_deprovision_deletes_flow_service_objects_and_keeps_datasets_and_schemas(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    tenant = tenant_factory("acme")
    provision_tenant(stack, tenant)
    store = table_store(stack)
    dataset_ids = {p: (store.get(dataflow_key(tenant, p)) or {})["dataset_id"] for p in PATHS}
    assert len(list(store.active_dataflows())) == 2

    described = run(stack, "DeprovisionStateMachine", {"tenantId": tenant}, "deprovision-acme-1")

    assert described["status"] == "SUCCEEDED", described.get("cause")
    counts = _counts(stack)
    assert {k: counts[k] for k in FLOW_SERVICE_KINDS} == dict.fromkeys(FLOW_SERVICE_KINDS, 0)
    # ingested data and the sandbox's shared XDM resources stay
    assert counts["dataSets"] == 2
    assert counts["schemas"] == 2
    assert counts["fieldgroups"] == 2
    item = _assert_deprovisioned(stack, tenant, PATHS)
    assert item["purged"] is False
    for path in PATHS:
        assert (store.get(dataflow_key(tenant, path)) or {})["dataset_id"] == dataset_ids[path]
    # the order Adobe requires: flows before the connections they use, source connections before the base
    operations = [r.operation for r in stack.simulator.requests if r.method == "DELETE"]
    assert operations.index("deleteConnection") > max(
        i for i, op in enumerate(operations) if op == "deleteSourceConnection"
    )
    assert min(i for i, op in enumerate(operations) if op == "deleteTargetConnection") > min(
        i for i, op in enumerate(operations) if op == "deleteByFlow"
    )


def test_deprovisioning_twice_the_second_is_a_no_op(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    tenant = tenant_factory("acme")
    provision_tenant(stack, tenant)
    first = run(stack, "DeprovisionStateMachine", {"tenantId": tenant}, "deprovision-acme-1")
    assert first["status"] == "SUCCEEDED", first.get("cause")
    store = table_store(stack)
    before = store.tenant_items(tenant)
    counts = _counts(stack)
    stack.simulator.reset_calls()

    second = run(stack, "DeprovisionStateMachine", {"tenantId": tenant}, "deprovision-acme-2")

    assert second["status"] == "SUCCEEDED", second.get("cause")
    assert _platform_calls(stack) == {}
    assert _counts(stack) == counts
    tenant_after, flows_after = store.tenant_items(tenant)
    tenant_before, flows_before = before
    assert tenant_after is not None and tenant_before is not None
    assert tenant_after["deprovisioned_at"] == tenant_before["deprovisioned_at"]
    assert tenant_after["status"] == DEPROVISIONED
    assert [(f["status"], f["deprovisioned_at"]) for f in flows_after] == [
        (f["status"], f["deprovisioned_at"]) for f in flows_before
    ]


def test_purge_deletes_the_datasets_but_not_the_shared_schemas(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    tenant = tenant_factory("acme")
    other = tenant_factory("globex")
    provision_tenant(stack, tenant)
    provision_tenant(stack, other, ["charges"])

    described = run(stack, "DeprovisionStateMachine", {"tenantId": tenant, "purge": True}, "deprovision-acme-p")

    assert described["status"] == "SUCCEEDED", described.get("cause")
    names = {d["name"] for d in stack.simulator.objects("dataSets")}
    assert names == {dataset_name(other, "charges")}  # only the other tenant's dataset is left
    assert len(stack.simulator.objects("schemas")) == 2  # shared by the sandbox's tenants
    item = _assert_deprovisioned(stack, tenant, PATHS)
    assert item["purged"] is True
    store = table_store(stack)
    for path in PATHS:
        flow_item = store.get(dataflow_key(tenant, path)) or {}
        assert "dataset_id" not in flow_item
        assert flow_item["dataset_purged_at"] > 0
    # the other tenant is untouched
    assert {f["name"] for f in stack.simulator.objects("flows")} == {dataflow_name(other, "charges")}
    assert (store.get(tenant_key(other)) or {})["status"] == "ACTIVE"


def test_purge_after_a_keep_deprovisioning_deletes_only_the_kept_datasets(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    tenant = tenant_factory("acme")
    provision_tenant(stack, tenant)
    assert run(stack, "DeprovisionStateMachine", {"tenantId": tenant}, "dep-keep")["status"] == "SUCCEEDED"
    stack.simulator.reset_calls()

    described = run(stack, "DeprovisionStateMachine", {"tenantId": tenant, "purge": True}, "dep-purge")

    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert stack.simulator.objects("dataSets") == []
    assert _platform_calls(stack) == {"deleteDataset": 2}
    assert (table_store(stack).get(tenant_key(tenant)) or {})["purged"] is True


def test_deprovision_after_a_provisioning_that_failed_half_way(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    tenant = tenant_factory("acme")
    # createFlow reaches Adobe but its answer is lost; the retried step's lookup then fails for good:
    # the flow exists in AEP, DynamoDB holds only the intent to create it.
    stack.simulator.add_fault(Fault(operation="createFlow", kind="reset_after_commit", times=1))
    stack.simulator.add_fault(Fault(operation="listFlows", kind="token_expired", times=2))
    described = run(
        stack,
        "ProvisionStateMachine",
        {"tenantId": tenant, "resourcePaths": ["charges"], "schedule": {"frequency": "hour", "interval": 1}},
        "provision-acme-broken",
    )
    assert described["status"] == "FAILED"
    store = table_store(stack)
    item = store.get(dataflow_key(tenant, "charges")) or {}
    assert "flow_intent" in item and "flow_id" not in item
    assert [f["name"] for f in stack.simulator.objects("flows")] == [dataflow_name(tenant, "charges")]
    stack.simulator.clear_faults()

    described = run(stack, "DeprovisionStateMachine", {"tenantId": tenant}, "deprovision-acme-1")

    assert described["status"] == "SUCCEEDED", described.get("cause")
    counts = _counts(stack)
    assert {k: counts[k] for k in FLOW_SERVICE_KINDS} == dict.fromkeys(FLOW_SERVICE_KINDS, 0)
    assert counts["dataSets"] == 1
    _assert_deprovisioned(stack, tenant, ["charges"])
    assert "flow_intent" not in (store.get(dataflow_key(tenant, "charges")) or {})


def test_deprovision_of_a_tenant_whose_key_stripe_rejected(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    """Provisioning stopped at explore: only the base connection exists; paths without IDs are skipped."""
    tenant = "acme"
    stack.put_tenant_secret(tenant, "sk_test_unknown_to_stripe_0000")
    described = run(
        stack,
        "ProvisionStateMachine",
        {"tenantId": tenant, "resourcePaths": PATHS},
        "provision-acme-rejected",
    )
    assert described["status"] == "FAILED"
    assert len(stack.simulator.objects("connections")) == 1
    # The Map fails on the first rejected explore; another path's explore already invoked finishes after the
    # execution ended (as on AWS): wait until AEP has been quiet for a second before counting calls.
    quiet_since, seen = time.monotonic(), sum(stack.simulator.calls.values())
    while time.monotonic() - quiet_since < 1.0:
        time.sleep(0.1)
        if sum(stack.simulator.calls.values()) != seen:
            quiet_since, seen = time.monotonic(), sum(stack.simulator.calls.values())
    stack.simulator.reset_calls()

    described = run(stack, "DeprovisionStateMachine", {"tenantId": tenant}, "deprovision-acme-1")

    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert stack.simulator.objects("connections") == []
    assert _platform_calls(stack) == {"deleteConnection": 1}
    _assert_deprovisioned(stack, tenant, PATHS)


def test_deprovision_of_an_unknown_tenant_fails_and_writes_nothing(stack: LocalStack) -> None:
    described = run(stack, "DeprovisionStateMachine", {"tenantId": "nobody"}, "deprovision-nobody")

    assert described["status"] == "FAILED"
    assert described["error"] == "TenantNotFoundError"
    assert table_store(stack).tenant_items("nobody") == (None, [])
    assert _platform_calls(stack) == {}
