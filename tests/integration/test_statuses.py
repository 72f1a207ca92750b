"""Statuses that tell the truth, over the real local stack (DynamoDB Local), asserting the DynamoDB items.

- A provisioning that began and failed ends FAILED with its cause (the missing tenant secret stayed
  PROVISIONING before).
- A refused input writes nothing to DynamoDB, not even `last_error`; Error/Cause of the execution report it.
- Tenant and dataflow statuses and the health status follow disable, enable and deprovision at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.stack import LocalStack
from stripe_aep.store import Store, dataflow_key, tenant_key
from stripe_aep.tenants import dataflow_name
from tests.integration.conftest import REPO, TenantFactory, check_contract, require_app

EVENTS = Path(__file__).resolve().parents[2] / "events"
MACHINES = {"deprovision": "DeprovisionStateMachine", "lifecycle": "LifecycleStateMachine"}
PATHS = ["charges", "refunds"]


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    """The one-machine stack without the provisioning's first run (``StartFirstRun=false``), so that a new
    dataflow's health starts PENDING (no run yet) as these statuses expect."""
    require_app()
    with LocalStack(project_root=REPO, parameter_overrides={"StartFirstRun": "false"}) as started:
        yield started
        check_contract(started.simulator)


def run(stack: LocalStack, machine: str, payload: Any, name: str) -> dict[str, Any]:
    return stack.wait(stack.start_execution(machine, payload, name=name), timeout_s=180)


def table_items(stack: LocalStack) -> list[dict[str, Any]]:
    """Every item of the table (a consistent scan), sorted by key."""
    client = stack.client("dynamodb")
    pages = client.get_paginator("scan").paginate(TableName=stack.outputs["TableName"], ConsistentRead=True)
    return sorted((i for p in pages for i in p["Items"]), key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def test_missing_tenant_secret_ends_failed_with_its_cause(stack: LocalStack) -> None:
    result = run(stack, "ProvisionStateMachine", {"tenantId": "nosecret", "resourcePaths": ["charges"]}, "p1")

    assert result["status"] == "FAILED"
    assert result["error"] == "TenantSecretNotFoundError"
    assert "create_base_connection" in result["cause"] and "stripe-aep/tenants/nosecret" in result["cause"]
    tenant = Store(stack.outputs["TableName"]).get(tenant_key("nosecret")) or {}
    assert tenant["status"] == "FAILED"
    assert tenant["last_error"]["error"] == "TenantSecretNotFoundError"
    assert tenant["last_error"]["execution"] == "p1"
    assert "create_base_connection" in tenant["last_error"]["message"]
    assert (Store(stack.outputs["TableName"]).get(dataflow_key("nosecret", "charges")) or {})["status"] == "FAILED"
    assert stack.simulator.objects("connections") == []


def _refused_inputs() -> list[tuple[str, str, Any]]:
    """(machine, file name, input naming the ACTIVE tenant acme where the tenant id is not what is wrong)."""
    inputs = []
    for path in sorted((EVENTS / "bad").glob("bad-*.json")):
        if path.name.startswith("bad-event-"):
            continue  # EventBridge events: refused by start_execution, tested in test_provision.py
        kind = path.name.split("-")[1]
        machine = MACHINES.get(kind, "ProvisionStateMachine")
        payload = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(payload, dict) and "tenant-id" not in path.name and "tenantId" in payload:
            payload["tenantId"] = "acme"
        inputs.append((machine, path.name, payload))
    return inputs


def test_refused_inputs_write_nothing_to_dynamodb(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    tenant_factory("acme")
    assert run(stack, "ProvisionStateMachine", {"tenantId": "acme", "resourcePaths": PATHS}, "setup")["status"] == (
        "SUCCEEDED"
    )
    before = table_items(stack)
    refused = _refused_inputs()
    refused += [
        (
            "LifecycleStateMachine",
            "enable a path acme lacks",
            {"operation": "enable", "tenantId": "acme", "resourcePaths": ["customers"]},
        ),
        ("LifecycleStateMachine", "unknown tenant", {"operation": "disable", "tenantId": "nobody"}),
        ("DeprovisionStateMachine", "unknown tenant", {"tenantId": "nobody"}),
    ]
    assert len(refused) >= 25

    errors = []
    for index, (machine, name, payload) in enumerate(refused):
        result = run(stack, machine, payload, f"refused-{index}")
        assert result["status"] == "FAILED", name
        assert result.get("cause"), name
        errors.append(result["error"])

    assert set(errors) == {"InputValidationError", "TenantNotFoundError"}, errors
    assert table_items(stack) == before, "a refused input changed DynamoDB"


def test_statuses_follow_disable_enable_and_deprovision(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    tenant_factory("acme")
    payload = {"tenantId": "acme", "resourcePaths": PATHS, "schedule": {"frequency": "hour", "interval": 1}}
    assert run(stack, "ProvisionStateMachine", payload, "provision")["status"] == "SUCCEEDED"
    store = Store(stack.outputs["TableName"])
    stack.invoke("HealthCheckFunction", {})
    assert {(store.get(dataflow_key("acme", p)) or {}).get("health_status") for p in PATHS} == {"PENDING"}

    def statuses() -> tuple[str, dict[str, tuple[str, str | None, bool]]]:
        tenant, items = store.tenant_items("acme")
        assert tenant is not None
        return tenant["status"], {
            i["resource_path"]: (i["status"], i.get("health_status"), "gsi1pk" in i) for i in items
        }

    assert run(stack, "LifecycleStateMachine", {"operation": "disable", "tenantId": "acme"}, "d1")["status"] == (
        "SUCCEEDED"
    )
    assert statuses() == ("DISABLED", {p: ("DISABLED", "DISABLED", False) for p in PATHS})
    assert all(f["state"] == "disabled" for f in stack.simulator.objects("flows"))
    swept = stack.invoke("HealthCheckFunction", {})
    assert "errorType" not in swept
    assert statuses()[1] == {p: ("DISABLED", "DISABLED", False) for p in PATHS}, "the sweep must leave them"

    one = {"operation": "enable", "tenantId": "acme", "resourcePaths": ["refunds"]}
    assert run(stack, "LifecycleStateMachine", one, "e1")["status"] == "SUCCEEDED"
    assert statuses() == (
        "ACTIVE",
        {"charges": ("DISABLED", "DISABLED", False), "refunds": ("ACTIVE", "PENDING", True)},
    )
    assert run(stack, "LifecycleStateMachine", {"operation": "enable", "tenantId": "acme"}, "e2")["status"] == (
        "SUCCEEDED"
    )
    assert statuses() == ("ACTIVE", {p: ("ACTIVE", "PENDING", True) for p in PATHS})
    flows = {f["name"]: f for f in stack.simulator.objects("flows")}
    assert all(flows[dataflow_name("acme", p)]["state"] == "enabled" for p in PATHS)

    assert run(stack, "DeprovisionStateMachine", {"tenantId": "acme"}, "gone")["status"] == "SUCCEEDED"
    assert statuses() == ("DEPROVISIONED", {p: ("DEPROVISIONED", None, False) for p in PATHS})
