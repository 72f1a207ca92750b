"""The provision state machine end to end: real ASL on moto, real handlers, the AEP simulator over HTTP.

Every test asserts what exists afterwards: objects in the simulator's state (each exactly once) and the IDs and
statuses in DynamoDB.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from local.aep_simulator import Fault
from local.stack import LocalStack
from stripe_aep.resources import RESOURCES
from tests.integration.conftest import TenantFactory
from tests.integration.support import CREATE_OPERATIONS, assert_provisioned, creates, provision, store_of

EVENTS = Path(__file__).resolve().parents[2] / "events"


def test_two_tenants_with_different_paths_get_every_object_once(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    tenants = {
        "acme": list(RESOURCES),
        "globex": ["charges", "refunds", "customers"],
    }
    tenant_factory("acme", "sk_test_acme_0000000000000001")
    tenant_factory("globex", "sk_test_globex_000000000000002")
    arns = [
        stack.start_execution("ProvisionStateMachine", {"tenantId": t, "resourcePaths": p}, name=f"provision-{t}")
        for t, p in tenants.items()
    ]
    results = [stack.wait(arn, timeout_s=180) for arn in arns]

    assert [r["status"] for r in results] == ["SUCCEEDED", "SUCCEEDED"]
    assert_provisioned(stack, tenants)
    # Each base connection carries its own tenant's key (the simulator keeps it; Adobe's GET masks it).
    store = store_of(stack)
    for tenant_id, key in (("acme", "sk_test_acme_0000000000000001"), ("globex", "sk_test_globex_000000000000002")):
        tenant, _ = store.tenant_items(tenant_id)
        assert tenant is not None
        assert stack.simulator.stripe_key_of(tenant["base_connection_id"]) == key
    output = json.loads(results[0]["output"])
    assert len(json.dumps(output)) < 4096, "state machine output must stay small (IDs only)"


def test_second_provisioning_makes_no_create_call(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    tenant_factory("acme")
    payload = {"tenantId": "acme", "resourcePaths": ["charges", "customers"]}
    assert provision(stack, payload, "first")["status"] == "SUCCEEDED"
    before = creates(stack)

    assert provision(stack, payload, "second")["status"] == "SUCCEEDED"

    assert creates(stack) == before, "a second provisioning must create nothing"
    assert_provisioned(stack, {"acme": ["charges", "customers"]})


@pytest.mark.parametrize("operation", CREATE_OPERATIONS)
def test_crash_after_create_before_dynamodb_write_leaves_no_duplicate(
    stack: LocalStack, tenant_factory: TenantFactory, operation: str
) -> None:
    """Adobe creates the object, then the answer is lost (the Lambda never learns the ID): the state machine's
    retry finds the object by its deterministic name instead of creating it again."""
    tenant_factory("acme")
    fault = stack.simulator.add_fault(Fault(operation=operation, kind="reset_after_commit", nth=1, times=1))

    result = provision(stack, {"tenantId": "acme", "resourcePaths": ["charges", "customers"]}, "crash")

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert fault is not None
    assert stack.simulator.calls[operation] >= 1
    assert_provisioned(stack, {"acme": ["charges", "customers"]})


def test_failed_execution_rerun_finishes_without_duplicates(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    """An execution that gives up half-way (flows keep failing) is finished by a second one, reusing all."""
    tenant_factory("acme")
    payload = {"tenantId": "acme", "resourcePaths": ["charges", "refunds"]}
    stack.simulator.add_fault(Fault(operation="createFlow", kind="error500", times=None))

    first = provision(stack, payload, "gives-up", timeout_s=240)

    assert first["status"] == "FAILED"
    assert first["error"] == "UpstreamError"
    tenant, _ = store_of(stack).tenant_items("acme")
    assert tenant is not None and tenant["status"] == "FAILED"
    assert "create_dataflow" in tenant["last_error"]["message"]
    assert stack.simulator.objects("flows") == []
    stack.simulator.clear_faults()
    before = creates(stack)

    second = provision(stack, payload, "finishes")

    assert second["status"] == "SUCCEEDED"
    made = creates(stack) - before
    assert made == Counter({"createFlow": 2}), made
    assert_provisioned(stack, {"acme": ["charges", "refunds"]})


def test_throttling_and_5xx_on_creates_are_retried(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    tenant_factory("acme")
    for operation in CREATE_OPERATIONS:
        stack.simulator.add_fault(Fault(operation=operation, kind="throttle", nth=1, retry_after=1))
        stack.simulator.add_fault(Fault(operation=operation, kind="error503", nth=2))

    result = provision(stack, {"tenantId": "acme", "resourcePaths": ["charges", "customers"]}, "bumpy")

    assert result["status"] == "SUCCEEDED", result.get("cause")
    statuses = Counter(r.status for r in stack.simulator.requests)
    assert statuses[429] >= len(CREATE_OPERATIONS) - 1 and statuses[503] >= 1
    assert_provisioned(stack, {"acme": ["charges", "customers"]})


def test_stripe_key_rejected_fails_with_a_clear_cause(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    tenant_factory("acme", "sk_test_revoked_key_00000000001")
    stack.simulator.revoke_stripe_key("sk_test_revoked_key_00000000001")

    result = provision(stack, {"tenantId": "acme", "resourcePaths": ["charges"]}, "bad-key")

    assert result["status"] == "FAILED"
    assert result["error"] == "StripeSourceRejectedError"
    assert "explore_resource_path" in result["cause"] and "charges" in result["cause"]
    tenant, items = store_of(stack).tenant_items("acme")
    assert tenant is not None and tenant["status"] == "FAILED"
    assert tenant["last_error"]["error"] == "StripeSourceRejectedError"
    assert items[0]["last_error"]["step"] == "explore_resource_path"
    assert "sk_test_revoked_key_00000000001" not in json.dumps([tenant, items, result], default=str)
    # Nothing was created for the path after the failed explore.
    assert stack.simulator.objects("sourceConnections") == []
    assert stack.simulator.objects("flows") == []


def _bad_console_inputs() -> list[Path]:
    return sorted(
        p
        for p in (EVENTS / "bad").glob("bad-*.json")
        if not p.name.startswith(("bad-event-", "bad-lifecycle-", "bad-deprovision-"))
    )


def _field_named_by(path: Path, payload: Any) -> str:
    """The input field a bad example breaks, from its file name (bad-<field>-...)."""
    stem = path.stem.removeprefix("bad-")
    for prefix, field in (
        ("tenant-id", "tenantId"),
        ("missing-tenant-id", "tenantId"),
        ("resource-path", "resourcePaths"),
        ("schedule", "schedule"),
        ("sandbox", "sandbox"),
    ):
        if stem.startswith(prefix):
            return field
    extra = [k for k in payload if k not in ("tenantId", "sandbox", "resourcePaths", "schedule")]
    return extra[0]


def test_bad_console_inputs_are_rejected_at_validation_naming_the_field(stack: LocalStack) -> None:
    bad = _bad_console_inputs()
    assert len(bad) >= 10
    for index, path in enumerate(bad):
        payload = json.loads(path.read_text())
        result = provision(stack, payload, f"bad-{index}")
        assert result["status"] == "FAILED", path.name
        assert result["error"] == "InputValidationError", (path.name, result.get("error"))
        field = _field_named_by(path, payload)
        assert field in result["cause"], (path.name, result["cause"])
        for value in ("sk_test_not_a_real_key_0000",):
            assert value not in result["cause"]
    assert sum(stack.simulator.calls.values()) == 0, "no Adobe call may be made for a bad input"


def test_signup_event_delivered_twice_starts_one_execution(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    """SQS delivers at least once: the same EventBridge event twice on the queue starts one execution."""
    tenant_factory("acme")
    event = json.loads((EVENTS / "tenant-signed-up.json").read_text())
    stack.publish_event(event["detail-type"], event["detail"])
    sqs = stack.client("sqs")
    delivered = sqs.receive_message(QueueUrl=stack.signup_queue_url, VisibilityTimeout=0)["Messages"][0]
    sqs.send_message(QueueUrl=stack.signup_queue_url, MessageBody=delivered["Body"])  # the duplicate delivery

    stack.drain_queue()

    sfn = stack.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=stack.state_machine_arn("ProvisionStateMachine"))["executions"]
    assert len(executions) == 1
    assert stack.wait(executions[0]["executionArn"], timeout_s=120)["status"] == "SUCCEEDED"
    assert_provisioned(stack, {"acme": event["detail"]["resourcePaths"]})
    attrs = sqs.get_queue_attributes(QueueUrl=stack.signup_queue_url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0" and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_signup_sent_again_after_a_failure_provisions_the_tenant(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    """A new signup event for the same tenant is a new request: after a failed provisioning it finishes the job."""
    tenant_factory("acme", "sk_test_not_yet_valid_0000000001")
    stack.simulator.revoke_stripe_key("sk_test_not_yet_valid_0000000001")  # Stripe does not know it yet
    detail = {"tenantId": "acme", "resourcePaths": ["charges"]}
    stack.publish_event("Tenant Signed Up", detail)
    stack.drain_queue()
    sfn = stack.client("stepfunctions")
    machine = stack.state_machine_arn("ProvisionStateMachine")
    first = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert stack.wait(first[0]["executionArn"], timeout_s=120)["status"] == "FAILED"
    stack.simulator.register_stripe_key("sk_test_not_yet_valid_0000000001")  # the tenant fixed its Stripe key

    stack.publish_event("Tenant Signed Up", detail)
    stack.drain_queue()

    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert len(executions) == 2
    latest = next(e for e in executions if e["executionArn"] != first[0]["executionArn"])
    assert stack.wait(latest["executionArn"], timeout_s=120)["status"] == "SUCCEEDED"
    assert_provisioned(stack, {"acme": ["charges"]})


def test_bad_events_start_nothing_and_stay_queued(stack: LocalStack) -> None:
    """Malformed events reaching the queue are partial batch failures: no execution, no AEP call, and the
    message returns to the queue (then to the dead-letter queue) rather than being lost."""
    sqs = stack.client("sqs")
    bad = sorted((EVENTS / "bad").glob("bad-event-*.json"))
    for path in bad:
        sqs.send_message(QueueUrl=stack.signup_queue_url, MessageBody=path.read_text())
    sqs.send_message(QueueUrl=stack.signup_queue_url, MessageBody="not json at all")

    answers = stack.drain_queue(max_batches=1)

    failures = [f for answer in answers for f in answer.get("batchItemFailures", [])]
    assert len(failures) == len(bad) + 1
    for machine in ("ProvisionStateMachine", "DeprovisionStateMachine", "LifecycleStateMachine"):
        listed = stack.client("stepfunctions").list_executions(stateMachineArn=stack.state_machine_arn(machine))
        assert listed["executions"] == [], machine
    assert sum(stack.simulator.calls.values()) == 0
    attrs = sqs.get_queue_attributes(QueueUrl=stack.signup_queue_url, AttributeNames=["All"])["Attributes"]
    assert (
        int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"]) == len(bad) + 1
    )


def test_rerun_after_a_failed_execution_that_did_create_finds_the_object(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    """The worst case: the flow was created in AEP, the answer was lost, and the execution then failed before
    it could look the flow up. The next execution must find that flow by name, not create a second one."""
    tenant_factory("acme")
    payload = {"tenantId": "acme", "resourcePaths": ["charges"]}
    stack.simulator.add_fault(Fault(operation="createFlow", kind="reset_after_commit", nth=1, times=1))
    stack.simulator.add_fault(Fault(operation="listFlows", kind="token_expired", times=None))

    first = provision(stack, payload, "created-then-failed")

    assert first["status"] == "FAILED"
    assert first["error"] == "AuthenticationError"
    assert len(stack.simulator.objects("flows")) == 1, "the lost create did reach AEP"
    _, items = store_of(stack).tenant_items("acme")
    assert "flow_id" not in items[0] and "flow_intent" in items[0]
    stack.simulator.clear_faults()

    second = provision(stack, payload, "finds-it")

    assert second["status"] == "SUCCEEDED", second.get("cause")
    assert stack.simulator.calls["createFlow"] == 1
    assert_provisioned(stack, {"acme": ["charges"]})
