"""The deprovisioning steps called directly on a Runtime over moto and the AEP simulator: each delete's outcome
in the simulator's state and in DynamoDB, in the state machine's order, and a second pass that calls nothing."""

from __future__ import annotations

from typing import Any

import pytest

from stripe_aep.aep import ConflictError
from stripe_aep.errors import TenantNotFoundError
from stripe_aep.runtime import Runtime
from stripe_aep.steps import deprovision
from stripe_aep.steps.common import RawInput, TenantStep
from stripe_aep.store import DEPROVISIONED, DEPROVISIONING, dataflow_key, tenant_key
from tests.unit.step_support import TENANT, Provisioned, payload, provision_chain

PATHS = ("charges", "refunds")
DELETES = ("deleteFlow", "deleteTargetConnection", "deleteSourceConnection", "deleteDataset", "deleteConnection")
EXECUTION = "deprovision-acme-1"


def _path(path: str) -> deprovision.DeprovisionPathStep:
    return deprovision.DeprovisionPathStep(tenantId=TENANT, resourcePath=path, executionName=EXECUTION)


def _deprovision(runtime: Runtime, purge: bool) -> dict[str, Any]:
    """Every deprovisioning step in the state machine's order; returns each step's outputs."""
    raw = RawInput(input={"tenantId": TENANT, "purge": purge}, executionName=EXECUTION)
    plan = payload(deprovision.plan_deprovisioning(raw, runtime))
    out: dict[str, Any] = {"plan": plan, "paths": {}}
    for path in plan["resourcePaths"]:
        steps = [
            deprovision.delete_dataflow,
            deprovision.delete_target_connection,
            deprovision.delete_source_connection,
        ]
        if purge:
            steps.append(deprovision.purge_dataset)
        out["paths"][path] = [payload(step(_path(path), runtime)) for step in steps]
    tenant = TenantStep(tenantId=TENANT, executionName=EXECUTION)
    out["base"] = payload(deprovision.delete_base_connection(tenant, runtime))
    complete = deprovision.CompleteDeprovisioningStep(tenantId=TENANT, purge=purge, executionName=EXECUTION)
    out["complete"] = payload(deprovision.complete_deprovisioning(complete, runtime))
    return out


@pytest.fixture
def provisioned(runtime: Runtime) -> Provisioned:
    return provision_chain(runtime, paths=PATHS)


def test_plan_lists_every_path_and_marks_them_deprovisioning(
    runtime: Runtime, provisioned: Provisioned, simulator: Any
) -> None:
    simulator.reset_calls()
    raw = RawInput(input={"tenantId": TENANT}, executionName=EXECUTION)

    plan = payload(deprovision.plan_deprovisioning(raw, runtime))

    assert plan == {"tenantId": TENANT, "purge": False, "resourcePaths": sorted(PATHS)}
    assert (runtime.store.get(tenant_key(TENANT)) or {})["status"] == DEPROVISIONING
    assert {(runtime.store.get(dataflow_key(TENANT, p)) or {})["status"] for p in PATHS} == {DEPROVISIONING}
    assert list(runtime.store.active_dataflows()) == []  # out of the health-check index
    assert sum(simulator.calls.values()) == 0


def test_deprovisioning_with_purge_deletes_the_tenants_objects_and_keeps_the_shared_ones(
    runtime: Runtime, provisioned: Provisioned, simulator: Any
) -> None:
    flows = {p: out["flow"]["flowId"] for p, out in provisioned.paths.items()}

    out = _deprovision(runtime, purge=True)

    assert out["paths"]["charges"][0] == {"resourcePath": "charges", "deleted": [flows["charges"]]}
    assert out["base"] == {"tenantId": TENANT, "deleted": [provisioned.base_connection_id]}
    for kind in ("flows", "targetConnections", "sourceConnections", "dataSets", "connections"):
        assert simulator.objects(kind) == [], kind
    assert len(simulator.objects("schemas")) == len(PATHS)  # the sandbox's, shared by its tenants
    assert len(simulator.objects("mappingSets")) == len(PATHS)  # no delete in the client: reused later
    tenant = runtime.store.get(tenant_key(TENANT)) or {}
    assert tenant["status"] == DEPROVISIONED and tenant["purged"] is True and tenant["deprovisioned_at"] > 0
    for path in PATHS:
        item = runtime.store.get(dataflow_key(TENANT, path)) or {}
        assert item["status"] == DEPROVISIONED and item["dataset_purged_at"] > 0
        assert not any(k.startswith("health_") for k in item)


def test_without_purge_the_dataset_is_kept(runtime: Runtime, provisioned: Provisioned, simulator: Any) -> None:
    _deprovision(runtime, purge=False)

    datasets = {d["id"] for d in simulator.objects("dataSets")}
    assert datasets == {out["dataset"]["datasetId"] for out in provisioned.paths.values()}
    assert simulator.objects("flows") == [] and simulator.objects("connections") == []
    tenant = runtime.store.get(tenant_key(TENANT)) or {}
    assert tenant["status"] == DEPROVISIONED and not tenant.get("purged")


def test_deprovisioning_twice_makes_no_adobe_call_the_second_time(
    runtime: Runtime, provisioned: Provisioned, simulator: Any
) -> None:
    _deprovision(runtime, purge=True)
    first = runtime.store.get(tenant_key(TENANT)) or {}
    simulator.reset_calls()

    again = _deprovision(runtime, purge=True)

    assert all(out["deleted"] == [] for outs in again["paths"].values() for out in outs)
    assert again["base"]["deleted"] == []
    assert not any(simulator.calls[op] for op in DELETES)
    assert (runtime.store.get(tenant_key(TENANT)) or {})["deprovisioned_at"] == first["deprovisioned_at"]


def test_a_source_connection_in_use_is_refused_and_kept(
    runtime: Runtime, provisioned: Provisioned, simulator: Any
) -> None:
    """Out of order (the flow still uses it), Adobe refuses the delete (400 FLOW-1418-400): nothing is lost."""
    with pytest.raises(ConflictError):
        deprovision.delete_source_connection(_path("charges"), runtime)

    assert len(simulator.objects("sourceConnections")) == len(PATHS)
    item = runtime.store.get(dataflow_key(TENANT, "charges")) or {}
    assert item["source_connection_id"] == provisioned.paths["charges"]["source"]["sourceConnectionId"]


def test_an_unknown_tenant_is_refused(runtime: Runtime, aws: Any) -> None:
    with pytest.raises(TenantNotFoundError):
        deprovision.plan_deprovisioning(RawInput(input={"tenantId": "nobody"}, executionName=EXECUTION), runtime)
    with pytest.raises(TenantNotFoundError):
        deprovision.delete_dataflow(deprovision.DeprovisionPathStep(tenantId="nobody", resourcePath="charges"), runtime)

    assert aws.items() == []
