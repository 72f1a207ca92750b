"""The provisioning steps called directly (no state machine, no Lambda, no local stack) on a Runtime over moto
and the AEP simulator: each step's outcome in the simulator's state and in DynamoDB."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stripe_aep.catalogue import BASE_CONNECTION, Ref
from stripe_aep.errors import InputValidationError, StripeSourceRejectedError, TenantSecretNotFoundError
from stripe_aep.names import base_connection_name, dataflow_name, source_connection_name
from stripe_aep.runtime import Runtime
from stripe_aep.steps import provision
from stripe_aep.steps.common import SandboxStep
from stripe_aep.store import ACTIVE, FAILED, PROVISIONING, dataflow_key, schema_key, tenant_key
from tests.conftest import FAKE_STRIPE_KEY
from tests.unit.step_support import (
    EXECUTION,
    SANDBOX,
    TENANT,
    Aws,
    payload,
    provision_chain,
    provision_validate,
)


def _tenant_step(tenant: str = TENANT) -> SandboxStep:
    return SandboxStep(tenantId=tenant, sandbox=SANDBOX, executionName=EXECUTION)


# ---- ValidateInput ------------------------------------------------------------------------------------------


def test_validate_input_applies_the_defaults_and_records_the_tenant_provisioning(
    runtime: Runtime, simulator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    out = payload(provision_validate(runtime, {"tenantId": TENANT, "resourcePaths": ["charges"]}))

    assert out["tenantId"] == TENANT and out["sandbox"] == SANDBOX and out["resourcePaths"] == ["charges"]
    assert out["schedule"]["frequency"] == "hour" and out["schedule"]["interval"] == 1
    assert out["schedule"]["startTime"] < 10**11  # epoch seconds
    item = runtime.store.get(tenant_key(TENANT))
    assert item is not None
    assert (item["status"], item["sandbox"], item["execution"]) == (PROVISIONING, SANDBOX, EXECUTION)
    assert simulator.requests == []  # no Adobe call
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any("ProvisioningStarted" in m for m in metrics)


def test_validate_input_refuses_a_bad_tenant_id_and_writes_nothing(runtime: Runtime, aws: Aws) -> None:
    with pytest.raises(InputValidationError, match="tenantId"):
        provision_validate(runtime, {"tenantId": "Not_A_Tenant"})

    assert aws.items() == []


def test_validate_input_refuses_fields_of_a_path_not_requested(runtime: Runtime, aws: Aws) -> None:
    raw = {"tenantId": TENANT, "resourcePaths": ["charges"], "fields": {"refunds": {"include": ["amount"]}}}
    with pytest.raises(InputValidationError, match="refunds not in resourcePaths"):
        provision_validate(runtime, raw)

    assert aws.items() == []


# ---- CreateBaseConnection -----------------------------------------------------------------------------------


def test_create_base_connection_holds_the_tenants_stripe_key_and_is_recorded_once(
    runtime: Runtime, simulator: Any
) -> None:
    provision_validate(runtime, {"tenantId": TENANT})

    first = payload(provision.create_base_connection(_tenant_step(), runtime))
    again = payload(provision.create_base_connection(_tenant_step(), runtime))

    assert first == again
    [connection] = simulator.objects("connections")
    assert connection["id"] == first["baseConnectionId"]
    assert connection["name"] == base_connection_name(TENANT)
    assert simulator.stripe_key_of(connection["id"]) == FAKE_STRIPE_KEY
    assert simulator.calls["createConnection"] == 1
    item = runtime.store.get(tenant_key(TENANT)) or {}
    assert item["base_connection_id"] == connection["id"]
    assert item["base_connection_etag"] == connection["etag"]
    assert not any(k.endswith("_intent") for k in item)
    assert FAKE_STRIPE_KEY not in json.dumps(item)


def test_create_base_connection_without_the_tenants_secret_creates_nothing(runtime: Runtime, simulator: Any) -> None:
    provision_validate(runtime, {"tenantId": "globex"})

    with pytest.raises(TenantSecretNotFoundError, match="globex"):
        provision.create_base_connection(_tenant_step("globex"), runtime)

    assert simulator.objects("connections") == []
    assert "base_connection_id" not in (runtime.store.get(tenant_key("globex")) or {})


def test_an_unfinished_create_is_found_by_name_not_made_twice(runtime: Runtime, simulator: Any) -> None:
    """A crash between Adobe's answer and the DynamoDB write left the intent and the object: the re-run adopts
    the object the deterministic name finds."""
    provision_validate(runtime, {"tenantId": TENANT})
    made = runtime.platform(SANDBOX).create_base_connection(base_connection_name(TENANT), runtime.stripe_key(TENANT))
    key = BASE_CONNECTION.key(Ref(SANDBOX, TENANT))
    runtime.store.claim_intent(key, BASE_CONNECTION.attribute, "provision-acme-crashed", lease_s=0)
    runtime.store.expire_intents(key, "provision-acme-crashed")

    out = payload(provision.create_base_connection(_tenant_step(), runtime))

    assert out["baseConnectionId"] == made.id
    assert [c["id"] for c in simulator.objects("connections")] == [made.id]
    assert simulator.calls["createConnection"] == 1


# ---- ExploreResourcePath ------------------------------------------------------------------------------------


def test_explore_counts_the_stripe_fields_and_rejects_a_revoked_key(runtime: Runtime, simulator: Any) -> None:
    provision_validate(runtime, {"tenantId": TENANT})
    base = payload(provision.create_base_connection(_tenant_step(), runtime))["baseConnectionId"]
    step = provision.ExploreStep(
        tenantId=TENANT, sandbox=SANDBOX, resourcePath="charges", baseConnectionId=base, executionName=EXECUTION
    )

    out = payload(provision.explore_resource_path(step, runtime))
    assert out["resourcePath"] == "charges" and out["fieldCount"] > 10

    simulator.revoke_stripe_key(FAKE_STRIPE_KEY)
    with pytest.raises(StripeSourceRejectedError, match="charges") as rejected:
        provision.explore_resource_path(step, runtime)
    assert FAKE_STRIPE_KEY not in str(rejected.value)
    assert simulator.objects("sourceConnections") == []


# ---- the whole chain ----------------------------------------------------------------------------------------


def test_the_chain_creates_each_object_once_linked_and_recorded(runtime: Runtime, simulator: Any, aws: Aws) -> None:
    done = provision_chain(runtime, paths=("charges",))

    charges = done.paths["charges"]
    [source] = simulator.objects("sourceConnections")
    assert source["id"] == charges["source"]["sourceConnectionId"]
    assert source["baseConnectionId"] == done.base_connection_id
    assert source["name"] == source_connection_name(TENANT, "charges")
    assert source["params"]["resourcePath"] == "charges"
    [schema] = simulator.objects("schemas")
    assert schema["$id"] == charges["schema"]["schemaId"] and schema["meta:altId"] == charges["schema"]["schemaAltId"]
    [group] = simulator.objects("fieldgroups")
    assert group["$id"] == charges["schema"]["fieldGroupId"]
    assert {"$ref": group["$id"]} in schema["allOf"]
    [dataset] = simulator.objects("dataSets")
    assert dataset["id"] == charges["dataset"]["datasetId"]
    assert dataset["schemaRef"]["id"] == schema["$id"]
    [target] = simulator.objects("targetConnections")
    assert target["id"] == charges["target"]["targetConnectionId"]
    assert target["params"]["dataSetId"] == dataset["id"] and target["data"]["schema"]["id"] == schema["$id"]
    [mapping] = simulator.objects("mappingSets")
    assert mapping["id"] == charges["mapping"]["mappingSetId"]
    [flow] = simulator.objects("flows")
    assert flow["id"] == charges["flow"]["flowId"] and flow["name"] == dataflow_name(TENANT, "charges")
    assert flow["sourceConnectionIds"] == [source["id"]] and flow["targetConnectionIds"] == [target["id"]]
    assert flow["transformations"][0]["params"]["mappingId"] == mapping["id"]
    assert flow["scheduleParams"]["frequency"] == done.request["schedule"]["frequency"]
    assert int(flow["scheduleParams"]["startTime"]) == done.request["schedule"]["startTime"]

    item = runtime.store.get(dataflow_key(TENANT, "charges")) or {}
    assert item["status"] == ACTIVE
    assert (item["source_connection_id"], item["dataset_id"]) == (source["id"], dataset["id"])
    assert (item["target_connection_id"], item["mapping_set_id"], item["flow_id"]) == (
        target["id"],
        mapping["id"],
        flow["id"],
    )
    assert item["flow_etag"] == flow["etag"]
    assert [i["flow_id"] for i in runtime.store.active_dataflows()] == [flow["id"]]  # in the health-check index
    shared = runtime.store.get(schema_key(SANDBOX, "charges")) or {}
    assert (shared["schema_id"], shared["field_group_id"]) == (schema["$id"], group["$id"])
    tenant = runtime.store.get(tenant_key(TENANT)) or {}
    assert tenant["status"] == ACTIVE and done.completed == {"tenantId": TENANT, "status": ACTIVE, "dataflowCount": 1}
    leftovers = [k for i in aws.items() for k in i if k.endswith("_intent")]
    assert leftovers == []
    assert FAKE_STRIPE_KEY not in json.dumps(aws.items(), default=str)


def test_re_running_every_step_creates_nothing_twice(runtime: Runtime, simulator: Any) -> None:
    first = provision_chain(runtime, paths=("charges", "customers"))
    counts = {op: n for op, n in simulator.calls.items() if op.startswith("create")}
    assert {"createConnection", "createClass", "createSchema", "createMappingSet", "createFlow"} <= set(counts)

    second = provision_chain(runtime, paths=("charges", "customers"), execution="provision-acme-2")

    assert second.paths == first.paths and second.base_connection_id == first.base_connection_id
    assert {op: simulator.calls[op] for op in counts} == counts
    assert all(n == 1 for op, n in counts.items() if op in ("createConnection", "createClass"))
    assert len(simulator.objects("flows")) == 2
    assert len(simulator.objects("classes")) == 1  # customers is a record: the sandbox's one custom class


def test_a_second_tenant_reuses_the_sandboxs_schema(runtime: Runtime, simulator: Any, aws: Aws) -> None:
    provision_chain(runtime, paths=("charges",))
    aws.put_tenant_key("globex", FAKE_STRIPE_KEY)

    provision_chain(runtime, tenant_id="globex", paths=("charges",), execution="provision-globex-1")

    assert len(simulator.objects("schemas")) == 1 and len(simulator.objects("fieldgroups")) == 1
    assert len(simulator.objects("dataSets")) == 2 and len(simulator.objects("flows")) == 2


# ---- RecordFailure ------------------------------------------------------------------------------------------


def test_record_failure_marks_the_tenant_failed_and_names_the_step(runtime: Runtime, simulator: Any) -> None:
    provision_validate(runtime, {"tenantId": TENANT})
    error = {"errorType": "StripeSourceRejectedError", "errorMessage": "explore of charges failed: 400"}
    request = provision.FailureInput(
        input={"tenantId": TENANT},
        executionName=EXECUTION,
        error={"Error": "StripeSourceRejectedError", "Cause": json.dumps(error)},
    )

    out = payload(provision.record_failure(request, runtime))

    assert out["error"] == "StripeSourceRejectedError" and "explore of charges failed" in out["cause"]
    item = runtime.store.get(tenant_key(TENANT)) or {}
    assert item["status"] == FAILED
    assert item["last_error"]["execution"] == EXECUTION and item["last_error"]["error"] == "StripeSourceRejectedError"
    assert simulator.requests == []
