"""Resuming a FAILED provisioning after its cause was fixed (docs/operations.md "Recovery runbook").

moto 5 has no RedriveExecution: `LocalStack.restart_execution` starts a new execution with the failed one's
input, which is what `provision TENANT` does. What the failed execution created is reused: no duplicate.
"""

from __future__ import annotations

import pytest

from local.stack import LocalStack, StackError
from stripe_aep.store import Store
from tests.integration.conftest import TenantFactory
from tests.integration.support import assert_provisioned, creates

PATHS = ["charges", "customers"]
KEY = "sk_test_redrive_key_0000000000001"


def test_resume_after_the_stripe_key_is_fixed_creates_nothing_twice(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    tenant_factory("acme", KEY)
    stack.simulator.revoke_stripe_key(KEY)
    arn = stack.start_execution("ProvisionStateMachine", {"tenantId": "acme", "resourcePaths": PATHS}, name="p1")
    failed = stack.wait(arn, timeout_s=180)
    assert failed["status"] == "FAILED" and failed["error"] == "StripeSourceRejectedError"
    store = Store(stack.outputs["TableName"])
    assert (store.tenant_items("acme")[0] or {})["status"] == "FAILED"
    created_before = creates(stack)
    assert created_before["createConnection"] == 1, "the failed execution had created the base connection"

    stack.simulator.register_stripe_key(KEY)  # the operator fixed the cause
    resumed_arn = stack.restart_execution(arn)
    resumed = stack.wait(resumed_arn, timeout_s=180)

    assert resumed["status"] == "SUCCEEDED", resumed.get("cause")
    assert resumed["name"] == "p1-redrive-1"
    assert creates(stack)["createConnection"] == 1, "the base connection must be reused"
    assert_provisioned(stack, {"acme": PATHS})
    tenant = store.tenant_items("acme")[0] or {}
    assert tenant["status"] == "ACTIVE" and "last_error" not in tenant
    with pytest.raises(StackError):
        stack.restart_execution(resumed_arn)


def test_resume_after_the_missing_tenant_secret_is_stored(stack: LocalStack) -> None:
    arn = stack.start_execution("ProvisionStateMachine", {"tenantId": "late", "resourcePaths": PATHS}, name="p1")
    failed = stack.wait(arn, timeout_s=180)
    assert failed["status"] == "FAILED" and failed["error"] == "TenantSecretNotFoundError"

    stack.put_tenant_secret("late", KEY)
    stack.simulator.register_stripe_key(KEY)
    first = stack.wait(stack.restart_execution(arn), timeout_s=180)
    assert first["status"] == "SUCCEEDED", first.get("cause")
    assert_provisioned(stack, {"late": PATHS})
