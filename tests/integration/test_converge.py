"""Converge: provisioning drives AEP to the desired state whatever an earlier answer was.

Real ASL on moto, real handlers, the AEP simulator over HTTP. Every test asserts what exists afterwards: the
objects of each kind and name in the simulator's state (no duplicate) and the IDs DynamoDB holds (each pointing
at a live object: no lost ID).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from local.aep_simulator import Fault
from local.stack import LocalStack
from stripe_aep.store import Store
from tests.integration.conftest import DEFAULT_STRIPE_KEY, REPO, TenantFactory, check_contract, require_app

#: (simulator kind, DynamoDB attribute of the dataflow item) of the per-(tenant, path) objects.
PER_PATH = (
    ("sourceConnections", "source_connection_id"),
    ("dataSets", "dataset_id"),
    ("targetConnections", "target_connection_id"),
    ("mappingSets", "mapping_set_id"),
    ("flows", "flow_id"),
)
#: The client gives up after READ_TIMEOUT_S; an uncertain create is looked for SETTLE_S after that.
READ_TIMEOUT_S, SETTLE_S = 1.0, 6.0


@pytest.fixture
def fast_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalStack]:
    """A LocalStack whose Lambdas give Adobe a 1 s read timeout and a 6 s settle window."""
    require_app()
    monkeypatch.setenv("ADOBE_READ_TIMEOUT_S", str(READ_TIMEOUT_S))
    monkeypatch.setenv("ADOBE_CREATE_SETTLE_S", str(SETTLE_S))
    with LocalStack(project_root=REPO) as started:
        yield started
        check_contract(started.simulator)


def provision(stack: LocalStack, payload: dict[str, Any], name: str, timeout_s: float = 180) -> dict[str, Any]:
    return stack.wait(stack.start_execution("ProvisionStateMachine", payload, name=name), timeout_s=timeout_s)


def assert_converged(stack: LocalStack, tenant_id: str, paths: list[str]) -> None:
    """One object per kind and name, and every ID DynamoDB holds names a live object."""
    sim = stack.simulator
    for kind, _ in PER_PATH:
        names = Counter(o.get("name") for o in sim.objects(kind))
        assert len(names) == len(paths) and set(names.values()) == {1}, (kind, names)
    assert len(sim.objects("connections")) == 1
    tenant, items = Store(stack.outputs["TableName"]).tenant_items(tenant_id)
    assert tenant is not None and tenant["base_connection_id"] in {c["id"] for c in sim.objects("connections")}
    assert sorted(i["resource_path"] for i in items) == sorted(paths)
    for item in items:
        for kind, attr in PER_PATH:
            assert item[attr] in {o["id"] for o in sim.objects(kind)}, (item["resource_path"], attr, "lost ID")
        assert not [k for k in item if k.endswith(("_intent", "_uncertain_at"))], item


@pytest.mark.parametrize("operation", ["createFlow", "createSourceConnection", "createTargetConnection"])
def test_a_create_committed_after_the_client_gave_up_is_found_not_duplicated(
    fast_stack: LocalStack, operation: str
) -> None:
    """Adobe answers nothing within the read timeout and commits the POST 2.5 s later: the retry, which the
    state machine starts before that commit, keeps looking until it sees the late object and creates nothing."""
    fast_stack.put_tenant_secret("acme", DEFAULT_STRIPE_KEY)
    fast_stack.simulator.register_stripe_key(DEFAULT_STRIPE_KEY)
    late = fast_stack.simulator.add_fault(
        Fault(operation=operation, kind="commit_late", latency_s=READ_TIMEOUT_S + 0.5, commit_delay_s=2.0)
    )

    result = provision(fast_stack, {"tenantId": "acme", "resourcePaths": ["charges"]}, "slow-create")

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert late.fired == 1
    assert fast_stack.simulator.calls[operation] == 1, "the late-committed create must not be sent again"
    assert_converged(fast_stack, "acme", ["charges"])


def test_a_throttled_create_is_retried_without_a_lookup(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    """A 429 is a refusal: nothing was created, so the retry creates at once (no listFlows)."""
    tenant_factory("acme")
    throttle = stack.simulator.add_fault(Fault(operation="createFlow", kind="throttle", retry_after=1, times=2))

    result = provision(stack, {"tenantId": "acme", "resourcePaths": ["charges"]}, "throttled")

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert throttle.fired == 2 and stack.simulator.calls["createFlow"] == 3
    assert stack.simulator.calls["listFlows"] == 0
    assert_converged(stack, "acme", ["charges"])
