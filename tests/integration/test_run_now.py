"""Run now and backfill (Flow Service POST /runs, createFlowRun) on the one-machine stack: the lifecycle's
``run_now`` operation, its window rules (each refusal names the field and costs no Adobe call), idempotency
per (flow, window), and the provisioning's first run. Asserts the simulator's runs and DynamoDB afterwards.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.stack import LocalStack
from stripe_aep.clock import now_s
from stripe_aep.runs import MAX_WINDOW_S
from stripe_aep.store import dataflow_key, flow_run_key
from tests.integration.conftest import TenantFactory
from tests.integration.support import provision_tenant, run, table_store


def _runs_of(stack: LocalStack, flow_id: str) -> list[dict[str, Any]]:
    return [r for r in stack.simulator.runs_of(flow_id) if "params" in r]


def _flow_id(stack: LocalStack, tenant: str, path: str = "charges") -> str:
    item = table_store(stack).get(dataflow_key(tenant, path))
    assert item is not None
    return str(item["flow_id"])


def test_a_window_runs_once_and_the_same_request_twice_starts_one_run(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    tenant = tenant_factory("runnow")
    provision_tenant(stack, tenant, ["charges"])
    flow_id = _flow_id(stack, tenant)
    first_runs = _runs_of(stack, flow_id)  # the provisioning's first run (StartFirstRun defaults to true)
    assert len(first_runs) == 1
    end = now_s() // 60 * 60 - 60
    window = {"windowStartTime": end - 7 * 86400, "windowEndTime": end}
    payload = {"operation": "run_now", "tenantId": tenant, "resourcePaths": ["charges"], **window}

    described = run(stack, "LifecycleStateMachine", payload, "run-now-1")
    assert described["status"] == "SUCCEEDED", described.get("cause")
    again = run(stack, "LifecycleStateMachine", payload, "run-now-2")  # a new execution, same request
    assert again["status"] == "SUCCEEDED", again.get("cause")

    runs = [r for r in _runs_of(stack, flow_id) if r["params"]["windowEndTime"] == end]
    assert len(runs) == 1, runs
    assert runs[0]["params"] == {"startTime": end, **window}
    assert runs[0]["metrics"]["statusSummary"]["status"] == "success"
    assert stack.simulator.calls["createFlowRun"] == 2  # the first run and this window's: nothing more
    remembered = table_store(stack).get(flow_run_key(flow_id, (window["windowStartTime"], end)))
    assert remembered is not None and remembered["flow_run_id"] == runs[0]["id"]
    item = table_store(stack).get(dataflow_key(tenant, "charges"))
    assert item is not None and item["last_on_demand_run_id"] == runs[0]["id"]
    output = json.loads(again["output"])
    assert output["runs"] == [{"resourcePath": "charges", "flowId": flow_id, "runId": runs[0]["id"]}]


def _bad_windows() -> list[tuple[str, dict[str, Any], str]]:
    now = now_s()
    return [
        ("end in the future", {"windowStartTime": now - 3600, "windowEndTime": now + 3600}, "windowEndTime"),
        ("milliseconds", {"windowStartTime": (now - 3600) * 1000, "windowEndTime": now * 1000}, "windowStartTime"),
        ("end before start", {"windowStartTime": now - 60, "windowEndTime": now - 3600}, "windowEndTime"),
        ("empty window", {"windowStartTime": now - 60, "windowEndTime": now - 60}, "windowEndTime"),
        (
            "too long",
            {"windowStartTime": now - MAX_WINDOW_S - 3600, "windowEndTime": now - 60},
            "windowStartTime",
        ),
        ("negative", {"windowStartTime": -5, "windowEndTime": now - 60}, "windowStartTime"),
        ("a string", {"windowStartTime": "1767225600", "windowEndTime": now - 60}, "windowStartTime"),
        ("window on another operation", {"operation": "enable", "windowStartTime": now - 3600}, "windowStartTime"),
        ("schedule on run_now", {"schedule": {"frequency": "day", "interval": 1}}, "schedule"),
        ("unknown path", {"resourcePaths": ["refunds"]}, "resourcePaths"),
    ]


@pytest.mark.parametrize(("case", "fields", "named"), _bad_windows(), ids=[c[0] for c in _bad_windows()])
def test_each_bad_window_is_refused_with_the_field_named_and_no_adobe_call(
    stack: LocalStack, tenant_factory: TenantFactory, case: str, fields: dict[str, Any], named: str
) -> None:
    tenant = tenant_factory("badwindow")
    provision_tenant(stack, tenant, ["charges"])
    flow_id = _flow_id(stack, tenant)
    before = len(_runs_of(stack, flow_id))
    stack.simulator.reset_calls()
    payload = {"operation": "run_now", "tenantId": tenant, "resourcePaths": ["charges"], **fields}
    described = run(stack, "LifecycleStateMachine", payload, f"bad-{abs(hash(case)) % 10**8}")
    assert described["status"] == "FAILED"
    assert described["error"] == "InputValidationError"
    assert named in described["cause"], described["cause"]
    platform_calls = {op: n for op, n in stack.simulator.calls.items() if op != "imsToken"}
    assert platform_calls == {}, platform_calls
    assert len(_runs_of(stack, flow_id)) == before


def test_a_disabled_dataflow_does_not_qualify(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    tenant = tenant_factory("runoff")
    provision_tenant(stack, tenant, ["charges"])
    disabled = run(stack, "LifecycleStateMachine", {"operation": "disable", "tenantId": tenant}, "disable-runoff")
    assert disabled["status"] == "SUCCEEDED", disabled.get("cause")
    stack.simulator.reset_calls()
    described = run(stack, "LifecycleStateMachine", {"operation": "run_now", "tenantId": tenant}, "run-off")
    assert described["status"] == "FAILED"
    assert "resourcePaths" in described["cause"] and "enabled" in described["cause"]
    assert stack.simulator.calls["createFlowRun"] == 0


def test_provisioning_without_the_first_run() -> None:
    """StartFirstRun=false: provisioning starts no run (the schedule's first run is awaited)."""
    from tests.integration.conftest import REPO, require_app

    require_app()
    with LocalStack(project_root=REPO, parameter_overrides={"StartFirstRun": "false"}) as stack:
        stack.put_tenant_secret("nofirst", "sk_test_local_0123456789abcdef")
        stack.simulator.register_stripe_key("sk_test_local_0123456789abcdef")
        provision_tenant(stack, "nofirst", ["charges"])
        assert stack.simulator.calls["createFlowRun"] == 0
        described = run(stack, "LifecycleStateMachine", {"operation": "run_now", "tenantId": "nofirst"}, "rn")
        assert described["status"] == "SUCCEEDED", described.get("cause")
        assert stack.simulator.calls["createFlowRun"] == 1
