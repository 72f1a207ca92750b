"""Upgrades on the one-machine stack: tenants provisioned on table version N, the tables moved to N+1 with
added fields, then the lifecycle ``upgrade`` operation (real ASL on moto, real handlers, the AEP simulator over
HTTP, every request checked against Adobe's OpenAPI specs at teardown). Every test asserts the simulator's
objects and the DynamoDB items afterwards."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

import pytest

from local.aep_simulator import Fault
from local.stack import LocalStack
from stripe_aep import resources
from stripe_aep.resources import RESOURCES
from stripe_aep.store import Store, schema_key
from tests.integration.conftest import TenantFactory
from tests.integration.support import balance_transactions

KEY = "sk_test_upgrade_0000000000000000"
PATHS = ["balance_transactions", "customers"]
#: Fields the tables gain from version 1 (what tenants were provisioned with) to version 2.
ADDED = {"balance_transactions": ("exchange_rate", "description"), "customers": ("phone", "preferred_locales")}
WRITES = ("patchFieldGroup", "putMappingSet", "patchFlow", "createMappingSet", "createFieldGroup", "createSchema")


def _tables(version: int) -> MappingProxyType[str, resources.StripeResource]:
    """The tables at ``version``: 1 lacks the ``ADDED`` fields, 2 is the current table."""
    tables = dict(RESOURCES)
    for path, added in ADDED.items():
        current = RESOURCES[path]
        fields = current.fields if version == 2 else tuple(f for f in current.fields if f.top_level not in added)
        tables[path] = dataclasses.replace(current, fields=fields, table_version=version)
    return MappingProxyType(tables)


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``move(version)``: the tables every handler reads from now on."""

    def move(version: int) -> None:
        monkeypatch.setattr(resources, "RESOURCES", _tables(version))

    move(1)
    yield move


def provision(stack: LocalStack, tenant_factory: TenantFactory, *tenants: str) -> list[str]:
    """Each tenant (Stripe key ``KEY``) provisioned over ``PATHS``, one execution after another; returns them."""
    for tenant_id in tenants:
        tenant_factory(tenant_id, KEY)
        arn = stack.start_execution(
            "ProvisionStateMachine", {"tenantId": tenant_id, "resourcePaths": PATHS}, name=f"p-{tenant_id}"
        )
        described = stack.wait(arn, timeout_s=180)
        assert described["status"] == "SUCCEEDED", described.get("cause")
    return list(tenants)


def upgrade(stack: LocalStack, tenant_id: str, name: str, **extra: Any) -> dict[str, Any]:
    arn = stack.start_execution(
        "LifecycleStateMachine", {"operation": "upgrade", "tenantId": tenant_id, **extra}, name=name
    )
    return stack.wait(arn, timeout_s=180)


def flows_on_new_mapping_versions(stack: LocalStack, tenants: list[str]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Assert every dataflow of ``tenants`` runs its mapping set's current version on table version 2, each
    mapping set one of the tenants' own (new versions, no new mapping sets); the (item, mapping set) pairs."""
    mapping_sets = {m["id"]: m for m in stack.simulator.objects("mappingSets")}
    flows = {f["id"]: f for f in stack.simulator.objects("flows")}
    pairs = []
    for tenant in tenants:
        _, items = Store(stack.outputs["TableName"]).tenant_items(tenant)
        for item in items:
            mapping_set = mapping_sets[item["mapping_set_id"]]
            (transformation,) = [t for t in flows[item["flow_id"]]["transformations"] if t["name"] == "Mapping"]
            assert transformation["params"]["mappingId"] == item["mapping_set_id"]
            assert int(transformation["params"]["mappingVersion"]) == mapping_set["version"]
            assert (item["table_version"], item["mapping_set_version"], item["flow_mapping_version"]) == (2, 1, 1)
            pairs.append((item, mapping_set))
    assert len(mapping_sets) == len(pairs)  # new versions, no new mapping sets
    return pairs


def writes(stack: LocalStack) -> Counter[str]:
    return Counter({op: n for op, n in stack.simulator.calls.items() if op in WRITES and n})


def test_upgrade_moves_every_flow_to_the_new_mapping_version_and_a_rerun_writes_nothing(
    stack: LocalStack, tenant_factory: TenantFactory, tables: Any
) -> None:
    tenants = provision(stack, tenant_factory, "acme", "globex")
    sim = stack.simulator
    store = Store(stack.outputs["TableName"])
    groups = {fg["title"]: fg for fg in sim.objects("fieldgroups")}
    before = writes(stack)
    tables(2)

    for tenant in tenants:
        assert upgrade(stack, tenant, f"u1-{tenant}")["status"] == "SUCCEEDED"

    # one PATCH per field group (the sandbox's first tenant), one mapping version and flow PATCH per dataflow
    assert writes(stack) - before == Counter(
        {"patchFieldGroup": len(PATHS), "putMappingSet": len(tenants) * len(PATHS), "patchFlow": 4}
    )
    tenant_ns = f"_{sim.tenant_id}"
    for path in PATHS:
        title = RESOURCES[path].field_group_title
        (group,) = [fg for fg in sim.objects("fieldgroups") if fg["title"] == title]
        assert group["$id"] == groups[title]["$id"] and group["version"] == "1.1"
        props = group["definitions"][f"stripe_{path}"]["properties"][tenant_ns]["properties"][f"stripe_{path}"]
        assert set(ADDED[path]) <= set(props["properties"])
        sandbox_item = store.get(schema_key("prod", path)) or {}
        assert (sandbox_item["field_group_table_version"], sandbox_item["schema_table_version"]) == (2, 2)
    for item, mapping_set in flows_on_new_mapping_versions(stack, tenants):
        assert mapping_set["version"] == 1
        sources = {m["source"] for m in mapping_set["mappings"]}
        assert all(any(f"data.{f}" in s for s in sources) for f in ADDED[item["resource_path"]]), sources

    requests_before = len(sim.requests)
    for tenant in tenants:
        assert upgrade(stack, tenant, f"u2-{tenant}")["status"] == "SUCCEEDED"
    assert len(sim.requests) == requests_before  # a finished upgrade re-run makes no Adobe call at all

    # a run after the upgrade ingests the new fields
    records = balance_transactions(5)
    sim.seed_stripe_account(KEY, {"balance_transactions": records})
    _, items = store.tenant_items("acme")
    item = next(i for i in items if i["resource_path"] == "balance_transactions")
    run = sim.run_flow(item["flow_id"])
    assert run["metrics"]["recordSummary"]["failedRecordCount"] == 0
    rows = {r["_id"]: r[tenant_ns]["stripe_balance_transactions"] for r in sim.dataset_rows(item["dataset_id"])}
    with_rate = [r for r in records if r["exchange_rate"] is not None]
    assert with_rate and all(rows[r["id"]]["exchange_rate"] == r["exchange_rate"] for r in with_rate)


def test_a_dry_run_writes_nothing_and_names_what_it_would_write(
    stack: LocalStack, tenant_factory: TenantFactory, tables: Any
) -> None:
    provision(stack, tenant_factory, "acme")
    before = writes(stack)
    tables(2)

    described = upgrade(stack, "acme", "dry-acme", dryRun=True)

    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert writes(stack) == before
    output = json.loads(described["output"])
    planned = [p for u in output["upgrades"] for p in u["planned"]]
    assert any(p.startswith("patchFieldGroup") and "exchange_rate" in p for p in planned), planned
    assert sum(p.startswith("putMappingSet") for p in planned) == len(PATHS)
    _, items = Store(stack.outputs["TableName"]).tenant_items("acme")
    assert {int(i["table_version"]) for i in items} == {1}


def test_a_failure_half_way_then_a_rerun_upgrades_each_dataflow_once(
    stack: LocalStack, tenant_factory: TenantFactory, tables: Any
) -> None:
    tenants = provision(stack, tenant_factory, "acme", "globex", "initech")
    sim = stack.simulator
    before = writes(stack)
    tables(2)
    # the first mapping set PUT is handled but its answer lost (the state machine retries the step: the version
    # written is recognised, not written again); the third flow PATCH is refused (400, not retried): that
    # tenant's upgrade fails half-way
    sim.add_fault(Fault(operation="putMappingSet", kind="reset_after_commit", nth=1, times=1))
    sim.add_fault(Fault(operation="patchFlow", kind="error400", nth=3, times=1))

    results = {t: upgrade(stack, t, f"u1-{t}")["status"] for t in tenants}
    assert sorted(results.values()) == ["FAILED", "SUCCEEDED", "SUCCEEDED"], results
    for tenant in tenants:
        assert upgrade(stack, tenant, f"u2-{tenant}")["status"] == "SUCCEEDED"

    dataflows = len(tenants) * len(PATHS)
    made = writes(stack) - before
    assert made["putMappingSet"] == dataflows  # each mapping set got exactly one new version
    assert made["patchFlow"] == dataflows + 1  # the refused PATCH, then each flow once
    assert made["patchFieldGroup"] == len(PATHS)
    assert len(sim.objects("mappingSets")) == dataflows
    assert {m["version"] for m in sim.objects("mappingSets")} == {1}
    assert {int(f["transformations"][0]["params"]["mappingVersion"]) for f in sim.objects("flows")} == {1}
    store = Store(stack.outputs["TableName"])
    for tenant in tenants:
        _, items = store.tenant_items(tenant)
        assert {(int(i["table_version"]), int(i["flow_mapping_version"])) for i in items} == {(2, 1)}


# ---- per-tenant field selection ----------------------------------------------------------------------------


def test_a_tenant_excluding_fields_ingests_rows_without_them_and_keeps_them_out_after_an_upgrade(
    stack: LocalStack, tenant_factory: TenantFactory, tables: Any
) -> None:
    tables(2)
    tenant_factory("acme", KEY)
    tenant_factory("globex", KEY)
    excluded = ["exchange_rate", "fee_details"]
    arn = stack.start_execution(
        "ProvisionStateMachine",
        {
            "tenantId": "acme",
            "resourcePaths": ["balance_transactions"],
            "fields": {"balance_transactions": {"exclude": excluded}},
        },
        name="p-acme",
    )
    assert stack.wait(arn, timeout_s=180)["status"] == "SUCCEEDED"
    arn = stack.start_execution(
        "ProvisionStateMachine", {"tenantId": "globex", "resourcePaths": ["balance_transactions"]}, name="p-globex"
    )
    assert stack.wait(arn, timeout_s=180)["status"] == "SUCCEEDED"
    sim = stack.simulator
    store = Store(stack.outputs["TableName"])
    records = balance_transactions(5)
    sim.seed_stripe_account(KEY, {"balance_transactions": records})
    tenant_ns = f"_{sim.tenant_id}"

    def rows(tenant: str) -> list[dict[str, Any]]:
        _, (item,) = store.tenant_items(tenant)
        sim.run_flow(item["flow_id"])
        return [r[tenant_ns]["stripe_balance_transactions"] for r in sim.dataset_rows(item["dataset_id"])]

    acme, globex = rows("acme"), rows("globex")
    assert acme and not any(set(excluded) & set(r) for r in acme)
    assert any("exchange_rate" in r for r in globex)  # the other tenant of the sandbox keeps every field
    assert {k for r in acme for k in r} == {k for r in globex for k in r} - set(excluded)
    (group,) = [fg for fg in sim.objects("fieldgroups")]
    props = group["definitions"]["stripe_balance_transactions"]["properties"][tenant_ns]["properties"]
    assert "exchange_rate" in props["stripe_balance_transactions"]["properties"]  # the shared schema keeps it

    # a new selection changes only that tenant's mapping set (a new version), and survives an upgrade
    mapping_sets = {m["id"]: m["version"] for m in sim.objects("mappingSets")}
    arn = stack.start_execution(
        "LifecycleStateMachine",
        {
            "operation": "update_fields",
            "tenantId": "acme",
            "fields": {"balance_transactions": {"exclude": ["description"]}},
        },
        name="f-acme",
    )
    assert stack.wait(arn, timeout_s=180)["status"] == "SUCCEEDED"
    _, (acme_item,) = store.tenant_items("acme")
    _, (globex_item,) = store.tenant_items("globex")
    after = {m["id"]: m for m in sim.objects("mappingSets")}
    assert after[acme_item["mapping_set_id"]]["version"] == mapping_sets[acme_item["mapping_set_id"]] + 1
    assert after[globex_item["mapping_set_id"]]["version"] == mapping_sets[globex_item["mapping_set_id"]]
    assert acme_item["field_selection"] == {"exclude": ["description"]}
    assert upgrade(stack, "acme", "u-acme")["status"] == "SUCCEEDED"
    sources = {m["source"] for m in after[acme_item["mapping_set_id"]]["mappings"]}
    assert "data.description" not in sources and "data.exchange_rate" in sources


def test_an_unknown_or_required_field_is_refused_with_no_adobe_call(
    stack: LocalStack, tenant_factory: TenantFactory, tables: Any
) -> None:
    tables(2)
    tenant_factory("acme", KEY)
    provision_input = {
        "tenantId": "acme",
        "resourcePaths": ["balance_transactions"],
        "fields": {"balance_transactions": {"exclude": ["exchange_rates", "id"]}},
    }
    sim = stack.simulator
    before = len(sim.requests)

    described = stack.wait(stack.start_execution("ProvisionStateMachine", provision_input, name="bad"), timeout_s=120)

    assert described["status"] == "FAILED"
    assert "exchange_rates (not a field of Stripe balance_transaction in the table)" in described["cause"]
    assert len(sim.requests) == before
    provision_input["fields"] = {"balance_transactions": {"exclude": ["id"]}}
    described = stack.wait(stack.start_execution("ProvisionStateMachine", provision_input, name="bad2"), timeout_s=120)
    assert described["status"] == "FAILED" and "cannot be excluded" in described["cause"]
    assert len(sim.requests) == before


# ---- upgrade --all: the UpgradeAll state machine (pages of the tenant index) ----------------------------------


def upgrade_all(stack: LocalStack, name: str, **given: Any) -> dict[str, Any]:
    """Run the UpgradeAll state machine; the described execution with its report (``output``) parsed."""
    described = stack.wait(stack.start_execution("UpgradeAllStateMachine", given, name=name), timeout_s=600)
    described["report"] = json.loads(described.get("output") or "null")
    return described


def results(report: dict[str, Any]) -> dict[str, str]:
    return {t["tenantId"]: t["result"] for t in report["tenants"]}


def test_upgrade_all_in_pages_leaves_every_flow_on_the_new_mapping_version_and_a_rerun_makes_no_adobe_call(
    stack: LocalStack, tenant_factory: TenantFactory, tables: Any
) -> None:
    tenants = ["acme", "globex", "initech"]
    provision(stack, tenant_factory, *tenants)
    sim = stack.simulator
    before = writes(stack)
    tables(2)

    described = upgrade_all(stack, "all-1", pageSize=2)  # two pages: the cursor loop

    assert described["status"] == "SUCCEEDED", described.get("cause")
    report = described["report"]
    assert results(report) == dict.fromkeys(tenants, "upgraded")
    assert report["counts"] == {"upgraded": 3, "current": 0, "planned": 0, "failed": 0}
    assert report["resumeAfter"] is None and report["truncated"] == 0
    for entry in report["tenants"]:
        assert entry["status"] == "SUCCEEDED"
        assert sorted((u["resourcePath"], u["fromVersion"], u["toVersion"]) for u in entry["upgrades"]) == [
            (p, 1, 2) for p in sorted(PATHS)
        ]
        assert all("putMappingSet" in u["writes"] and "patchFlow" in u["writes"] for u in entry["upgrades"])
    dataflows = len(tenants) * len(PATHS)
    assert writes(stack) - before == Counter(
        {"patchFieldGroup": len(PATHS), "putMappingSet": dataflows, "patchFlow": dataflows}
    )
    assert len(flows_on_new_mapping_versions(stack, tenants)) == dataflows

    requests_before = len(sim.requests)
    again = upgrade_all(stack, "all-2", pageSize=2)
    assert again["status"] == "SUCCEEDED"
    assert results(again["report"]) == dict.fromkeys(tenants, "current")
    assert all(u["writes"] == [] for t in again["report"]["tenants"] for u in t["upgrades"])
    assert len(sim.requests) == requests_before  # 0 Adobe calls, reads included


def test_upgrade_all_dry_run_reports_the_planned_writes_and_makes_none(
    stack: LocalStack, tenant_factory: TenantFactory, tables: Any
) -> None:
    provision(stack, tenant_factory, "acme", "globex")
    before = writes(stack)
    tables(2)

    described = upgrade_all(stack, "dry", dryRun=True)

    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert writes(stack) == before
    assert results(described["report"]) == {"acme": "planned", "globex": "planned"}
    planned = [p for t in described["report"]["tenants"] for u in t["upgrades"] for p in u["planned"]]
    assert sum(p.startswith("putMappingSet") for p in planned) == 2 * len(PATHS)
    for tenant in ("acme", "globex"):
        _, items = Store(stack.outputs["TableName"]).tenant_items(tenant)
        assert {int(i.get("table_version", 1)) for i in items} == {1}


def test_a_failure_half_way_through_upgrade_all_then_a_rerun_upgrades_each_tenant_once(
    stack: LocalStack, tenant_factory: TenantFactory, tables: Any
) -> None:
    tenants = ["acme", "globex", "initech", "umbrella"]
    provision(stack, tenant_factory, *tenants)
    sim = stack.simulator
    store = Store(stack.outputs["TableName"])
    before = writes(stack)
    tables(2)
    # run 1: the third flow PATCH is refused (400, not retried): that tenant fails, reported, the run goes on;
    # then the page step dies on every attempt after the first page (the run itself fails half-way)
    sim.add_fault(Fault(operation="patchFlow", kind="error400", nth=3, times=1))
    page_fault = stack.inject_lambda_fault("PlanUpgradePageFunction", "crash", nth=2, times=4, after=False)

    first = upgrade_all(stack, "all-1", pageSize=2)

    assert first["status"] == "FAILED" and page_fault.fired == 4
    first_page = tenants[:2]
    flows_done = {t: {(int(i.get("table_version", 1))) for i in store.tenant_items(t)[1]} for t in tenants}
    assert flows_done["initech"] == flows_done["umbrella"] == {1}  # the second page never started
    failed = [t for t in first_page if store.tenant_items(t)[1] and 1 in flows_done[t]]
    assert len(failed) == 1  # the refused PATCH's tenant
    (tenant_item, _) = store.tenant_items(failed[0])
    assert (tenant_item or {}).get("last_error", {}).get("execution", "").startswith("all-1/")

    second = upgrade_all(stack, "all-2", pageSize=2)

    assert second["status"] == "SUCCEEDED", second.get("cause")
    expected = {t: "upgraded" for t in tenants} | {t: "current" for t in first_page if t not in failed}
    assert results(second["report"]) == expected
    dataflows = len(tenants) * len(PATHS)
    made = writes(stack) - before
    assert made["putMappingSet"] == dataflows  # each mapping set got exactly one new version
    assert made["patchFlow"] == dataflows + 1  # the refused PATCH, then each flow once
    assert made["patchFieldGroup"] == len(PATHS)
    assert len(sim.objects("mappingSets")) == dataflows  # no duplicate mapping set
    assert {m["version"] for m in sim.objects("mappingSets")} == {1}
    for tenant in tenants:
        _, items = store.tenant_items(tenant)
        assert {(int(i["table_version"]), int(i["flow_mapping_version"])) for i in items} == {(2, 1)}

    requests_before = len(sim.requests)
    third = upgrade_all(stack, "all-3", pageSize=3)
    assert results(third["report"]) == dict.fromkeys(tenants, "current")
    assert len(sim.requests) == requests_before


def test_one_tenant_failing_is_reported_with_its_cause_and_the_others_are_upgraded(
    stack: LocalStack, tenant_factory: TenantFactory, tables: Any
) -> None:
    tenants = ["acme", "globex", "initech"]
    provision(stack, tenant_factory, *tenants)
    tables(2)
    stack.simulator.add_fault(Fault(operation="patchFlow", kind="error400", nth=1, times=1))

    described = upgrade_all(stack, "all-1", pageSize=10)

    assert described["status"] == "SUCCEEDED", described.get("cause")
    report = described["report"]
    assert report["counts"] == {"upgraded": 2, "current": 0, "planned": 0, "failed": 1}
    (failed,) = [t for t in report["tenants"] if t["result"] == "failed"]
    assert failed["status"] == "FAILED" and failed["error"] == "AepValidationError"
    assert "step upgrade_dataflow" in failed["cause"], failed["cause"]


def test_a_bad_upgrade_all_input_is_refused_naming_the_field_before_anything_runs(stack: LocalStack) -> None:
    before = table_items(stack)
    for name, given, field in (
        ("bad-1", {"pageSize": 0}, "pageSize"),
        ("bad-2", {"tenantId": "acme"}, "tenantId"),
        ("bad-3", {"startAfter": "../x"}, "startAfter"),
    ):
        described = upgrade_all(stack, name, **given)
        assert described["status"] == "FAILED" and described["error"] == "InputValidationError", described
        assert field in described["cause"]
    assert len(stack.simulator.requests) == 0
    assert table_items(stack) == before


# ---- a refused update_fields changes nothing ------------------------------------------------------------------


def table_items(stack: LocalStack) -> list[dict[str, Any]]:
    """Every item of the table (a consistent scan) but the Adobe rate budget's cursor (``BUDGET#adobe``, which
    every Adobe call moves), sorted by key, as DynamoDB returns them (typed attribute values)."""
    client = stack.client("dynamodb")
    pages = client.get_paginator("scan").paginate(TableName=stack.outputs["TableName"], ConsistentRead=True)
    items = (i for p in pages for i in p["Items"] if not str(i["pk"]["S"]).startswith("BUDGET#"))
    return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def test_an_update_fields_adobe_refuses_leaves_dynamodb_and_aep_unchanged(
    stack: LocalStack, tenant_factory: TenantFactory, tables: Any
) -> None:
    tables(2)
    provision(stack, tenant_factory, "acme")
    sim = stack.simulator
    aep_before = {kind: sim.objects(kind) for kind in ("mappingSets", "flows", "fieldgroups", "schemas")}
    dynamodb_before = table_items(stack)
    writes_before = writes(stack)
    sim.add_fault(Fault(operation="validateMappingSet", kind="error400", nth=1, times=1))

    arn = stack.start_execution(
        "LifecycleStateMachine",
        {"operation": "update_fields", "tenantId": "acme", "fields": {"customers": {"exclude": ["phone"]}}},
        name="f-refused",
    )
    described = stack.wait(arn, timeout_s=180)

    assert described["status"] == "FAILED"
    assert described["error"] == "InputValidationError"
    assert "customers: Adobe refused the mapping of this selection, nothing changed" in described["cause"]
    assert sim.calls["validateMappingSet"] >= 1  # Adobe was asked, and refused
    assert writes(stack) == writes_before
    assert table_items(stack) == dynamodb_before  # byte-for-byte: not the selection, not last_error
    assert {kind: sim.objects(kind) for kind in aep_before} == aep_before

    # the same request once Adobe accepts it: the selection is stored with the version that applies it
    arn = stack.start_execution(
        "LifecycleStateMachine",
        {"operation": "update_fields", "tenantId": "acme", "fields": {"customers": {"exclude": ["phone"]}}},
        name="f-accepted",
    )
    assert stack.wait(arn, timeout_s=180)["status"] == "SUCCEEDED"
    _, items = Store(stack.outputs["TableName"]).tenant_items("acme")
    item = next(i for i in items if i["resource_path"] == "customers")
    (mapping_set,) = [m for m in sim.objects("mappingSets") if m["id"] == item["mapping_set_id"]]
    assert item["field_selection"] == {"exclude": ["phone"]}
    assert item["mapping_set_version"] == mapping_set["version"] and "data.phone" not in {
        m["source"] for m in mapping_set["mappings"]
    }


# ---- the CLI: upgrade --all starts the one UpgradeAll execution, and status -----------------------------------


def test_upgrade_all_reports_each_tenant_and_status_flags_the_outdated(
    stack: LocalStack, tenant_factory: TenantFactory, tables: Any
) -> None:
    from stripe_aep_cli.backend import Backend
    from stripe_aep_cli.commands import evolve

    tenants = provision(stack, tenant_factory, "acme", "globex", "initech")
    tables(2)
    backend = Backend(outputs=dict(stack.outputs), region="us-east-1", endpoint_url=stack.aws_endpoint, local=True)
    store = backend.store()
    _, items = store.tenant_items("acme")
    assert {p: v["outdated"] for p, v in evolve.table_versions(items).items()} == {p: True for p in PATHS}
    seen: list[str] = []

    executions, report = evolve.run_upgrade_all(
        backend, batch=2, dry_run=False, timeout_s=600, on_done=lambda e: seen.append(e["tenantId"])
    )

    (execution,) = executions
    assert execution.status == "SUCCEEDED" and execution.name.startswith("upgrade-all-")
    reports = report["tenants"]
    assert seen == tenants
    assert [(r["tenantId"], r["status"]) for r in reports] == [(t, "SUCCEEDED") for t in tenants]
    for entry in reports:
        assert sorted((u["resourcePath"], u["fromVersion"], u["toVersion"]) for u in entry["upgrades"]) == [
            (p, 1, 2) for p in sorted(PATHS)
        ]
        assert all("putMappingSet" in u["writes"] and "patchFlow" in u["writes"] for u in entry["upgrades"])
        assert "SUCCEEDED upgraded" in evolve.upgrade_line(entry)
    for tenant in tenants:
        _, items = store.tenant_items(tenant)
        assert not any(v["outdated"] for v in evolve.table_versions(items).values())

    again_executions, again = evolve.run_upgrade_all(backend, 10, False, 600)
    assert again_executions[0].name != execution.name  # a new run (the first one ended)
    assert all(u["writes"] == [] for r in again["tenants"] for u in r["upgrades"])
    assert again["counts"]["current"] == len(tenants)
