"""The deployment's Adobe rate budget (``stripe_aep.budget``) on the local stack's DynamoDB Local.

Callers with their own boto3 clients (as concurrent Lambdas have) share one item; a 429 pauses all of them; a
throttled create is retried by the state machine without a lookup.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from decimal import Decimal
from typing import Any

import boto3
import pytest

from local.aep_simulator import Fault
from local.stack import LocalStack
from stripe_aep.budget import AdobeBudget, BudgetExhaustedError
from stripe_aep.store import Store
from tests.integration.conftest import TenantFactory

CAP_RPS = 20.0


def _table(stack: LocalStack) -> Any:
    """A Table over its own resource (own connection pool) on the stack's DynamoDB."""
    resource = boto3.resource("dynamodb", endpoint_url=stack.aws_endpoint, region_name="us-east-1")
    return resource.Table(stack.outputs["TableName"])


class FakeClock:
    """Epoch seconds that move only when told (``sleep`` moves them)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_concurrent_callers_together_stay_under_the_cap(stack: LocalStack) -> None:
    callers, run_s, burst_s = 12, 3.0, 0.1
    budgets = [AdobeBudget(_table(stack), CAP_RPS, max_wait_s=0.5, burst_s=burst_s) for _ in range(callers)]
    granted: list[float] = []
    refused: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(callers)
    began = time.time() + 0.5

    def call(budget: AdobeBudget) -> None:
        barrier.wait()
        while time.time() < began + run_s:
            asked = time.time()
            try:
                slept = budget.acquire("listFlows")
            except BudgetExhaustedError as exc:
                with lock:
                    refused.append(exc.retry_after or 0.0)
                time.sleep(0.05)
                continue
            with lock:
                granted.append(asked + slept)  # the slot's time (a slot in the past: up to burst_s after it)

    threads = [threading.Thread(target=call, args=(b,)) for b in budgets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    span = max(granted) - min(granted)
    # GCRA: at most cap x (span + burst) slots, plus the first; a slot in the past is seen up to burst_s after it,
    # hence one more burst on the times seen here. The budget is used, not starved by contention.
    assert len(granted) <= CAP_RPS * (span + 2 * burst_s) + 1, (len(granted), span)
    assert len(granted) >= CAP_RPS * span * 0.5, (len(granted), span)
    assert refused and all(r > 0 for r in refused)
    assert any(r != 1.0 for r in refused), "refusals must tell the time to the next slot, not a stand-in"
    # In any one-second window no more than cap x (1 + 2 burst) calls were granted.
    granted.sort()
    busiest = max(sum(1 for t in granted if start <= t < start + 1.0) for start in granted)
    assert busiest <= CAP_RPS * (1 + 2 * burst_s) + 1, busiest


def test_a_429_pauses_every_caller_then_the_rate_recovers(stack: LocalStack) -> None:
    clock = FakeClock()
    table = _table(stack)
    knobs: dict[str, Any] = {"max_wait_s": 1.0, "decrease": 0.5, "recovery_s": 30, "clock": clock, "sleep": clock.sleep}
    first = AdobeBudget(table, CAP_RPS, **knobs)
    other = AdobeBudget(_table(stack), CAP_RPS, **knobs)
    assert other.acquire("createFlow") == 0.0

    first.throttled(retry_after_s=5)  # Adobe: Retry-After 5

    with pytest.raises(BudgetExhaustedError) as refused:
        other.acquire("createFlow")
    assert refused.value.retry_after == pytest.approx(4.0, abs=0.01)  # 5 s ahead, 1 s of it may be slept
    assert type(refused.value).__name__ == "BudgetExhaustedError" and refused.value.operation == "createFlow"
    item = table.get_item(Key={"pk": "BUDGET#adobe", "sk": "GCRA"}, ConsistentRead=True)["Item"]
    assert float(item["rate"]) == CAP_RPS / 2
    clock.sleep(4.5)
    slept = other.acquire("createFlow")  # within 1 s of Adobe's time: sleeps until it
    assert slept == pytest.approx(0.5, abs=0.01)
    assert other.rate_now(clock()) == pytest.approx(CAP_RPS / 2 + 5 * CAP_RPS / 60, rel=0.01)
    clock.sleep(30)
    assert other.rate_now(clock()) == CAP_RPS  # recovered after recovery_s


def test_a_step_is_refused_only_before_its_first_call_and_shared_work_is_queued(stack: LocalStack) -> None:
    """With the queue 2 s deep (max_wait 1 s): a step's first call is refused, its second call and a priority
    call (the sandbox's shared objects) are granted at the end of the queue; outside a step calls are refused."""
    from stripe_aep.budget import begin_step, priority

    clock = FakeClock()
    budget = AdobeBudget(_table(stack), CAP_RPS, max_wait_s=1.0, clock=clock, sleep=clock.sleep)
    queued_at = clock() + 2.0
    table = _table(stack)
    table.put_item(Item={"pk": "BUDGET#adobe", "sk": "GCRA", "next_at": Decimal(str(round(queued_at, 3)))})

    def in_a_step(*calls: str) -> list[float | str]:
        out: list[float | str] = []

        def run() -> None:  # a fresh thread: a fresh context, as each Lambda invocation has
            begin_step()
            for call in calls:
                if call == "priority":
                    with priority():
                        out.append(budget.acquire("createSchema"))
                    continue
                try:
                    out.append(budget.acquire(call))
                except BudgetExhaustedError:
                    out.append("refused")

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        return out

    assert in_a_step("createDataset") == ["refused"]
    clock.now = queued_at - 1.0  # the queue is 1 s deep now: the first call is granted
    first, second = in_a_step("getByConnectionId", "previewMappingSet")
    assert first == pytest.approx(1.0, abs=0.01)
    # the second call of the same step is queued behind it (its slot is 1 s + 1 interval ahead), not refused
    assert isinstance(second, float) and second == pytest.approx(1.0 / CAP_RPS, abs=0.01)
    clock.now = queued_at + 2 / CAP_RPS - 2.0  # 2 s deep again (two slots were taken)
    assert in_a_step("priority") == [pytest.approx(2.0, abs=0.01)]
    clock.now -= 2.0  # 2 s deep again
    with pytest.raises(BudgetExhaustedError):  # outside a step (the health check): the plain rule
        budget.acquire("listFlows")


def test_a_throttled_create_is_retried_without_a_lookup(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    """429 (Retry-After 5 s, more than a step waits in its Lambda) on each path's first createFlow: the budget
    pauses, the step is refused with BudgetExhaustedError, the state machine retries it; no listFlows (a 429 is a
    refusal, not an uncertainty)."""
    tenant_factory("acme")
    stack.simulator.add_fault(Fault(operation="createFlow", kind="throttle", nth=1, times=2, retry_after=5))

    arn = stack.start_execution(
        "ProvisionStateMachine", {"tenantId": "acme", "resourcePaths": ["charges", "customers"]}, name="throttled"
    )
    result = stack.wait(arn, timeout_s=180)

    assert result["status"] == "SUCCEEDED", result.get("cause")
    calls = stack.simulator.calls
    assert calls["listFlows"] == 0, dict(calls)
    assert calls["createFlow"] == 4, dict(calls)
    flows = [f["name"] for f in stack.simulator.objects("flows")]
    assert len(flows) == 2 and len(set(flows)) == 2, flows
    failures = Counter(e["taskFailedEventDetails"]["error"] for e in stack.history(arn) if e["type"] == "TaskFailed")
    assert set(failures) <= {"BudgetExhaustedError"} and failures, failures
    tenant, items = Store(stack.outputs["TableName"]).tenant_items("acme")
    assert tenant is not None and tenant["status"] == "ACTIVE" and len(items) == 2
    for item in items:
        assert not any(k.startswith("flow_intent") for k in item), item


def test_concurrent_first_tenants_of_a_sandbox_share_one_of_each_xdm_object_and_one_validation(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    """Four signups at once in a fresh sandbox, three paths (two of them on the record class), while the first
    field group create and the first mapping validation answer slowly: every execution SUCCEEDED first time;
    the sandbox holds one class and one field group and schema per path; each mapping body was validated and
    run on samples once; the executions that waited for another's lease looked nothing up in Adobe."""
    tenants = ["alpha", "bravo", "charlie", "delta"]
    paths = ["charges", "customers", "subscriptions"]
    for tenant in tenants:
        tenant_factory(tenant)
    sim = stack.simulator
    sim.add_fault(Fault(operation="createFieldGroup", kind="latency", latency_s=2.0, times=1))
    sim.add_fault(Fault(operation="validateMappingSet", kind="latency", latency_s=2.0, times=1))

    arns = [
        stack.start_execution("ProvisionStateMachine", {"tenantId": t, "resourcePaths": paths}, name=f"first-{t}")
        for t in tenants
    ]
    results = [stack.wait(arn, timeout_s=600) for arn in arns]

    assert [r["status"] for r in results] == ["SUCCEEDED"] * len(tenants), [r.get("cause") for r in results]
    assert len(sim.objects("classes")) == 1
    for kind in ("fieldgroups", "schemas"):
        titles = Counter(o["title"] for o in sim.objects(kind))
        assert len(titles) == len(paths) and set(titles.values()) == {1}, (kind, titles)
    calls = sim.calls
    assert calls["createClass"] == 1 and calls["createFieldGroup"] == len(paths) == calls["createSchema"]
    assert calls["validateMappingSet"] == len(paths), dict(calls)
    assert calls["previewMappingSet"] == len(paths), dict(calls)
    assert calls["listClasses"] == calls["listFieldGroups"] == calls["listSchemas"] == 0, dict(calls)
    for kind in ("flows", "mappingSets"):
        assert len(sim.objects(kind)) == len(tenants) * len(paths), kind
    store = Store(stack.outputs["TableName"])
    for tenant in tenants:
        item, items = store.tenant_items(tenant)
        assert item is not None and item["status"] == "ACTIVE"
        assert not [i for i in [item, *items] if "last_error" in i], "a wait is not a failure"
    failed = Counter(
        e["taskFailedEventDetails"]["error"] for arn in arns for e in stack.history(arn) if e["type"] == "TaskFailed"
    )
    assert set(failed) <= {"LeaseHeldError", "BudgetExhaustedError"}, failed
