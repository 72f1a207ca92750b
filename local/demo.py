"""``make demo``: the main job, end to end, on one machine.

Starts moto (Step Functions executing the real ASL) and the AEP simulator, builds what ``template.yaml`` declares,
publishes two real tenant-signup events through EventBridge -> SQS -> the starter function, follows the provision
executions state by state, prints what DynamoDB holds afterwards, provisions one tenant again to show that nothing
is created twice, then runs a health-check sweep in which the simulator fails one dataflow's runs, deletes another
dataflow and leaves a third without runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from local.stack import LocalStack

ROOT = Path(__file__).resolve().parents[1]
TENANTS: dict[str, list[str]] = {
    "acme": ["charges", "subscriptions", "refunds", "balance_transactions", "customers", "prices"],
    "globex": ["charges", "refunds", "customers"],
}
#: What the simulator does to three dataflows before the health check (tenant, path) -> what.
HEALTH_SCENARIO = {
    ("acme", "charges"): "failed runs",
    ("acme", "refunds"): "deleted",
    ("globex", "customers"): "no runs",
}
CREATE_OPERATIONS = (
    "createConnection",
    "createSourceConnection",
    "createTargetConnection",
    "createFlow",
    "createFieldGroup",
    "createSchema",
    "createClass",
    "createDataset",
    "createMappingSet",
)
ID_COLUMNS = (
    ("source conn", "source_connection_id"),
    ("dataset", "dataset_id"),
    ("target conn", "target_connection_id"),
    ("mapping set", "mapping_set_id"),
    ("flow", "flow_id"),
)

console = Console(highlight=False)


def short(value: Any, width: int = 10) -> str:
    """An ID shortened for the table (the full IDs are in DynamoDB and ``stripe-aep status --json``)."""
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def creates(stack: LocalStack) -> int:
    """How many create calls the simulator has answered so far."""
    calls = stack.simulator.calls
    return sum(calls[op] for op in calls if op in CREATE_OPERATIONS or op.startswith("create"))


def follow(stack: LocalStack, executions: dict[str, str], timeout_s: float = 60) -> dict[str, str]:
    """Print one line per state as the executions run; return each execution's final status."""
    seen: dict[str, int] = dict.fromkeys(executions, 0)
    started = time.monotonic()
    status: dict[str, str] = {}
    sfn = stack.client("stepfunctions")
    while len(status) < len(executions) and time.monotonic() - started < timeout_s:
        for label, arn in executions.items():
            if label in status:
                continue
            events = stack.history(arn)
            for event in events[seen[label] :]:
                line = describe(event)
                if line:
                    console.print(f"  [dim]{time.monotonic() - started:6.2f}s[/] [bold]{label:<8}[/] {line}")
            seen[label] = len(events)
            state = sfn.describe_execution(executionArn=arn)["status"]
            if state != "RUNNING":
                status[label] = state
        time.sleep(0.1)
    return status


def describe(event: dict[str, Any]) -> str | None:
    """One line for the history events a person follows: states exiting, tasks failing, the execution ending."""
    kind = event["type"]
    if kind.endswith("StateExited"):
        name = event["stateExitedEventDetails"]["name"]
        return f"[green]✓[/] {name}"
    if kind == "TaskFailed":
        details = event.get("taskFailedEventDetails", {})
        return f"[red]✗ task failed[/] {details.get('error')}"
    if kind == "ExecutionFailed":
        details = event.get("executionFailedEventDetails", {})
        return f"[red]execution failed[/] {details.get('error')}: {details.get('cause')}"
    if kind == "ExecutionSucceeded":
        return "[green]execution succeeded[/]"
    return None


def dataflow_table(stack: LocalStack, tenants: Iterable[str], health: bool = False) -> Table:
    """Tenant x resource path -> IDs and status, read back from DynamoDB."""
    from stripe_aep.store import Store

    store = Store(stack.outputs["TableName"])
    table = Table(title="DynamoDB: tenant x resource path")
    for column in ("tenant", "resource path", "status", *(c for c, _ in ID_COLUMNS)):
        table.add_column(column)
    if health:
        table.add_column("health")
        table.add_column("reason")
    for tenant_id in tenants:
        tenant, dataflows = store.tenant_items(tenant_id)
        base = (tenant or {}).get("base_connection_id")
        table.add_row(
            tenant_id,
            "(base connection)",
            (tenant or {}).get("status", "-"),
            short(base),
            *[""] * 4,
            *([""] * 2 if health else []),
        )
        for item in dataflows:
            row = [tenant_id, item["resource_path"], item.get("status", "-")]
            row += [short(item.get(attr)) for _, attr in ID_COLUMNS]
            if health:
                row += [item.get("health_status", "-"), short(item.get("health_reason"), 60)]
            table.add_row(*row)
    return table


def provision_by_events(stack: LocalStack) -> dict[str, str]:
    """Publish one signup event per tenant, let the starter drain the queue, follow the executions."""
    for tenant_id, paths in TENANTS.items():
        stack.publish_event(
            "Tenant Signed Up", {"tenantId": tenant_id, "sandbox": "prod", "resourcePaths": paths}
        )
    stack.drain_queue()
    sfn = stack.client("stepfunctions")
    listed = sfn.list_executions(stateMachineArn=stack.state_machine_arn("ProvisionStateMachine"))[
        "executions"
    ]
    executions = {e["name"].split("-")[1]: e["executionArn"] for e in listed}
    return follow(stack, executions)


def simulate_health_scenario(stack: LocalStack) -> None:
    """Three hours pass; every flow runs hourly except the scenario's three."""
    from stripe_aep.store import Store

    sim = stack.simulator
    store = Store(stack.outputs["TableName"])
    sim.advance(3 * 3600)
    for tenant_id in TENANTS:
        _, dataflows = store.tenant_items(tenant_id)
        for item in dataflows:
            what = HEALTH_SCENARIO.get((tenant_id, item["resource_path"]))
            if what == "deleted":
                sim.remove_flow(item["flow_id"])
            elif what == "failed runs":
                sim.generate_runs(flow_id=item["flow_id"])
                sim.add_run(
                    item["flow_id"],
                    "failed",
                    failed_records=100,
                    errors=[
                        {"code": "CONNECTOR-2001-500", "message": "Stripe API answered 401: invalid API key"}
                    ],
                )
            elif what is None:
                sim.generate_runs(flow_id=item["flow_id"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--max-concurrency", type=int, default=None, help="the provision Map's MaxConcurrency"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")  # the demo prints its own lines
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    wall = time.monotonic()
    overrides = {"MaxConcurrency": str(args.max_concurrency)} if args.max_concurrency else None
    with LocalStack(project_root=ROOT, parameter_overrides=overrides) as stack:
        console.print(f"[bold]moto[/] {stack.aws_endpoint}   [bold]AEP simulator[/] {stack.simulator.url}")
        for tenant_id in TENANTS:
            key = f"sk_test_demo_{tenant_id}_51NbX2fakefakefake"
            stack.put_tenant_secret(tenant_id, key)
            stack.simulator.register_stripe_key(key)

        console.rule("1. tenant signup events -> EventBridge -> SQS -> starter -> provision state machine")
        outcome = provision_by_events(stack)
        console.print(f"executions: {outcome}")
        console.print(dataflow_table(stack, TENANTS))
        first_creates = creates(stack)
        console.print(
            f"Adobe create calls: {first_creates}; all Adobe calls: {sum(stack.simulator.calls.values())}"
        )

        console.rule("2. the same provisioning again, by hand from the 'console' (a new execution name)")
        before = creates(stack)
        arn = stack.start_execution(
            "ProvisionStateMachine", {"tenantId": "acme", "sandbox": "prod"}, name="provision-acme-by-hand"
        )
        status = follow(stack, {"acme": arn})
        console.print(f"execution {status['acme']}; Adobe create calls this time: {creates(stack) - before}")

        console.rule("3. health-check sweep (3 hours later; one flow failing, one deleted, one without runs)")
        simulate_health_scenario(stack)
        summary = stack.invoke("HealthCheckFunction", {})
        console.print(f"sweep: {summary}")
        console.print(dataflow_table(stack, TENANTS, health=True))

        ok = set(outcome.values()) == {"SUCCEEDED"} and status["acme"] == "SUCCEEDED"
    console.print(f"[bold]wall time[/] {time.monotonic() - wall:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
