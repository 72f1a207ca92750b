"""``make demo``: the main job, end to end, on one machine.

Starts moto (Step Functions executing the real ASL) and the AEP simulator, builds what ``template.yaml`` declares,
publishes two real tenant-signup events through EventBridge -> SQS -> the starter function, follows the provision
executions state by state, prints what DynamoDB holds afterwards, provisions one tenant again to show that nothing
is created twice, then runs a health-check sweep in which the simulator fails one dataflow's runs, deletes another
dataflow and leaves a third without runs. The flow runs really ingest: each tenant's Stripe account in the
simulator holds the project's corpus of Stripe objects (tools/stripe_corpus.py), the runs map it with the
flows' mapping sets and write Parquet; the demo shows each dataflow's first run (records read / written /
failed) and a few rows read back from a dataset. Last, a backfill started at once (lifecycle ``run_now``, Flow
Service ``POST /runs``, ingesting the window's Stripe objects) and a failed run reported by push (the
simulator's Adobe I/O Events -> webhook receiver -> SQS -> processor -> DynamoDB and the alert topic).
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

from local.stack import LocalStack
from stripe_aep.resources import get_resource
from stripe_aep.store import Store
from stripe_aep_cli.commands.operations import step_line
from stripe_aep_cli.commands.state import sweep_sentence
from stripe_aep_cli.executions import KnownIds, StepTracker, known_ids, mark_found
from tools.stripe_corpus import corpus

ROOT = Path(__file__).resolve().parents[1]
TENANTS: dict[str, list[str]] = {
    "acme": ["charges", "subscriptions", "refunds", "balance_transactions", "customers", "prices"],
    "globex": ["charges", "refunds", "customers"],
}
#: What the simulator does to three dataflows before the health check (tenant, path) -> what.
HOURS_AGO = 3
DEMO_KEY_SUFFIX = "51NbX2fakefakefake"
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


def follow(
    stack: LocalStack, executions: dict[str, str], timeout_s: float = 60, before: dict[str, KnownIds] | None = None
) -> dict[str, str]:
    """Print one line per state as the executions run; return each execution's final status.

    ``before``: per label, the Adobe IDs stored before the execution began (create states that found theirs
    say so)."""
    seen: dict[str, int] = dict.fromkeys(executions, 0)
    trackers = {label: StepTracker() for label in executions}
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
                for line in trackers[label].feed(event):
                    if before and label in before and line["kind"] == "state":
                        mark_found(line, before[label])
                    text = describe(line)
                    console.print(f"  [dim]{time.monotonic() - started:6.2f}s[/] [bold]{label:<8}[/] {text}")
            seen[label] = len(events)
            if state != "RUNNING":
                status[label] = state
        time.sleep(0.1)
    return status


def describe(line: dict[str, Any]) -> str:
    """A ``StepTracker`` line as the CLI shows it (failed, retried and recovered steps say so)."""
    return (step_line(line) or f"[bold]{line['status']}[/]").strip()


def outcome_sentence(status: dict[str, str]) -> str:
    """``acme SUCCEEDED, globex SUCCEEDED.``"""
    return ", ".join(f"{tenant} {state}" for tenant, state in sorted(status.items())) + "."


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
                sim.generate_runs(flow_id=item["flow_id"], ingest=True)  # each run reads Stripe, maps, writes
            if what == "failed runs":
                sim.add_run(
                    item["flow_id"],
                    "failed",
                    failed_records=100,
                    errors=[{"code": "CONNECTOR-2001-500", "message": "Stripe answered 401: invalid API key"}],
                )


def first_runs_table(stack: LocalStack, store: Store) -> Table:
    """Tenant x resource path -> the first ingesting run's records read / written / failed (its dataset batch)."""
    table = Table(title="first flow run per dataflow (records read from Stripe / written to the dataset / failed)")
    for column in ("tenant", "resource path", "dataset", "status", "read", "written", "failed"):
        table.add_column(column, no_wrap=True, justify="right" if column in ("read", "written", "failed") else "left")
    for tenant_id in TENANTS:
        for item in store.tenant_items(tenant_id)[1]:
            batches = stack.simulator.dataset_batches(str(item.get("dataset_id")))
            first = batches[0] if batches else {}
            counts = [str(first.get(k, "-")) for k in ("recordsRead", "recordsWritten", "recordsFailed")]
            scenario = HEALTH_SCENARIO.get((tenant_id, item["resource_path"]))
            status = str(first.get("status") or (f"no run ({scenario})" if scenario else "no run"))
            table.add_row(tenant_id, item["resource_path"], short(item.get("dataset_id")), status, *counts)
    return table


def show_rows(stack: LocalStack, store: Store, tenant_id: str, path: str, limit: int = 2) -> None:
    """A few rows of a dataset, as ``stripe-aep --local data TENANT PATH --limit N`` shows them."""
    item = next(i for i in store.tenant_items(tenant_id)[1] if i["resource_path"] == path)
    rows = stack.simulator.dataset_rows(str(item["dataset_id"]), limit=limit)
    group = get_resource(path).group
    console.print(f"[bold]{tenant_id} / {path}[/]: {len(rows)} of the dataset's rows (XDM fields under {group})")
    for row in rows:
        fields: dict[str, Any] = next(
            (v[group] for k, v in row.items() if k.startswith("_") and isinstance(v, dict) and group in v), {}
        )
        # The row's plain fields and its metadata map; `stripe-aep --local data` shows whole rows.
        console.print_json(data={k: v for k, v in fields.items() if not isinstance(v, list | dict) or k == "metadata"})


def run_now_and_push(stack: LocalStack, store: Store) -> bool:
    """Section 5: a backfill started at once (lifecycle run_now, POST /runs) that ingests its window's Stripe
    objects, then a failed run reported by push (the simulator's I/O Events -> webhook receiver -> SQS ->
    processor -> DynamoDB + SNS alert). Push is on in this stack (template parameter PushHealth=true)."""
    console.rule("5. run now (POST /runs): a backfill, and a failed run arriving by push (Adobe I/O Events webhook)")
    sim = stack.simulator
    stack.enable_push()
    sqs, sns = stack.client("sqs"), stack.client("sns")
    queue = sqs.create_queue(QueueName="demo-alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = stack.functions["HealthCheckFunction"].environment["HEALTH_TOPIC_ARN"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    # A backfill of globex/customers (no runs so far: STALE): the week its Stripe customers were created
    # (2026-01-09 to 2026-01-16, epoch seconds).
    backfill = {"windowStartTime": 1767916800, "windowEndTime": 1768521600}
    request = {"operation": "run_now", "tenantId": "globex", "resourcePaths": ["customers"]}
    arn = stack.start_execution("LifecycleStateMachine", request | backfill, name="run-now-globex")
    done = follow(stack, {"globex": arn})
    customers = store.get(("TENANT#globex", "PATH#customers")) or {}
    run = next(r for r in sim._state.runs.get(str(customers.get("flow_id")), []) if "params" in r)
    records = run["metrics"]["recordSummary"]
    console.print(
        f"run_now globex/customers (backfill of 2026-01-09 to 2026-01-16): {done['globex']}; run "
        f"{short(run['id'])}: {run['metrics']['statusSummary']['status']}, {records['inputRecordCount']} read, "
        f"{records['outputRecordCount']} written, {records['failedRecordCount']} failed"
    )
    show_rows(stack, store, "globex", "customers", limit=1)
    # acme's Stripe key is revoked at Stripe: acme's next run fails at the source (the connector's 401).
    sim.revoke_stripe_key(f"sk_test_demo_acme_{DEMO_KEY_SUFFIX}")
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
    return any(wanted(a) for a in alerts) and item.get("health_status") == "FAILED" and records["outputRecordCount"] > 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--max-concurrency", type=int, default=None, help="the provision Map's MaxConcurrency")
    args = parser.parse_args(argv)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")  # the demo prints its own lines
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    wall = time.monotonic()
    overrides = {"MaxConcurrency": str(args.max_concurrency)} if args.max_concurrency else {}
    # The demo provisions on a simulator clock three hours behind: a first run "now" would end in Adobe's future.
    # Section 5 starts runs at once with run_now instead, and shows push health (registered webhook: PushHealth).
    overrides = {**overrides, "StartFirstRun": "false", "PushHealth": "true"}
    with LocalStack(project_root=ROOT, parameter_overrides=overrides) as stack:
        console.print(f"[bold]moto[/] {stack.aws_endpoint}   [bold]AEP simulator[/] {stack.simulator.url}")
        store = Store(stack.outputs["TableName"])
        for tenant_id in TENANTS:
            key = f"sk_test_demo_{tenant_id}_{DEMO_KEY_SUFFIX}"
            stack.put_tenant_secret(tenant_id, key)
            stack.simulator.register_stripe_key(key)
            stack.simulator.seed_stripe_account(key, corpus())
        # The dataflows are created "three hours ago" on the simulator's clock, so that the health check (which
        # runs on real time, as in Lambda) sees three hours of hourly runs.
        stack.simulator.advance(-HOURS_AGO * 3600)
        start_time = stack.simulator.now_ms() // 1000 + 60

        console.rule("1. tenant signup events -> EventBridge -> SQS -> starter -> provision state machine")
        outcome = provision_by_events(stack, start_time)
        console.print(f"Executions: {outcome_sentence(outcome)}")
        console.print(ids_table(store))
        calls = stack.simulator.calls
        console.print(f"Adobe create calls: {creates(stack)}; all Adobe calls: {sum(calls.values())}.")

        console.rule("2. the same provisioning again, by hand as from the console (a new execution name)")
        before = creates(stack)
        ids_before = known_ids(store, "acme")
        arn = stack.start_execution(
            "ProvisionStateMachine", {"tenantId": "acme", "sandbox": "prod"}, name="provision-acme-by-hand"
        )
        status = follow(stack, {"acme": arn}, before={"acme": ids_before})
        console.print(f"Execution: {outcome_sentence(status)} Adobe create calls this time: {creates(stack) - before}.")

        console.rule("3. health check, three hours later: one flow failing, one deleted, one without runs")
        simulate_three_hours(stack, store)
        summary = stack.invoke("HealthCheckFunction", {})
        console.print(sweep_sentence(summary))
        console.print(health_table(store))

        console.rule("4. what the runs ingested: Stripe objects mapped by Data Prep, validated, written as Parquet")
        console.print(first_runs_table(stack, store))
        show_rows(stack, store, "acme", "charges")
        show_rows(stack, store, "globex", "charges", limit=1)

        ok = set(outcome.values()) == {"SUCCEEDED"} and status["acme"] == "SUCCEEDED"
        ok = run_now_and_push(stack, store) and ok
    console.print(f"[bold]wall time[/] {time.monotonic() - wall:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
