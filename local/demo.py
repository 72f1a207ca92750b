"""``make demo``: the main job, end to end, on one machine.

Starts moto (Step Functions executing the real ASL) and the AEP simulator, builds what ``template.yaml`` declares,
publishes two real tenant-signup events through EventBridge -> SQS -> the starter function, follows the provision
executions state by state, prints what DynamoDB holds afterwards, provisions one tenant again to show that nothing
is created twice, then runs a health-check sweep in which the simulator fails one dataflow's runs, deletes another
dataflow and leaves a third without runs. Last, a run started at once (lifecycle ``run_now``, Flow Service
``POST /runs``) and a failed run reported by push (the simulator's Adobe I/O Events -> webhook receiver -> SQS ->
processor -> DynamoDB and the alert topic).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from local.aep_simulator.runs import RunOutcome
from local.cli.executions import history_line
from local.stack import LocalStack
from stripe_aep.store import Store

ROOT = Path(__file__).resolve().parents[1]
TENANTS: dict[str, list[str]] = {
    "acme": ["charges", "subscriptions", "refunds", "balance_transactions", "customers", "prices"],
    "globex": ["charges", "refunds", "customers"],
}
#: What the simulator does to three dataflows before the health check (tenant, path) -> what.
HOURS_AGO = 3
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

console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)


def short(value: Any, width: int = 10) -> str:
    """An ID shortened for the table (the full IDs are in DynamoDB and ``stripe-aep --json status``)."""
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
            state = sfn.describe_execution(executionArn=arn)["status"]
            events = stack.history(arn)
            for event in events[seen[label] :]:
                line = describe(event)
                if line:
                    console.print(f"  [dim]{time.monotonic() - started:6.2f}s[/] [bold]{label:<8}[/] {line}")
            seen[label] = len(events)
            if state != "RUNNING":
                status[label] = state
        time.sleep(0.1)
    return status


def describe(event: dict[str, Any]) -> str | None:
    """One line for the history events a person follows (the CLI's ``history_line``), or ``None``."""
    line = history_line(event)
    if line is None:
        return None
    if line["kind"] == "state":
        path = f" ({line['resourcePath']})" if line.get("resourcePath") else ""
        return f"[green]✓[/] {line['state']}{path}"
    if line["kind"] == "failed":
        return f"[yellow]↻ task failed, retried or caught:[/] {line['error']}"
    return f"[bold]{line['status']}[/]"


def ids_table(store: Store) -> Table:
    """Tenant x resource path -> provisioning status and every Adobe ID, read back from DynamoDB."""
    table = Table(title="DynamoDB after provisioning: tenant x resource path")
    for column in ("tenant", "resource path", "status", "base conn", *(c for c, _ in ID_COLUMNS)):
        table.add_column(column, no_wrap=True)
    for tenant_id in TENANTS:
        tenant, dataflows = store.tenant_items(tenant_id)
        base = short((tenant or {}).get("base_connection_id"))
        for item in dataflows:
            row = [tenant_id, item["resource_path"], item.get("status", "-"), base]
            table.add_row(*row, *(short(item.get(attr)) for _, attr in ID_COLUMNS))
    return table


def health_table(store: Store) -> Table:
    """Tenant x resource path -> health status and reason, read back from DynamoDB."""
    table = Table(title="DynamoDB after the health check")
    for column in ("tenant", "resource path", "flow", "health"):
        table.add_column(column, no_wrap=True)
    table.add_column("reason")
    colours = {"HEALTHY": "green", "PENDING": "cyan", "DISABLED": "dim"}
    for tenant_id in TENANTS:
        _, dataflows = store.tenant_items(tenant_id)
        for item in dataflows:
            status = str(item.get("health_status", "-"))
            colour = colours.get(status, "red")
            table.add_row(
                tenant_id,
                item["resource_path"],
                short(item.get("flow_id")),
                f"[{colour}]{status}[/]",
                str(item.get("health_reason", "")),
            )
    return table


def provision_by_events(stack: LocalStack, start_time: int) -> dict[str, str]:
    """Publish one signup event per tenant, let the starter drain the queue, follow the executions."""
    for tenant_id, paths in TENANTS.items():
        detail = {
            "tenantId": tenant_id,
            "sandbox": "prod",
            "resourcePaths": paths,
            "schedule": {"frequency": "hour", "interval": 1, "startTime": start_time},
        }
        stack.publish_event("Tenant Signed Up", detail)
    stack.drain_queue()
    sfn = stack.client("stepfunctions")
    listed = sfn.list_executions(stateMachineArn=stack.state_machine_arn("ProvisionStateMachine"))["executions"]
    executions = {e["name"].split("-")[1]: e["executionArn"] for e in listed}
    return follow(stack, executions)


def simulate_three_hours(stack: LocalStack, store: Store) -> None:
    """The simulator's clock catches up with real time; every flow ran hourly, except the scenario's three."""
    sim = stack.simulator
    sim.advance(HOURS_AGO * 3600)
    for tenant_id in TENANTS:
        _, dataflows = store.tenant_items(tenant_id)
        for item in dataflows:
            what = HEALTH_SCENARIO.get((tenant_id, item["resource_path"]))
            if what == "deleted":
                sim.remove_flow(item["flow_id"])
            elif what == "no runs":
                continue
            else:
                sim.generate_runs(flow_id=item["flow_id"])
            if what == "failed runs":
                sim.add_run(
                    item["flow_id"],
                    "failed",
                    failed_records=100,
                    errors=[{"code": "CONNECTOR-2001-500", "message": "Stripe answered 401: invalid API key"}],
                )


def run_now_and_push(stack: LocalStack, store: Store) -> bool:
    """Section 4: a run started at once (lifecycle run_now, POST /runs), then a failed run reported by push
    (the simulator's I/O Events -> webhook receiver -> SQS -> processor -> DynamoDB + SNS alert)."""
    console.rule("4. run now (POST /runs), and a failed run arriving by push (Adobe I/O Events webhook)")
    sim = stack.simulator
    stack.enable_push()
    sqs, sns = stack.client("sqs"), stack.client("sns")
    queue = sqs.create_queue(QueueName="demo-alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = stack.functions["HealthCheckFunction"].environment["HEALTH_TOPIC_ARN"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    # A backfill: the day the simulator's Stripe sample objects were created (2026-01-01, epoch seconds).
    backfill = {"windowStartTime": 1767225600, "windowEndTime": 1767312000}
    request = {"operation": "run_now", "tenantId": "globex", "resourcePaths": ["customers"]}
    arn = stack.start_execution("LifecycleStateMachine", request | backfill, name="run-now-globex")
    done = follow(stack, {"globex": arn})
    customers = store.get(("TENANT#globex", "PATH#customers")) or {}
    run = next(r for r in sim._state.runs.get(str(customers.get("flow_id")), []) if "params" in r)
    records = run["metrics"]["recordSummary"]
    console.print(
        f"run_now globex/customers (backfill of 2026-01-01): {done['globex']}; run {short(run['id'])}: "
        f"{run['metrics']['statusSummary']['status']}, {records['inputRecordCount']} read, "
        f"{records['outputRecordCount']} written, {records['failedRecordCount']} failed"
    )
    subscriptions = store.get(("TENANT#acme", "PATH#subscriptions")) or {}
    flow_id = str(subscriptions.get("flow_id"))
    failure = [{"code": "CONNECTOR-1001-500", "message": "Error in copying the data from Source."}]
    sim.queue_run_outcome(flow_id, RunOutcome("failed", input_records=40, failed_records=40, errors=failure))
    end = sim.now_ms() // 1000 // 60 * 60
    window = {"windowStartTime": end - 86400, "windowEndTime": end}
    request = {"operation": "run_now", "tenantId": "acme", "resourcePaths": ["subscriptions"]}
    began = time.perf_counter()
    done = follow(
        stack, {"acme": stack.start_execution("LifecycleStateMachine", request | window, name="run-now-acme")}
    )
    alerts: list[dict[str, Any]] = []
    latency = 0.0

    def wanted(notice: dict[str, Any]) -> bool:
        return notice["kind"] == "ALERT" and notice["resourcePath"] == "subscriptions"

    while not any(wanted(a) for a in alerts) and time.perf_counter() - began < 30:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            alerts.append(json.loads(json.loads(message["Body"])["Message"]))
            latency = time.perf_counter() - began
        time.sleep(0.01)
    delivery = sim.io_events.deliveries[-1] if sim.io_events.deliveries else None
    item = store.get(("TENANT#acme", "PATH#subscriptions")) or {}
    console.print(
        f"run_now acme/subscriptions: {done['acme']}; the run failed; I/O Events delivered it "
        f"(webhook answered {delivery.status if delivery else '-'}), health is now {item.get('health_status')}: "
        f"{item.get('health_reason')}"
    )
    for alert in alerts:  # the globex backfill's success is a recovery (it was STALE): pushed too
        code = f" ({alert['errors'][0]['code']})" if alert["errors"] else ""
        console.print(
            f"by push: {alert['kind']} {alert['previousStatus']} -> {alert['status']} "
            f"{alert['tenantId']}/{alert['resourcePath']}{code}"
        )
    console.print(f"the alert came {latency:.2f} s after the failing run was requested (its execution included)")
    swept = stack.invoke("HealthCheckFunction", {"pushHealth": True})
    console.print(f"next sweep: missedByPush={swept.get('missedByPush')}, alerts={swept.get('alerts')}")
    return any(wanted(a) for a in alerts) and item.get("health_status") == "FAILED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--max-concurrency", type=int, default=None, help="the provision Map's MaxConcurrency")
    args = parser.parse_args(argv)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")  # the demo prints its own lines
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    wall = time.monotonic()
    overrides = {"MaxConcurrency": str(args.max_concurrency)} if args.max_concurrency else {}
    # The demo provisions on a simulator clock three hours behind: a first run "now" would end in Adobe's future.
    # Section 4 starts runs at once with run_now instead.
    overrides = {**overrides, "StartFirstRun": "false"}
    with LocalStack(project_root=ROOT, parameter_overrides=overrides) as stack:
        console.print(f"[bold]moto[/] {stack.aws_endpoint}   [bold]AEP simulator[/] {stack.simulator.url}")
        store = Store(stack.outputs["TableName"])
        for tenant_id in TENANTS:
            key = f"sk_test_demo_{tenant_id}_51NbX2fakefakefake"
            stack.put_tenant_secret(tenant_id, key)
            stack.simulator.register_stripe_key(key)
        # The dataflows are created "three hours ago" on the simulator's clock, so that the health check (which
        # runs on real time, as in Lambda) sees three hours of hourly runs.
        stack.simulator.advance(-HOURS_AGO * 3600)
        start_time = stack.simulator.now_ms() // 1000 + 60

        console.rule("1. tenant signup events -> EventBridge -> SQS -> starter -> provision state machine")
        outcome = provision_by_events(stack, start_time)
        console.print(f"executions: {outcome}")
        console.print(ids_table(store))
        calls = stack.simulator.calls
        console.print(f"Adobe create calls: {creates(stack)}; all Adobe calls: {sum(calls.values())}")

        console.rule("2. the same provisioning again, by hand as from the console (a new execution name)")
        before = creates(stack)
        arn = stack.start_execution(
            "ProvisionStateMachine", {"tenantId": "acme", "sandbox": "prod"}, name="provision-acme-by-hand"
        )
        status = follow(stack, {"acme": arn})
        console.print(f"execution {status['acme']}; Adobe create calls this time: {creates(stack) - before}")

        console.rule("3. health check, three hours later: one flow failing, one deleted, one without runs")
        simulate_three_hours(stack, store)
        summary = stack.invoke("HealthCheckFunction", {})
        console.print(f"sweep: {summary}")
        console.print(health_table(store))

        ok = set(outcome.values()) == {"SUCCEEDED"} and status["acme"] == "SUCCEEDED"
        ok = run_now_and_push(stack, store) and ok
    console.print(f"[bold]wall time[/] {time.monotonic() - wall:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
