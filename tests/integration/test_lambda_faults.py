"""Lambda crashes and timeouts in the provision steps are retried (every step is idempotent): one execution
ends SUCCEEDED with each AEP object once.

The local stack's Lambda runtime fails the named functions' first call as Lambda does (`LambdaFault`): a crash
answers `Lambda.Unknown`, a timeout `Sandbox.Timedout`. With `after=True` the handler has already done its
work (the Adobe object was created and its ID stored) and only the answer is lost: the retry must reuse it.
"""

from __future__ import annotations

from typing import Any

import pytest

from local.stack import LocalStack
from tests.integration.conftest import TenantFactory
from tests.integration.support import assert_provisioned, creates, provision

PROVISION_STEPS = (
    "ValidateInputFunction",
    "CreateBaseConnectionFunction",
    "ExploreResourcePathFunction",
    "CreateSourceConnectionFunction",
    "EnsureTargetSchemaFunction",
    "CreateDatasetFunction",
    "CreateTargetConnectionFunction",
    "CreateMappingSetFunction",
    "CreateDataflowFunction",
    "CompleteProvisioningFunction",
)
PATHS = ["charges", "customers"]


def _errors_retried(stack: LocalStack, arn: str) -> list[str]:
    return [
        e["taskFailedEventDetails"]["error"]
        for e in stack.history(arn)
        if e["type"] == "TaskFailed" and "taskFailedEventDetails" in e
    ]


@pytest.mark.parametrize(
    ("kind", "after"),
    [("crash", True), ("timeout", True), ("crash", False)],
    ids=["crash-after-work", "timeout-after-work", "crash-before-work"],
)
def test_a_crash_or_timeout_in_every_step_ends_succeeded_without_duplicates(
    stack: LocalStack, tenant_factory: TenantFactory, kind: str, after: bool
) -> None:
    tenant_factory("acme")
    faults = [stack.inject_lambda_fault(step, kind, nth=1, after=after) for step in PROVISION_STEPS]
    payload: dict[str, Any] = {"tenantId": "acme", "resourcePaths": PATHS}

    arn = stack.start_execution("ProvisionStateMachine", payload, name=f"{kind}-{after}")
    result = stack.wait(arn, timeout_s=240)

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert [f.fired for f in faults] == [1] * len(PROVISION_STEPS)
    expected = "Lambda.Unknown" if kind == "crash" else "Sandbox.Timedout"
    assert _errors_retried(stack, arn).count(expected) == len(PROVISION_STEPS)
    assert_provisioned(stack, {"acme": PATHS})
    # Each object was created once, whether the lost answer came before or after the work.
    made = creates(stack)
    assert made["createConnection"] == 1 and made["createFlow"] == len(PATHS), made


def test_faults_can_target_the_nth_call_only(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    """The second call of CreateDataflow (the second path) times out twice: still one execution, no duplicate."""
    tenant_factory("acme")
    fault = stack.inject_lambda_fault("CreateDataflowFunction", "timeout", nth=2, times=2)

    assert provision(stack, {"tenantId": "acme", "resourcePaths": PATHS}, "nth")["status"] == "SUCCEEDED"
    assert fault.fired == 2
    assert_provisioned(stack, {"acme": PATHS})
