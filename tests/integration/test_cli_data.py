"""`stripe-aep --local data TENANT PATH [--limit N] [--json]`: the rows a flow run wrote, read back from Parquet.

The stack runs in this process (the `stack` fixture); the stack file `local up` would write is written for it, and
the CLI command runs against it exactly as an operator's `--local` call would (typer's runner, same code path)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from local.stack import LocalStack
from stripe_aep_cli.app import app, hoist_global_options
from stripe_aep_cli.local_stack import stack_document, write_stack_file
from tests.integration.conftest import DEFAULT_STRIPE_KEY, TenantFactory
from tests.integration.support import provision, store_of
from tools.stripe_corpus import corpus


def test_data_shows_the_rows_of_a_dataset(stack: LocalStack, tenant_factory: TenantFactory, tmp_path: Path) -> None:
    tenant = tenant_factory("cli-data")
    stack.simulator.seed_stripe_account(DEFAULT_STRIPE_KEY, {"charges": corpus()["charges"]})
    assert provision(stack, {"tenantId": tenant, "resourcePaths": ["charges"]}, "provision-cli-data-1")["status"] == (
        "SUCCEEDED"
    )
    (item,) = store_of(stack).tenant_items(tenant)[1]
    stack.simulator.run_flow(str(item["flow_id"]))
    stack_file = tmp_path / "stack.json"
    write_stack_file(stack_file, stack_document(stack, [], control_url="", wiring={}))
    runner = CliRunner()
    base = ["--local", "--stack-file", str(stack_file), "data", tenant, "charges"]

    answer = runner.invoke(app, hoist_global_options([*base, "--limit", "2", "--json"]))

    assert answer.exit_code == 0, answer.output
    document = json.loads(answer.stdout)
    assert document["datasetId"] == item["dataset_id"]
    rows = document["rows"]
    assert len(rows) == 2
    ns = f"_{stack.simulator.tenant_id}"
    assert [r[ns]["stripe_charges"]["id"] for r in rows] == ["ch_corpus001", "ch_corpus002"]  # newest first
    assert rows[0][ns]["stripe_charges"]["currency"] == "USD"
    assert rows[0]["timestamp"].startswith("2026-01-11T00:00:00")
    everything = json.loads(runner.invoke(app, hoist_global_options([*base, "--limit", "50", "--json"])).stdout)["rows"]
    assert len(everything) == 6

    shown = runner.invoke(app, hoist_global_options([*base, "--limit", "1"]))
    assert shown.exit_code == 0 and "ch_corpus001" in shown.stdout and "1 row(s) shown" in shown.stdout

    unknown = runner.invoke(
        app, hoist_global_options(["--local", "--stack-file", str(stack_file), "data", tenant, "refunds"])
    )
    assert unknown.exit_code == 1 and "no dataset for refunds" in unknown.output
    bad_path = runner.invoke(
        app, hoist_global_options(["--local", "--stack-file", str(stack_file), "data", tenant, "invoices"])
    )
    assert bad_path.exit_code == 2
