"""Converge: provisioning drives AEP to the desired state whatever an earlier answer was.

Real ASL on moto, real handlers, the AEP simulator over HTTP. Every test asserts what exists afterwards: the
objects of each kind and name in the simulator's state (no duplicate) and the IDs DynamoDB holds (each pointing
at a live object: no lost ID).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from local.aep_simulator import Fault
from local.stack import LocalStack
from stripe_aep.aep import ImsCredential, PlatformClient, PlatformSettings, Schedule
from stripe_aep.store import Store, dataflow_key, schema_key
from tests.integration.conftest import DEFAULT_STRIPE_KEY, REPO, TenantFactory, check_contract, require_app
from tests.integration.support import alert_queue

#: (simulator kind, DynamoDB attribute of the dataflow item) of the per-(tenant, path) objects.
PER_PATH = (
    ("sourceConnections", "source_connection_id"),
    ("dataSets", "dataset_id"),
    ("targetConnections", "target_connection_id"),
    ("mappingSets", "mapping_set_id"),
    ("flows", "flow_id"),
)
#: The lookup by name of each create's kind (simulator operationIds).
LOOKUP = {
    "createFlow": "listFlows",
    "createSourceConnection": "getSourceConnections",
    "createTargetConnection": "getTargetConnections",
}
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
    # The settle wait is the state machine's (CreateSettlingError retries, no Adobe call while waiting), then
    # one lookup by name after the deadline finds the late object.
    waits = [
        e
        for e in fast_stack.history(result["executionArn"])
        if e["type"] == "TaskFailed" and e["taskFailedEventDetails"]["error"] == "CreateSettlingError"
    ]
    assert waits, "the retry must wait in Step Functions until the settle deadline"
    assert fast_stack.simulator.calls[LOOKUP[operation]] == 1, dict(fast_stack.simulator.calls)


def test_a_throttled_create_is_retried_without_a_lookup(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    """A 429 is a refusal: nothing was created, so the retry creates at once (no listFlows)."""
    tenant_factory("acme")
    throttle = stack.simulator.add_fault(Fault(operation="createFlow", kind="throttle", retry_after=1, times=2))

    result = provision(stack, {"tenantId": "acme", "resourcePaths": ["charges"]}, "throttled")

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert throttle.fired == 2 and stack.simulator.calls["createFlow"] == 3
    assert stack.simulator.calls["listFlows"] == 0
    assert_converged(stack, "acme", ["charges"])


def health(stack: LocalStack, tenant_id: str) -> dict[str, str]:
    """Run the tenant's health check; its dataflows' health_status by resource path."""
    answer = stack.invoke("HealthCheckFunction", {"tenantId": tenant_id})
    assert "errorType" not in answer, answer
    _, items = Store(stack.outputs["TableName"]).tenant_items(tenant_id)
    return {i["resource_path"]: i.get("health_status") for i in items}


def plan(stack: LocalStack, tenant_id: str) -> dict[str, Any]:
    answer = stack.invoke("HealthCheckFunction", {"tenantId": tenant_id, "plan": True})
    assert "errorType" not in answer, answer
    return answer


def verbs(answer: dict[str, Any]) -> Counter[tuple[str, str]]:
    return Counter((a["verb"], a["kind"]) for a in answer["actions"])


PATHS = ["charges", "customers"]


def test_a_flow_deleted_in_aep_is_recreated_by_provisioning_reusing_its_connections(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    tenant_factory("acme")
    payload = {"tenantId": "acme", "resourcePaths": PATHS}
    assert provision(stack, payload, "first")["status"] == "SUCCEEDED"
    store = Store(stack.outputs["TableName"])
    _, before = store.tenant_items("acme")
    charges = next(i for i in before if i["resource_path"] == "charges")
    stack.simulator.remove_flow(charges["flow_id"])
    assert health(stack, "acme")["charges"] == "MISSING"
    planned = plan(stack, "acme")
    assert planned["changes"] == 1 and verbs(planned)[("recreate", "flow")] == 1, planned

    assert provision(stack, payload, "repair")["status"] == "SUCCEEDED"

    assert_converged(stack, "acme", PATHS)
    _, after = store.tenant_items("acme")
    repaired = next(i for i in after if i["resource_path"] == "charges")
    assert repaired["flow_id"] != charges["flow_id"]
    for attr in ("source_connection_id", "target_connection_id", "dataset_id", "mapping_set_id"):
        assert repaired[attr] == charges[attr], f"{attr} must be reused"
    flow = next(f for f in stack.simulator.objects("flows") if f["id"] == repaired["flow_id"])
    assert flow["sourceConnectionIds"] == [charges["source_connection_id"]] and flow["state"] == "enabled"
    assert health(stack, "acme")["charges"] in ("HEALTHY", "PENDING")
    assert plan(stack, "acme")["changes"] == 0


def test_a_dataset_deleted_in_aep_is_recreated_with_the_target_connection_and_flow_that_wrote_to_it(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    """The target connection's dataset and the flow's connections cannot be re-pointed (no PATCH for them):
    both are re-created on the new dataset; the stale ones are deleted, the other path is left alone."""
    tenant_factory("acme")
    payload = {"tenantId": "acme", "resourcePaths": PATHS}
    assert provision(stack, payload, "first")["status"] == "SUCCEEDED"
    store, sim = Store(stack.outputs["TableName"]), stack.simulator
    _, before = store.tenant_items("acme")
    old = {i["resource_path"]: i for i in before}
    sim.remove_object("dataSets", old["charges"]["dataset_id"])

    planned = plan(stack, "acme")

    cascade = [(a["verb"], a["kind"]) for a in planned["actions"] if a["verb"] not in ("keep", "keep_orphan")]
    assert cascade == [("recreate", "dataset"), ("recreate", "target_connection"), ("recreate", "flow")], planned
    assert {a["resourcePath"] for a in planned["actions"] if a["verb"] == "recreate"} == {"charges"}
    reasons = {a["kind"]: a["reason"] for a in planned["actions"] if a["verb"] == "recreate"}
    assert old["charges"]["dataset_id"] in reasons["target_connection"], reasons

    assert provision(stack, payload, "repair")["status"] == "SUCCEEDED"

    assert_converged(stack, "acme", PATHS)
    _, after = store.tenant_items("acme")
    new = {i["resource_path"]: i for i in after}
    for attr in ("dataset_id", "target_connection_id", "flow_id"):
        assert new["charges"][attr] != old["charges"][attr], attr
    for attr in ("source_connection_id", "mapping_set_id"):
        assert new["charges"][attr] == old["charges"][attr], f"{attr} must be reused"
    assert [new["customers"][a] for _, a in PER_PATH] == [old["customers"][a] for _, a in PER_PATH]
    targets = {t["id"]: t for t in sim.objects("targetConnections")}
    assert targets[new["charges"]["target_connection_id"]]["params"]["dataSetId"] == new["charges"]["dataset_id"]
    assert old["charges"]["target_connection_id"] not in targets, "the stale target connection is deleted"
    flows = {f["id"]: f for f in sim.objects("flows")}
    assert old["charges"]["flow_id"] not in flows, "the flow writing to the gone dataset is deleted"
    flow = flows[new["charges"]["flow_id"]]
    assert flow["targetConnectionIds"] == [new["charges"]["target_connection_id"]] and flow["state"] == "enabled"
    assert [f["state"] for f in flows.values()] == ["enabled", "enabled"]
    run = sim.run_flow(flow["id"])
    assert run["metrics"]["recordSummary"]["outputRecordCount"] > 0, run
    (batch,) = sim.dataset_batches(new["charges"]["dataset_id"])
    assert batch["flowId"] == flow["id"] and batch["recordsWritten"] > 0
    assert len(sim.dataset_rows(new["charges"]["dataset_id"])) == batch["recordsWritten"]
    assert sim.dataset_batches(old["charges"]["dataset_id"]) == []
    assert plan(stack, "acme")["changes"] == 0


def test_a_schema_deleted_in_aep_is_recreated_and_everything_built_on_it_follows(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    """Schema Registry refuses to delete a schema a dataset uses: the dataset went first, then the schema.
    Provisioning the tenant again re-creates the shared schema, the dataset, target connection and flow on it,
    and gives the mapping set (never deleted) a new version naming the new schema."""
    tenant_factory("acme")
    payload = {"tenantId": "acme", "resourcePaths": PATHS}
    assert provision(stack, payload, "first")["status"] == "SUCCEEDED"
    store, sim = Store(stack.outputs["TableName"]), stack.simulator
    _, before = store.tenant_items("acme")
    old = {i["resource_path"]: i for i in before}["charges"]
    schema_item = store.get(schema_key("prod", "charges")) or {}
    sim.remove_object("dataSets", old["dataset_id"])
    platform_client(stack).delete_schema(schema_item["schema_alt_id"])
    version = next(m for m in sim.objects("mappingSets") if m["id"] == old["mapping_set_id"])["version"]

    planned = plan(stack, "acme")

    cascade = [(a["verb"], a["kind"]) for a in planned["actions"] if a["verb"] not in ("keep", "keep_orphan")]
    assert cascade == [
        ("recreate", "schema"),
        ("recreate", "dataset"),
        ("recreate", "target_connection"),
        ("repoint", "mapping_set"),
        ("recreate", "flow"),
    ], planned

    assert provision(stack, payload, "repair")["status"] == "SUCCEEDED"

    assert_converged(stack, "acme", PATHS)
    schemas = Counter(x["title"] for x in sim.objects("schemas"))
    assert set(schemas.values()) == {1} and len(schemas) == len(PATHS), schemas
    schema_id = (store.get(schema_key("prod", "charges")) or {})["schema_id"]
    assert schema_id != schema_item["schema_id"] and schema_id in {x["$id"] for x in sim.objects("schemas")}
    new = {i["resource_path"]: i for i in store.tenant_items("acme")[1]}["charges"]
    dataset = next(d for d in sim.objects("dataSets") if d["id"] == new["dataset_id"])
    assert dataset["schemaRef"]["id"] == schema_id
    target = next(t for t in sim.objects("targetConnections") if t["id"] == new["target_connection_id"])
    assert (target["data"]["schema"]["id"], target["params"]["dataSetId"]) == (schema_id, new["dataset_id"])
    mapping = next(m for m in sim.objects("mappingSets") if m["id"] == new["mapping_set_id"])
    assert new["mapping_set_id"] == old["mapping_set_id"] and mapping["outputSchema"]["schemaRef"]["id"] == schema_id
    assert mapping["version"] == version + 1 == int(new["mapping_set_version"]) == int(new["flow_mapping_version"])
    flows = {f["id"]: f for f in sim.objects("flows")}
    assert old["flow_id"] not in flows and old["target_connection_id"] not in {
        t["id"] for t in sim.objects("targetConnections")
    }
    flow = flows[new["flow_id"]]
    assert int(flow["transformations"][0]["params"]["mappingVersion"]) == version + 1
    run = sim.run_flow(flow["id"])
    assert run["metrics"]["recordSummary"]["outputRecordCount"] > 0, run
    assert len(sim.dataset_rows(new["dataset_id"])) == run["metrics"]["recordSummary"]["outputRecordCount"]
    assert plan(stack, "acme")["changes"] == 0


def test_orphan_namesakes_are_removed_but_never_a_dataset(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    tenant_factory("acme")
    payload = {"tenantId": "acme", "resourcePaths": ["charges"]}
    assert provision(stack, payload, "first")["status"] == "SUCCEEDED"
    sim = stack.simulator
    flow = sim.objects("flows")[0]
    dataset = sim.objects("dataSets")[0]
    # Namesakes as a lost create would leave them: a second enabled flow on the same connections, a dataset.
    client = platform_client(stack)
    schedule = Schedule(start_time=int(time.time()) + 3600, frequency="hour", interval=1)
    twin = client.create_flow(
        flow["name"],
        source_connection_id=flow["sourceConnectionIds"][0],
        target_connection_id=flow["targetConnectionIds"][0],
        mapping_id=flow["transformations"][0]["params"]["mappingId"],
        mapping_version=int(flow["transformations"][0]["params"]["mappingVersion"]),
        schedule=schedule,
    )
    twin_dataset = client.create_dataset(dataset["name"], dataset["schemaRef"]["id"])
    planned = plan(stack, "acme")
    assert verbs(planned)[("delete_orphan", "flow")] == 1 and verbs(planned)[("keep_orphan", "dataset")] == 1

    assert provision(stack, payload, "cleanup")["status"] == "SUCCEEDED"

    assert twin.id not in {f["id"] for f in sim.objects("flows")}
    assert sim.calls["postStateTransition"] >= 1, "the orphan flow is disabled before it is deleted"
    assert twin_dataset in {d["id"] for d in sim.objects("dataSets")}, "a dataset is never deleted as an orphan"
    _, items = Store(stack.outputs["TableName"]).tenant_items("acme")
    assert items[0]["flow_id"] == flow["id"] and items[0]["dataset_id"] == dataset["id"]
    assert [f["id"] for f in sim.objects("flows")] == [flow["id"]]


def test_a_flow_disabled_outside_the_product_is_enabled_only_if_the_tenant_is_meant_to_be(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    tenant_factory("acme")
    payload = {"tenantId": "acme", "resourcePaths": ["charges"]}
    assert provision(stack, payload, "first")["status"] == "SUCCEEDED"
    client = platform_client(stack)
    flow_id = stack.simulator.objects("flows")[0]["id"]
    client.disable_flow(flow_id)
    assert verbs(plan(stack, "acme"))[("enable", "flow")] == 1

    assert provision(stack, payload, "re-enable")["status"] == "SUCCEEDED"
    assert stack.simulator.objects("flows")[0]["state"] == "enabled"

    arn = stack.start_execution("LifecycleStateMachine", {"operation": "disable", "tenantId": "acme"}, name="off")
    assert stack.wait(arn, timeout_s=120)["status"] == "SUCCEEDED"
    assert provision(stack, payload, "stays-off")["status"] == "SUCCEEDED"
    assert stack.simulator.objects("flows")[0]["state"] == "disabled", "the tenant was disabled by the product"
    assert plan(stack, "acme")["changes"] == 0


def platform_client(stack: LocalStack) -> PlatformClient:
    """A Platform client with the stack's Adobe credential, against its simulator (as someone outside the
    product would change AEP)."""
    cred = stack.adobe_credential
    credential = ImsCredential(
        client_id=cred["client_id"], client_secret=SecretStr(cred["client_secret"]), ims_org=cred["ims_org"]
    )
    url = stack.simulator.url
    return PlatformClient(PlatformSettings(platform_url=url, ims_url=url, sandbox="prod"), credential)


@pytest.fixture
def repairing_stack() -> Iterator[LocalStack]:
    """A LocalStack deployed with HealthRepairMissingFlows=true."""
    require_app()
    with LocalStack(project_root=REPO, parameter_overrides={"HealthRepairMissingFlows": "true"}) as started:
        yield started
        check_contract(started.simulator)


def test_by_default_the_health_check_alert_on_a_missing_flow_says_how_to_repair_it(stack: LocalStack) -> None:
    stack.put_tenant_secret("acme", DEFAULT_STRIPE_KEY)
    stack.simulator.register_stripe_key(DEFAULT_STRIPE_KEY)
    assert provision(stack, {"tenantId": "acme", "resourcePaths": ["charges"]}, "first")["status"] == "SUCCEEDED"
    notices = alert_queue(stack)
    stack.simulator.remove_flow(stack.simulator.objects("flows")[0]["id"])

    assert health(stack, "acme")["charges"] == "MISSING"

    (alert,) = notices()
    assert alert["status"] == "MISSING" and "automatic repair off" in alert["repair"]
    assert "stripe-aep provision acme" in alert["repair"]
    sfn = stack.client("stepfunctions")
    listed = sfn.list_executions(stateMachineArn=stack.state_machine_arn("ProvisionStateMachine"))["executions"]
    assert [e["name"] for e in listed] == ["first"], "no repair is started by default"


def test_the_health_check_repairs_a_missing_flow_when_allowed(repairing_stack: LocalStack) -> None:
    stack = repairing_stack
    stack.put_tenant_secret("acme", DEFAULT_STRIPE_KEY)
    stack.simulator.register_stripe_key(DEFAULT_STRIPE_KEY)
    assert provision(stack, {"tenantId": "acme", "resourcePaths": ["charges"]}, "first")["status"] == "SUCCEEDED"
    notices = alert_queue(stack)
    gone = stack.simulator.objects("flows")[0]["id"]
    stack.simulator.remove_flow(gone)

    assert health(stack, "acme")["charges"] == "MISSING"

    (alert,) = notices()
    assert alert["status"] == "MISSING" and alert["repair"].startswith("started provision execution repair-acme-")
    name = alert["repair"].split()[3]
    arn = f"{stack.state_machine_arn('ProvisionStateMachine').replace(':stateMachine:', ':execution:')}:{name}"
    assert stack.wait(arn, timeout_s=180)["status"] == "SUCCEEDED"
    assert_converged(stack, "acme", ["charges"])
    assert gone not in {f["id"] for f in stack.simulator.objects("flows")}
    assert health(stack, "acme")["charges"] in ("HEALTHY", "PENDING")


def test_the_sweep_repairs_a_disabled_dataflow_whose_flow_was_deleted_and_it_stays_disabled(
    repairing_stack: LocalStack,
) -> None:
    stack = repairing_stack
    stack.put_tenant_secret("acme", DEFAULT_STRIPE_KEY)
    stack.simulator.register_stripe_key(DEFAULT_STRIPE_KEY)
    assert provision(stack, {"tenantId": "acme", "resourcePaths": ["charges"]}, "first")["status"] == "SUCCEEDED"
    arn = stack.start_execution("LifecycleStateMachine", {"operation": "disable", "tenantId": "acme"}, name="off")
    assert stack.wait(arn, timeout_s=120)["status"] == "SUCCEEDED"
    notices = alert_queue(stack)
    gone = stack.simulator.objects("flows")[0]["id"]
    stack.simulator.remove_flow(gone)

    swept = stack.invoke("HealthCheckFunction", {})  # the scheduled sweep (a tenant check skips DISABLED ones)

    assert swept["byStatus"] == {"MISSING": 1}, swept
    (alert,) = notices()
    assert (alert["status"], alert["previousStatus"]) == ("MISSING", "DISABLED")
    assert alert["repair"].startswith("started provision execution repair-acme-")
    name = alert["repair"].split()[3]
    execution = f"{stack.state_machine_arn('ProvisionStateMachine').replace(':stateMachine:', ':execution:')}:{name}"
    assert stack.wait(execution, timeout_s=180)["status"] == "SUCCEEDED"
    assert_converged(stack, "acme", ["charges"])
    (flow,) = stack.simulator.objects("flows")
    assert flow["id"] != gone and flow["state"] == "disabled", "re-created, and disabled as the tenant wants"
    store = Store(stack.outputs["TableName"])
    tenant, (item,) = store.tenant_items("acme")
    assert tenant is not None and tenant["status"] == "DISABLED"
    assert (item["status"], item["flow_id"]) == ("DISABLED", flow["id"])
    again = stack.invoke("HealthCheckFunction", {})
    assert again["byStatus"] == {"DISABLED": 1}, again
    assert (store.get(dataflow_key("acme", "charges")) or {})["health_status"] == "DISABLED"
    (recovery,) = notices()
    assert (recovery["kind"], recovery["status"], recovery["previousStatus"]) == ("RECOVERY", "DISABLED", "MISSING")
