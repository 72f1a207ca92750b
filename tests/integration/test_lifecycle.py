"""The lifecycle state machine on the one-machine stack: schedule/name updates, Stripe key rotation, enable
and disable, driven through ``LifecycleStateMachine`` executions after a real provisioning. Every test asserts
the simulator's objects and the DynamoDB items afterwards.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import SecretStr

from local.stack import LocalStack
from stripe_aep.aep import AepValidationError, PatchOperation
from stripe_aep.steps.lifecycle import rotation_check_name
from stripe_aep.store import dataflow_key, tenant_key
from stripe_aep.tenants import dataflow_name
from tests.integration.conftest import DEFAULT_STRIPE_KEY, TenantFactory
from tests.integration.support import (
    PATHS,
    flows_by_name,
    platform_client,
    provision_tenant,
    run,
    statuses,
    table_store,
)

# ---- update_schedule ---------------------------------------------------------------------------------------


def test_update_schedule_patches_every_flow_and_stores_the_new_etag(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    tenant = tenant_factory("acme")
    provision_tenant(stack, tenant)
    store = table_store(stack)
    before = {p: store.get(dataflow_key(tenant, p)) or {} for p in PATHS}

    described = run(
        stack,
        "LifecycleStateMachine",
        {"operation": "update_schedule", "tenantId": tenant, "schedule": {"frequency": "day", "interval": 2}},
        "update-acme-1",
    )

    assert described["status"] == "SUCCEEDED", described.get("cause")
    flows = flows_by_name(stack)
    for path in PATHS:
        flow = flows[dataflow_name(tenant, path)]
        assert flow["scheduleParams"]["frequency"] == "day"
        assert int(flow["scheduleParams"]["interval"]) == 2
        # the start time is not touched when the request gives none
        assert int(flow["scheduleParams"]["startTime"]) == before[path]["schedule"]["startTime"]
        item = store.get(dataflow_key(tenant, path)) or {}
        assert item["flow_etag"] == flow["etag"] != before[path]["flow_etag"]
        assert item["schedule"] == {
            "frequency": "day",
            "interval": 2,
            "startTime": before[path]["schedule"]["startTime"],
        }
    assert statuses(stack, "patchFlow") == [200, 200]
    output = json.loads(described["output"])
    assert sorted(d["resourcePath"] for d in output["dataflows"]) == PATHS


def test_update_after_the_flow_changed_elsewhere_reapplies_on_the_current_etag(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    tenant = tenant_factory("acme")
    provision_tenant(stack, tenant, ["charges"])
    store = table_store(stack)
    item = store.get(dataflow_key(tenant, "charges")) or {}
    # An operator renames the flow after the provisioner stored its etag: DynamoDB's etag is now stale.
    operator = platform_client(stack)
    operator.patch_flow(
        item["flow_id"],
        item["flow_etag"],
        [PatchOperation(op="replace", path="/description", value="changed by an operator")],
    )

    described = run(
        stack,
        "LifecycleStateMachine",
        {
            "operation": "update_schedule",
            "tenantId": tenant,
            "schedule": {"frequency": "minute", "interval": 30},
            "name": "acme charges (renamed)",
        },
        "update-acme-race",
    )

    assert described["status"] == "SUCCEEDED", described.get("cause")
    # 1 by the operator, then the provisioner's stale attempt (412) and its re-applied patch
    assert statuses(stack, "patchFlow") == [200, 412, 200]
    flow = next(f for f in stack.simulator.objects("flows") if f["id"] == item["flow_id"])
    assert flow["description"] == "changed by an operator"  # not overwritten
    assert flow["name"] == "acme charges (renamed)"
    assert flow["scheduleParams"]["frequency"] == "minute"
    assert int(flow["scheduleParams"]["interval"]) == 30
    after = store.get(dataflow_key(tenant, "charges")) or {}
    assert after["flow_etag"] == flow["etag"]
    assert after["flow_name"] == "acme charges (renamed)"
    assert after["schedule"]["frequency"] == "minute"


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        ({"frequency": "minute", "interval": 5}, "schedule"),
        ({"frequency": "once", "interval": 1}, "schedule"),
        ({"frequency": "day", "interval": 1, "startTime": 1_000_000_000}, "schedule.startTime"),
    ],
)
def test_update_schedule_breaking_adobes_rules_fails_before_any_patch(
    stack: LocalStack, tenant_factory: TenantFactory, schedule: dict[str, Any], field: str
) -> None:
    tenant = tenant_factory("acme")
    provision_tenant(stack, tenant, ["charges"])
    flow_before = flows_by_name(stack)[dataflow_name(tenant, "charges")]

    described = run(
        stack,
        "LifecycleStateMachine",
        {"operation": "update_schedule", "tenantId": tenant, "schedule": schedule},
        "update-acme-bad",
    )

    assert described["status"] == "FAILED"
    assert described["error"] == "InputValidationError"
    assert field in described["cause"]
    assert "patchFlow" not in stack.simulator.calls
    assert flows_by_name(stack)[dataflow_name(tenant, "charges")]["etag"] == flow_before["etag"]


def test_operation_on_an_unknown_tenant_fails_with_tenant_not_found(stack: LocalStack) -> None:
    described = run(stack, "LifecycleStateMachine", {"operation": "disable", "tenantId": "nobody"}, "disable-x")

    assert described["status"] == "FAILED"
    assert described["error"] == "TenantNotFoundError"
    assert table_store(stack).get(tenant_key("nobody")) is None
    assert stack.simulator.objects("flows") == []


# ---- rotate_key --------------------------------------------------------------------------------------------

NEW_KEY = "sk_test_rotated_fedcba9876543210"
REJECTED_KEY = "sk_test_rejected_00000000000000"


def _history_text(stack: LocalStack, arn: str) -> str:
    return json.dumps(stack.history(arn), default=str)


def test_rotation_gives_the_base_connection_the_new_key(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    tenant = tenant_factory("acme")
    provision_tenant(stack, tenant)
    store = table_store(stack)
    base_id = (store.get(tenant_key(tenant)) or {})["base_connection_id"]
    assert stack.simulator.stripe_key_of(base_id) == DEFAULT_STRIPE_KEY
    tenant_factory(tenant, stripe_key=NEW_KEY)  # the tenant's secret gets a new value; Stripe knows it

    arn = stack.start_execution("LifecycleStateMachine", {"operation": "rotate_key", "tenantId": tenant}, "rot-1")
    described = stack.wait(arn, timeout_s=120)

    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert stack.simulator.stripe_key_of(base_id) == NEW_KEY
    output = json.loads(described["output"])
    assert output["rotation"] == {"baseConnectionId": base_id, "verifiedPaths": PATHS}
    connections = stack.simulator.objects("connections")
    assert [c["id"] for c in connections] == [base_id]  # the temporary check connection is gone
    assert rotation_check_name(tenant) not in {c["name"] for c in connections}
    item = store.get(tenant_key(tenant)) or {}
    assert item["base_connection_etag"] == connections[0]["etag"]
    assert item["stripe_key_rotated_at"] > 0
    assert not any(k.startswith("rotation_check") for k in item)
    # The key is nowhere in the execution's history nor in DynamoDB.
    assert NEW_KEY not in _history_text(stack, arn)
    assert NEW_KEY not in json.dumps(store.tenant_items(tenant), default=str)

    # Stripe now accepts only the new key: explore through the base connection still works, the old key fails.
    stack.simulator.revoke_stripe_key(DEFAULT_STRIPE_KEY)
    client = platform_client(stack)
    assert client.explore(base_id, "charges", preview=False).field_paths()
    stale = client.create_base_connection("old-key-probe", SecretStr(DEFAULT_STRIPE_KEY))
    with pytest.raises(AepValidationError, match="FLOW-1200-400"):
        client.explore(stale.id, "charges", preview=False)


def test_rotation_to_a_key_stripe_rejects_fails_and_keeps_the_old_key(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    tenant = tenant_factory("acme")
    provision_tenant(stack, tenant)
    store = table_store(stack)
    tenant_before = store.get(tenant_key(tenant)) or {}
    base_id = tenant_before["base_connection_id"]
    base_before = next(c for c in stack.simulator.objects("connections") if c["id"] == base_id)
    stack.put_tenant_secret(tenant, REJECTED_KEY)  # not registered: Stripe rejects it

    arn = stack.start_execution("LifecycleStateMachine", {"operation": "rotate_key", "tenantId": tenant}, "rot-bad")
    described = stack.wait(arn, timeout_s=120)

    assert described["status"] == "FAILED"
    assert described["error"] == "StripeSourceRejectedError"
    assert "FLOW-1200-400" in described["cause"]
    # The base connection was never touched: same key, same etag; no temporary connection left.
    assert stack.simulator.stripe_key_of(base_id) == DEFAULT_STRIPE_KEY
    connections = stack.simulator.objects("connections")
    assert [(c["id"], c["etag"]) for c in connections] == [(base_id, base_before["etag"])]
    assert "patchConnection" not in stack.simulator.calls
    tenant_after = store.get(tenant_key(tenant)) or {}
    assert tenant_after["base_connection_etag"] == tenant_before["base_connection_etag"]
    assert "stripe_key_rotated_at" not in tenant_after
    assert not any(k.startswith("rotation_check") for k in tenant_after)
    assert tenant_after["last_error"]["error"] == "StripeSourceRejectedError"
    for text in (_history_text(stack, arn), json.dumps(store.tenant_items(tenant), default=str)):
        assert REJECTED_KEY not in text
    # The dataflows keep working with the old key.
    assert platform_client(stack).explore(base_id, "charges", preview=False).field_paths()


def test_rotation_cleans_up_a_check_connection_a_crashed_run_left(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    tenant = tenant_factory("acme")
    provision_tenant(stack, tenant, ["charges"])
    store = table_store(stack)
    # A crashed rotation: its check connection exists in AEP, only the intent reached DynamoDB.
    leftover = platform_client(stack).create_base_connection(rotation_check_name(tenant), SecretStr(NEW_KEY))
    store.claim_intent(tenant_key(tenant), "rotation_check", "crashed-execution", lease_s=0)
    tenant_factory(tenant, stripe_key=NEW_KEY)

    described = run(stack, "LifecycleStateMachine", {"operation": "rotate_key", "tenantId": tenant}, "rot-2")

    assert described["status"] == "SUCCEEDED", described.get("cause")
    ids = [c["id"] for c in stack.simulator.objects("connections")]
    assert leftover.id not in ids
    assert len(ids) == 1
    assert stack.simulator.stripe_key_of(ids[0]) == NEW_KEY
    assert not any(k.startswith("rotation_check") for k in store.get(tenant_key(tenant)) or {})


# ---- enable / disable --------------------------------------------------------------------------------------


def test_disable_then_enable_round_trip(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    tenant = tenant_factory("acme")
    provision_tenant(stack, tenant)
    store = table_store(stack)

    described = run(stack, "LifecycleStateMachine", {"operation": "disable", "tenantId": tenant}, "disable-1")

    assert described["status"] == "SUCCEEDED", described.get("cause")
    flows = flows_by_name(stack)
    for path in PATHS:
        flow = flows[dataflow_name(tenant, path)]
        item = store.get(dataflow_key(tenant, path)) or {}
        assert flow["state"] == "disabled"
        assert item["flow_state"] == "disabled"
        assert item["flow_etag"] == flow["etag"]
    assert sorted(d["state"] for d in json.loads(described["output"])["dataflows"]) == ["disabled"] * 2

    # Disabling again is a no-op on Adobe's side; then enable only one path.
    run(stack, "LifecycleStateMachine", {"operation": "disable", "tenantId": tenant}, "disable-2")
    assert stack.simulator.calls["postStateTransition"] == 2
    described = run(
        stack,
        "LifecycleStateMachine",
        {"operation": "enable", "tenantId": tenant, "resourcePaths": ["refunds"]},
        "enable-1",
    )

    assert described["status"] == "SUCCEEDED", described.get("cause")
    flows = flows_by_name(stack)
    assert flows[dataflow_name(tenant, "refunds")]["state"] == "enabled"
    assert flows[dataflow_name(tenant, "charges")]["state"] == "disabled"
    assert (store.get(dataflow_key(tenant, "refunds")) or {})["flow_state"] == "enabled"
    assert (store.get(dataflow_key(tenant, "charges")) or {})["flow_state"] == "disabled"
    # the etag a state transition produced is the one stored: a later update needs no 412 round
    run(
        stack,
        "LifecycleStateMachine",
        {"operation": "update_schedule", "tenantId": tenant, "schedule": {"frequency": "day", "interval": 1}},
        "update-after-enable",
    )
    assert 412 not in statuses(stack, "patchFlow")


def test_enable_for_a_path_the_tenant_does_not_have_is_an_input_error(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    tenant = tenant_factory("acme")
    provision_tenant(stack, tenant, ["charges"])

    described = run(
        stack,
        "LifecycleStateMachine",
        {"operation": "enable", "tenantId": tenant, "resourcePaths": ["prices"]},
        "enable-bad",
    )

    assert described["status"] == "FAILED"
    assert described["error"] == "InputValidationError"
    assert "resourcePaths" in described["cause"]
    assert "postStateTransition" not in stack.simulator.calls
