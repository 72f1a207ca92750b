"""The lifecycle steps called directly on a Runtime over moto and the AEP simulator (schedule and name, Stripe
key rotation, enable / disable): the outcome in the simulator's state and in DynamoDB."""

from __future__ import annotations

import time
from typing import Any

import pytest

from stripe_aep.errors import InputValidationError, StripeSourceRejectedError, TenantNotFoundError
from stripe_aep.runtime import Runtime
from stripe_aep.steps import lifecycle
from stripe_aep.steps.common import RawInput, TenantStep
from stripe_aep.steps.lifecycle import schedule_patch
from stripe_aep.store import ACTIVE, DISABLED, dataflow_key, tenant_key
from stripe_aep.tenants import ScheduleInput
from tests.conftest import FAKE_STRIPE_KEY
from tests.unit.step_support import TENANT, Aws, Provisioned, payload, provision_chain

EXECUTION = "lifecycle-acme-1"
NEW_KEY = "sk_test_rotated_fedcba9876543210"
REJECTED_KEY = "sk_test_rejected_00000000000000"


@pytest.fixture
def provisioned(runtime: Runtime) -> Provisioned:
    return provision_chain(runtime, paths=("charges",))


def _flow(simulator: Any) -> dict[str, Any]:
    [flow] = simulator.objects("flows")
    return flow


# ---- ValidateLifecycleInput / UpdateDataflow ----------------------------------------------------------------


def test_validate_update_schedule_defaults_to_every_path_with_a_dataflow(
    runtime: Runtime, provisioned: Provisioned, simulator: Any
) -> None:
    simulator.reset_calls()
    raw = {"operation": "update_schedule", "tenantId": TENANT, "schedule": {"frequency": "day", "interval": 1}}

    out = payload(lifecycle.validate_lifecycle_input(RawInput(input=raw, executionName=EXECUTION), runtime))

    assert out["resourcePaths"] == ["charges"]
    assert out["schedule"] == {"frequency": "day", "interval": 1}
    assert sum(simulator.calls.values()) == 0


def test_validate_refuses_a_path_without_dataflow_and_an_unknown_tenant(
    runtime: Runtime, provisioned: Provisioned
) -> None:
    raw = {"operation": "disable", "tenantId": TENANT, "resourcePaths": ["refunds"]}
    with pytest.raises(InputValidationError, match="refunds"):
        lifecycle.validate_lifecycle_input(RawInput(input=raw), runtime)
    with pytest.raises(TenantNotFoundError):
        lifecycle.validate_lifecycle_input(RawInput(input={"operation": "disable", "tenantId": "nobody"}), runtime)


def test_update_dataflow_patches_the_schedule_and_name_and_stores_the_new_etag(
    runtime: Runtime, provisioned: Provisioned, simulator: Any
) -> None:
    before = _flow(simulator)
    step = lifecycle.UpdateDataflowStep(
        tenantId=TENANT,
        resourcePath="charges",
        schedule=ScheduleInput(frequency="day", interval=2),
        name="acme charges daily",
        executionName=EXECUTION,
    )

    out = payload(lifecycle.update_dataflow(step, runtime))

    flow = _flow(simulator)
    assert out == {"resourcePath": "charges", "flowId": before["id"], "etag": flow["etag"]}
    assert flow["etag"] != before["etag"]
    assert (flow["scheduleParams"]["frequency"], int(flow["scheduleParams"]["interval"])) == ("day", 2)
    assert flow["name"] == "acme charges daily"
    item = runtime.store.get(dataflow_key(TENANT, "charges")) or {}
    assert item["flow_etag"] == flow["etag"] and item["flow_name"] == "acme charges daily"
    assert (item["schedule"]["frequency"], item["schedule"]["interval"]) == ("day", 2)
    assert simulator.calls["patchFlow"] == 1


def test_a_start_time_already_passed_is_left_alone() -> None:
    """Unit-level: when the start time has passed, the JSON Patch changes frequency and interval only."""
    past = int(time.time()) - 3600
    future = int(time.time()) + 3600
    requested = ScheduleInput(frequency="day", interval=1, startTime=future + 60)

    ops, result = schedule_patch({"startTime": past, "frequency": "hour", "interval": 1}, requested, None)
    assert [op.path for op in ops] == ["/scheduleParams/frequency", "/scheduleParams/interval"]
    assert result == {"frequency": "day", "interval": 1, "startTime": past}

    ops, result = schedule_patch({"startTime": future, "frequency": "hour", "interval": "1"}, requested, None)
    assert [op.path for op in ops][-1] == "/scheduleParams/startTime"
    assert result["startTime"] == future + 60

    ops, result = schedule_patch(
        {"startTime": future, "frequency": "hour", "interval": 1}, ScheduleInput(frequency="once"), "n"
    )
    assert [(op.op, op.path) for op in ops] == [
        ("replace", "/scheduleParams/frequency"),
        ("remove", "/scheduleParams/interval"),
        ("replace", "/name"),
    ]
    assert result["interval"] is None


# ---- RotateStripeKey ----------------------------------------------------------------------------------------


def test_rotate_stripe_key_applies_the_secrets_new_key_after_checking_it(
    runtime: Runtime, provisioned: Provisioned, simulator: Any, aws: Aws
) -> None:
    aws.put_tenant_key(TENANT, NEW_KEY)
    simulator.register_stripe_key(NEW_KEY)

    out = payload(lifecycle.rotate_stripe_key(TenantStep(tenantId=TENANT, executionName=EXECUTION), runtime))

    assert out == {"baseConnectionId": provisioned.base_connection_id, "verifiedPaths": ["charges"]}
    assert simulator.stripe_key_of(provisioned.base_connection_id) == NEW_KEY
    assert [c["id"] for c in simulator.objects("connections")] == [provisioned.base_connection_id]  # check gone
    tenant = runtime.store.get(tenant_key(TENANT)) or {}
    assert tenant["stripe_key_rotated_at"] > 0
    assert tenant["base_connection_etag"] == simulator.objects("connections")[0]["etag"]
    assert not any(k.startswith("rotation_check") for k in tenant)


def test_a_rejected_key_is_not_applied(runtime: Runtime, provisioned: Provisioned, simulator: Any, aws: Aws) -> None:
    aws.put_tenant_key(TENANT, REJECTED_KEY)  # not known to the simulator's Stripe

    with pytest.raises(StripeSourceRejectedError, match="not applied") as rejected:
        lifecycle.rotate_stripe_key(TenantStep(tenantId=TENANT, executionName=EXECUTION), runtime)

    assert REJECTED_KEY not in str(rejected.value)
    assert simulator.stripe_key_of(provisioned.base_connection_id) == FAKE_STRIPE_KEY
    assert [c["id"] for c in simulator.objects("connections")] == [provisioned.base_connection_id]
    assert "patchConnection" not in simulator.calls
    assert "stripe_key_rotated_at" not in (runtime.store.get(tenant_key(TENANT)) or {})


# ---- SetDataflowState ---------------------------------------------------------------------------------------


def test_disable_then_enable_moves_the_flow_and_the_statuses(
    runtime: Runtime, provisioned: Provisioned, simulator: Any
) -> None:
    def state(enabled: bool) -> dict[str, Any]:
        step = lifecycle.SetDataflowStateStep(
            tenantId=TENANT, resourcePath="charges", enabled=enabled, executionName=EXECUTION
        )
        return payload(lifecycle.set_dataflow_state(step, runtime))

    assert state(False)["state"] == "disabled"
    flow = _flow(simulator)
    assert flow["state"] == "disabled"
    item = runtime.store.get(dataflow_key(TENANT, "charges")) or {}
    assert (item["status"], item["flow_state"], item["health_status"]) == (DISABLED, "disabled", "DISABLED")
    assert item["flow_etag"] == flow["etag"]
    assert (runtime.store.get(tenant_key(TENANT)) or {})["status"] == DISABLED
    assert list(runtime.store.active_dataflows()) == []

    assert state(False)["state"] == "disabled"  # again: no second action
    assert simulator.calls["postStateTransition"] == 1

    assert state(True)["state"] == "enabled"
    assert _flow(simulator)["state"] == "enabled"
    item = runtime.store.get(dataflow_key(TENANT, "charges")) or {}
    assert (item["status"], item["flow_state"], item["health_status"]) == (ACTIVE, "enabled", "PENDING")
    assert (runtime.store.get(tenant_key(TENANT)) or {})["status"] == ACTIVE
    assert [i["flow_id"] for i in runtime.store.active_dataflows()] == [flow["id"]]
    assert simulator.calls["postStateTransition"] == 2
