"""Bad console inputs to the deprovision and lifecycle state machines, and inputs that are not even objects:
each execution fails at its first step with InputValidationError naming the field, and nothing else happens
(the provision state machine's bad inputs are in test_provision.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local.stack import LocalStack
from stripe_aep.store import Store
from tests.integration.conftest import TenantFactory

EVENTS = Path(__file__).resolve().parents[2] / "events"
MACHINES = {"deprovision": "DeprovisionStateMachine", "lifecycle": "LifecycleStateMachine"}


def run(stack: LocalStack, machine: str, payload: Any, name: str) -> dict[str, Any]:
    return stack.wait(stack.start_execution(machine, payload, name=name), timeout_s=120)


def test_bad_deprovision_and_lifecycle_inputs_change_nothing(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    tenant_factory("acme")
    provisioned = run(stack, "ProvisionStateMachine", {"tenantId": "acme", "resourcePaths": ["charges"]}, "setup")
    assert provisioned["status"] == "SUCCEEDED"
    store = Store(stack.outputs["TableName"])
    before = store.tenant_items("acme")
    calls_before = sum(stack.simulator.calls.values())
    bad = sorted(
        p for p in (EVENTS / "bad").glob("bad-*.json") if p.name.startswith(("bad-deprovision-", "bad-lifecycle-"))
    )
    assert len(bad) >= 5

    for index, path in enumerate(bad):
        machine = MACHINES[path.name.split("-")[1]]
        result = run(stack, machine, json.loads(path.read_text()), f"bad-{index}")
        assert result["status"] == "FAILED", path.name
        assert result["error"] == "InputValidationError", (path.name, result.get("error"), result.get("cause"))

    # bad-deprovision-purge.json says "purge": "yes": strict types refuse it, nothing was deleted or purged
    assert sum(stack.simulator.calls.values()) == calls_before, "no Adobe call may be made for a bad input"
    tenant, dataflows = store.tenant_items("acme")
    assert tenant is not None and tenant["status"] == "ACTIVE", "a refused request must not mark the tenant FAILED"
    assert [d["status"] for d in dataflows] == ["ACTIVE"]
    assert dataflows[0]["dataset_id"] == before[1][0]["dataset_id"]
    assert "purged" not in tenant


@pytest.mark.parametrize("machine", ["ProvisionStateMachine", *MACHINES.values()])
@pytest.mark.parametrize("payload", [["acme"], "acme", 42])
def test_input_that_is_not_an_object_is_refused_clearly(stack: LocalStack, machine: str, payload: Any) -> None:
    result = run(stack, machine, payload, "not-an-object")

    assert result["status"] == "FAILED"
    assert result["error"] == "InputValidationError"
    assert "valid dictionary" in result["cause"]
    assert sum(stack.simulator.calls.values()) == 0
