"""Flow runs that really ingest: a flow provisioned by the state machine (real ASL on moto, the AEP simulator
over HTTP) reads Stripe-shaped records from the tenant's Stripe account in the simulator, maps them with the
mapping set the product created, validates them against the schema the product created, and writes Parquet
that is read back here field by field. Health checks then classify the real outcome."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from local.stack import LocalStack
from stripe_aep.aep import PatchOperation
from stripe_aep.store import Store, dataflow_key
from tests.integration.conftest import REPO, TenantFactory, check_contract, require_app
from tests.integration.support import balance_transactions, platform_client

KEY = "sk_test_acme_ingest_000000000001"


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    """The one-machine stack without the provisioning's first run (``StartFirstRun=false``): these tests run
    the flows themselves and count their runs (on-demand runs ingest too: tests/integration/test_run_now.py)."""
    require_app()
    with LocalStack(project_root=REPO, parameter_overrides={"StartFirstRun": "false"}) as started:
        yield started
        check_contract(started.simulator)


def _iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def provision(
    stack: LocalStack, tenant_factory: TenantFactory, records: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Tenant ``acme`` (Stripe key ``KEY``) provisioned over balance_transactions, then its Stripe account seeded
    with ``records`` when given; returns the dataflow item."""
    tenant_factory("acme", KEY)
    payload = {"tenantId": "acme", "resourcePaths": ["balance_transactions"]}
    arn = stack.start_execution("ProvisionStateMachine", payload, name="p1")
    assert stack.wait(arn, timeout_s=180)["status"] == "SUCCEEDED"
    if records is not None:
        stack.simulator.seed_stripe_account(KEY, {"balance_transactions": records})
    _, items = Store(stack.outputs["TableName"]).tenant_items("acme")
    (item,) = items
    return item


def test_a_provisioned_flow_ingests_stripe_records_and_the_parquet_rows_match_field_by_field(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    records = balance_transactions(205)
    item = provision(stack, tenant_factory, records)
    sim = stack.simulator

    run = sim.run_flow(item["flow_id"])

    assert run["metrics"]["statusSummary"] == {"status": "success", "errors": []}
    assert run["metrics"]["recordSummary"] == {
        "inputRecordCount": 205,
        "outputRecordCount": 205,
        "failedRecordCount": 0,
    }
    (batch,) = sim.dataset_batches(item["dataset_id"])
    assert (batch["runId"], batch["recordsWritten"], batch["stripePages"]) == (run["id"], 205, 3)  # 100+100+5
    files = list((Path(sim.state_dir) / "datasets" / item["dataset_id"]).glob("*/part-*.parquet"))
    assert len(files) == 1 and pq.read_metadata(files[0]).num_rows == 205

    rows = sim.dataset_rows(item["dataset_id"])
    tenant = f"_{sim.tenant_id}"
    expected_order = sorted(records, key=lambda r: r["created"], reverse=True)  # Stripe lists newest first
    assert [r["_id"] for r in rows] == [r["id"] for r in expected_order]
    for row, obj in zip(rows, expected_order, strict=True):
        group = row[tenant]["stripe_balance_transactions"]
        assert row["timestamp"] == _iso(obj["created"])
        expected = {
            "id": obj["id"],
            "object": "balance_transaction",
            "created": _iso(obj["created"]),
            "amount": obj["amount"],
            "fee": obj["fee"],
            "net": obj["net"],
            "currency": obj["currency"].upper(),  # tables v2: ISO 4217 upper-case
            "available_on": _iso(obj["available_on"]),
            "balance_type": "payments",
            "reporting_category": "charge",
            "status": "available",
            "type": "charge",
        }
        if obj["description"] is not None:
            expected["description"] = obj["description"]
        if obj["exchange_rate"] is not None:
            expected["exchange_rate"] = obj["exchange_rate"]
        expected["source"] = obj["source"]["id"] if isinstance(obj["source"], dict) else obj["source"]
        expected["fee_details"] = [  # tables v2: the array of objects, nulls left out, currency upper-case
            {k: (v.upper() if k == "currency" else v) for k, v in fee.items() if v is not None}
            for fee in obj["fee_details"]
        ]
        assert group == expected, obj["id"]

    # the run is what Flow Service answers over HTTP too
    client = platform_client(stack)
    (listed,) = list(client.list_flow_runs(item["flow_id"]))
    assert listed.id == run["id"] and listed.status == "success"


def test_bad_rows_give_failed_then_degraded_health_with_the_real_counts(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    records = balance_transactions(10)
    records[2]["amount"] = 2**60  # beyond XDM long: the row is invalid XDM
    records[7]["id"] = "txn_ingest_bad_id"
    records[7]["fee"] = "a lot"  # cannot be converted to the integer field: attribute nulled, row kept
    records[4]["available_on"] = None  # the dformat(null * 1000) trap: tables v2 guard it (no 1970)
    item = provision(stack, tenant_factory, records)
    sim = stack.simulator
    store = Store(stack.outputs["TableName"])

    failed = sim.run_flow(item["flow_id"])
    assert failed["metrics"]["statusSummary"]["status"] == "failed"  # partial ingestion is off on the flow
    assert failed["metrics"]["recordSummary"] == {
        "inputRecordCount": 10,
        "outputRecordCount": 0,
        "failedRecordCount": 1,
    }
    codes = [e["code"] for e in failed["metrics"]["statusSummary"]["errors"]]
    assert codes == ["INGEST-1212-400", "INGEST-1213-400", "MAPPER-2001-400"]
    assert sim.dataset_rows(item["dataset_id"]) == []
    (rejected,) = sim.dataset_failed_rows(item["dataset_id"])
    assert rejected["record"]["id"] == records[2]["id"]
    assert any("/amount" in e and "maximum" in e for e in rejected["errors"])

    stack.invoke("HealthCheckFunction", {})
    health = store.get(dataflow_key("acme", "balance_transactions"))
    assert health is not None
    assert health["health_status"] == "FAILED"
    assert (health["last_run_input_records"], health["last_run_failed_records"]) == (10, 1)
    assert "INGEST-1212-400" in health["health_reason"]

    # the operator enables partial ingestion (flow option partialIngestionPercent) over Flow Service's PATCH
    client = platform_client(stack)
    flow = client.get_flow(item["flow_id"])
    assert flow.etag
    option = PatchOperation(op="add", path="/options", value={"partialIngestionPercent": 20})
    client.patch_flow(item["flow_id"], flow.etag, [option])
    partial = sim.run_flow(item["flow_id"], started_at_ms=failed["createdAt"] + 1000)
    assert partial["metrics"]["statusSummary"]["status"] == "partialSuccess"
    assert partial["metrics"]["recordSummary"] == {
        "inputRecordCount": 10,
        "outputRecordCount": 9,
        "failedRecordCount": 1,
    }
    rows = {r["_id"]: r for r in sim.dataset_rows(item["dataset_id"])}
    assert len(rows) == 9 and records[2]["id"] not in rows
    group = f"_{sim.tenant_id}"
    assert "fee" not in rows["txn_ingest_bad_id"][group]["stripe_balance_transactions"]  # nulled, row kept
    assert "available_on" not in rows[records[4]["id"]][group]["stripe_balance_transactions"]  # absent, not 1970

    stack.invoke("HealthCheckFunction", {})
    health = store.get(dataflow_key("acme", "balance_transactions"))
    assert health is not None
    assert health["health_status"] == "DEGRADED"
    assert (health["last_run_input_records"], health["last_run_failed_records"]) == (10, 1)


def test_a_revoked_stripe_key_fails_the_run_and_a_fresh_account_reads_the_default_samples(
    stack: LocalStack, tenant_factory: TenantFactory
) -> None:
    item = provision(stack, tenant_factory)
    sim = stack.simulator
    flow_id = item["flow_id"]
    first = sim.run_flow(flow_id)  # nobody seeded the account: stripe_data's three samples
    assert first["metrics"]["recordSummary"]["inputRecordCount"] == 3
    assert first["metrics"]["statusSummary"]["status"] == "success"
    # an expanded reference (an object, not the id): tables v2 map coalesce(source.id, source), the id either way
    sim.seed_stripe_account(KEY, {"balance_transactions": balance_transactions(4, expanded_every=2)})
    expanded = sim.run_flow(flow_id)
    assert expanded["metrics"]["recordSummary"]["failedRecordCount"] == 0
    assert sim.dataset_failed_rows(item["dataset_id"]) == []
    group = f"_{sim.tenant_id}"
    sources = {r[group]["stripe_balance_transactions"]["source"] for r in sim.dataset_rows(item["dataset_id"])[3:]}
    assert sources == {f"ch_ingest{i:06d}" for i in range(4)}
    sim.revoke_stripe_key(KEY)
    second = sim.run_flow(flow_id)
    assert second["metrics"]["statusSummary"]["status"] == "failed"
    assert second["metrics"]["statusSummary"]["errors"][0]["code"] == "CONNECTOR-1401-401"
    assert len(sim.dataset_rows(item["dataset_id"])) == 3 + 4  # the failed batch wrote none
