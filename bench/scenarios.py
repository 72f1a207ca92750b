"""The five measurements of ``make bench`` (see docs/benchmarks.md). Each returns a JSON-able dict.

Times are seconds (``*_s``) unless named ``*_ms``; ratios are dimensionless and measured side by side in one
run. A measurement raises ``HarnessError`` when what it drives did not do its job (an execution not SUCCEEDED,
a tenant not ACTIVE, duplicated Adobe objects): speed itself is never asserted.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bench.graph import CREATE_OPERATIONS, FIRST_RUN_CALLS, provision_graph
from bench.sequential import replay
from local.stack import LocalStack
from local.stack.template import load_template
from stripe_aep.aep import ImsCredential, PlatformClient, PlatformSettings, Schedule, clear_token_cache
from stripe_aep.resources import RESOURCE_PATHS, get_resource
from stripe_aep.store import ACTIVE, ACTIVE_PARTITION, Store, tenant_key
from stripe_aep.tenants import dataflow_name

ROOT = Path(__file__).resolve().parents[1]
SANDBOX = "prod"
STRIPE_KEY = "sk_test_bench_0123456789abcdef"  # a fake key the simulator is told to accept
PATHS = list(RESOURCE_PATHS)
#: The bench's stacks keep the template's StartFirstRun, so a provisioning ends with each dataflow's first run.
FIRST_RUN = str(load_template(ROOT / "template.yaml")["Parameters"]["StartFirstRun"]["Default"]).lower() == "true"
Say = Callable[[str], None]


class HarnessError(Exception):
    """The harness could not measure: an execution failed, a tenant is not ACTIVE, objects were duplicated."""


def platform_calls(calls: Counter[str]) -> int:
    """Calls to the Platform APIs (everything but IMS token requests)."""
    return sum(n for op, n in calls.items() if op != "imsToken")


def creates(calls: Counter[str]) -> int:
    """Create calls among ``calls``."""
    return sum(n for op, n in calls.items() if op in CREATE_OPERATIONS)


def throttled(stack: LocalStack) -> int:
    """Requests the simulator answered 429."""
    return sum(1 for r in stack.simulator.requests if r.status == 429)


#: The deployment's Adobe rate budget when the simulator has no cap (the budget's cost is measured, not its limit).
UNCAPPED_BUDGET_RPS = 200.0


@contextmanager
def started_stack(
    max_concurrency: int, budget_rps: float = UNCAPPED_BUDGET_RPS, start_first_run: bool | None = None
) -> Iterator[LocalStack]:
    """A fresh ``LocalStack`` (moto + simulator; cold handlers, empty IMS token cache) whose Lambdas share an
    Adobe rate budget of ``budget_rps`` calls per second (template parameter ``AdobeRateLimitRps``);
    ``start_first_run``: template parameter ``StartFirstRun`` (``None``: the template's default); the process's
    DynamoDB Local JVM is warmed once (``DynamoDBLocal.warm_up``)."""
    overrides = {"MaxConcurrency": str(max_concurrency), "AdobeRateLimitRps": f"{budget_rps:g}"}
    if start_first_run is not None:
        overrides["StartFirstRun"] = "true" if start_first_run else "false"
    with LocalStack(project_root=ROOT, parameter_overrides=overrides) as stack:
        stack.simulator.register_stripe_key(STRIPE_KEY)
        # DynamoDB Local's JIT warm-up is the local stack's cost, not the product's (AWS's DynamoDB is warm).
        if stack.dynamodb is not None:
            stack.dynamodb.warm_up(stack.client("dynamodb"), like=stack.environment["TABLE_NAME"])
        yield stack


def client_for(stack: LocalStack, sandbox: str) -> PlatformClient:
    """A ``PlatformClient`` against the stack's simulator with the stack's fake Adobe credential."""
    credential = stack.adobe_credential
    env = stack.environment
    return PlatformClient(
        PlatformSettings(platform_url=env["PLATFORM_URL"], ims_url=env["IMS_URL"], sandbox=sandbox),
        ImsCredential(
            client_id=credential["client_id"],
            client_secret=SecretStr(credential["client_secret"]),
            ims_org=credential["ims_org"],
            scopes=list(credential["scopes"]),
        ),
    )


def provision(stack: LocalStack, tenant_id: str, name: str) -> tuple[float, Counter[str]]:
    """One execution of the provision state machine for all resource paths.

    Returns (the execution's own duration in seconds from DescribeExecution's startDate/stopDate, the Adobe
    calls it made by operationId). Raises ``HarnessError`` unless it SUCCEEDED.
    """
    stack.put_tenant_secret(tenant_id, STRIPE_KEY)
    sim = stack.simulator
    sim.reset_calls()
    arn = stack.start_execution(
        "ProvisionStateMachine",
        {"tenantId": tenant_id, "sandbox": SANDBOX, "resourcePaths": PATHS},
        name=name,
    )
    described = stack.wait(arn, timeout_s=300)
    if described["status"] != "SUCCEEDED":
        raise HarnessError(f"execution {name} ended {described['status']}: {described.get('cause', '')[:300]}")
    wall = (described["stopDate"] - described["startDate"]).total_seconds()
    return wall, sim.calls


def measure_provisioning(latency_s: float, max_concurrency: int, say: Say) -> dict[str, Any]:
    """Measurements 1 and 2: critical path, sequential baseline, L = 0 overhead, call budget, IMS tokens."""
    out: dict[str, Any] = {"latency_ms": latency_s * 1000, "max_concurrency": max_concurrency, "paths": PATHS}
    with started_stack(max_concurrency) as stack:
        sim = stack.simulator
        sim.latency_s = latency_s
        runs: dict[str, dict[str, Any]] = {}
        plan = (
            ("first", "bench-first", True, True),  # cold handlers, fresh sandbox
            ("warm", "bench-second", False, False),  # second tenant, same process
        )
        for label, tenant, fresh, cold in plan:
            wall, calls = provision(stack, tenant, f"provision-{tenant}-1")
            graph = provision_graph(PATHS, fresh_sandbox=fresh, cold_token=cold, first_runs=FIRST_RUN)
            chain = graph.longest_chain()
            ideal = latency_s * len(chain)
            minimum = graph.operation_counts()
            runs[label] = {
                "tenant": tenant,
                "fresh_sandbox": fresh,
                "cold_handlers": cold,
                "wall_s": wall,
                "chain": chain,
                "chain_length": len(chain),
                "ideal_s": ideal,
                "ratio_to_chain": wall / ideal if ideal else None,
                "calls": dict(sorted(calls.items())),
                "minimum_calls": dict(sorted(minimum.items())),
                "excess_calls": dict(sorted((+(calls - minimum)).items())),
                "missing_calls": dict(sorted((+(minimum - calls)).items())),
                "ims_token_requests": calls["imsToken"],
            }
            say(
                f"  provision {label}: {wall:.2f} s; chain {len(chain)} x L = {ideal:.2f} s; "
                f"{platform_calls(calls)} Adobe calls (+{calls['imsToken']} IMS)"
            )
        # The same tenant again: a new execution name, nothing left to create.
        _, again = provision(stack, "bench-second", "provision-bench-second-2")
        out["reprovision"] = {"calls": dict(sorted(again.items())), "creates": creates(again)}
        say(f"  re-provision: {platform_calls(again)} Adobe calls, {creates(again)} creates")

        # Sequential baselines: the same call lists, one after another, from a cold client.
        for label in ("first", "warm"):
            run = runs[label]
            fresh = bool(run["fresh_sandbox"])
            sandbox = f"bench-seq-{label}" if fresh else SANDBOX
            existing: dict[str, str] = {}
            if not fresh:
                titles = {get_resource(p).schema_title: p for p in PATHS}
                existing = {
                    titles[o["title"]]: o["$id"] for o in sim.objects("schemas", SANDBOX) if o["title"] in titles
                }
            clear_token_cache()
            client = client_for(stack, sandbox)
            result = replay(
                client,
                Counter(run["calls"]),
                tenant_id=f"seq-{label}",
                resource_paths=PATHS,
                stripe_key=SecretStr(STRIPE_KEY),
                existing_schemas=existing,
                xdm_tenant=sim.tenant_id,
            )
            client.close()
            run["sequential_s"] = result.wall_s
            run["ratio_to_sequential"] = run["wall_s"] / result.wall_s if result.wall_s else None
            run["sequential_not_replayed"] = dict(result.not_replayed)
            say(f"  sequential baseline ({label}): {result.wall_s:.2f} s, {sum(result.made.values())} calls")

        # L = 0: what the local machinery itself costs (moto DynamoDB, moto's ASL interpreter, handlers).
        sim.latency_s = 0.0
        wall0, calls0 = provision(stack, "bench-zero", "provision-bench-zero-1")
        runs["zero_latency"] = {"wall_s": wall0, "calls": dict(sorted(calls0.items()))}
        say(f"  provision with L = 0: {wall0:.2f} s")
        out["runs"] = runs

    # Cold handlers again: a fresh stack (modules forgotten, token cache cleared), warm sandbox not available.
    with started_stack(max_concurrency) as stack:
        stack.simulator.latency_s = latency_s
        _, cold_calls = provision(stack, "bench-cold", "provision-bench-cold-1")
        out["ims_tokens"] = {
            "cold_first_stack": runs["first"]["ims_token_requests"],
            "warm_second_tenant": runs["warm"]["ims_token_requests"],
            "cold_fresh_stack": cold_calls["imsToken"],
        }
        say(f"  IMS tokens: {out['ims_tokens']}")
    return out


def measure_many_tenants(
    tenants: int, latency_s: float, cap_rps: float, max_concurrency: int, say: Say, first_runs: bool = True
) -> dict[str, Any]:
    """Measurement 3: ``tenants`` signups at once through EventBridge -> SQS -> starter, under a rate cap that
    the deployment's Adobe rate budget knows (``AdobeRateLimitRps`` = the simulator's cap).

    ``first_runs``: template parameter ``StartFirstRun`` (each new flow's first run: ``graph.FIRST_RUN_CALLS``
    a path, counted in the graph minimum). ``task_retries`` counts the Task attempts that failed and were retried,
    by error (``LeaseHeldError``: waits for another execution's lease; ``BudgetExhaustedError``: the budget's refusals).
    """
    with started_stack(max_concurrency, budget_rps=cap_rps, start_first_run=first_runs) as stack:
        sim = stack.simulator
        ids = [f"bench-t{i:04d}" for i in range(tenants)]
        for tenant_id in ids:
            stack.put_tenant_secret(tenant_id, STRIPE_KEY)
        sim.latency_s = latency_s
        sim.rate_limit_rps = cap_rps
        sim.reset_calls()
        sim.requests.clear()
        began = time.perf_counter()
        for tenant_id in ids:
            stack.publish_event("Tenant Signed Up", {"tenantId": tenant_id, "sandbox": SANDBOX, "resourcePaths": PATHS})
        stack.drain_queue(max_batches=tenants + 10)
        sfn = stack.client("stepfunctions")
        machine = stack.state_machine_arn("ProvisionStateMachine")
        arns = [
            e["executionArn"]
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine)
            for e in page["executions"]
        ]
        if len(arns) != tenants:
            raise HarnessError(f"{len(arns)} provision executions started for {tenants} signups")
        described = [stack.wait(arn, timeout_s=3600) for arn in arns]
        wall = time.perf_counter() - began
        statuses = Counter(d["status"] for d in described)
        retries: Counter[str] = Counter(
            str(event["taskFailedEventDetails"].get("error"))
            for arn in arns
            for event in stack.history(arn)
            if event["type"] == "TaskFailed"
        )
        failures = [f"{d['name']}: {d.get('error')}: {d.get('cause')}" for d in described if d["status"] != "SUCCEEDED"]
        # What an operator does after a failed provisioning: send the signup again (a new event is a new request).
        # The run reports the failures; it breaks only if a tenant is still not ACTIVE afterwards.
        for failed in (d for d in described if d["status"] != "SUCCEEDED"):
            say(f"  FAILED {failed['name']}: {failed.get('error')}: {failed.get('cause')}; sending the signup again")
            tenant_id = str(failed["name"]).split("-", 1)[1].rsplit("-", 1)[0]
            stack.publish_event("Tenant Signed Up", {"tenantId": tenant_id, "sandbox": SANDBOX, "resourcePaths": PATHS})
            stack.drain_queue()
            again = [
                e["executionArn"]
                for e in sfn.list_executions(stateMachineArn=machine)["executions"]
                if e["executionArn"] not in arns and e["name"].startswith(f"provision-{tenant_id}-")
            ]
            for arn in again:
                statuses[f"re-sent: {stack.wait(arn, timeout_s=3600)['status']}"] += 1
        sim.rate_limit_rps = None
        sim.latency_s = 0.0
        calls = sim.calls
        answered_429 = throttled(stack)
        accepted = platform_calls(calls) - answered_429
        store = Store(stack.outputs["TableName"])
        not_active = [t for t in ids if (store.get(tenant_key(t)) or {}).get("status") != ACTIVE]
        per_tenant = {
            "connections": 1,
            "sourceConnections": len(PATHS),
            "dataSets": len(PATHS),
            "targetConnections": len(PATHS),
            "mappingSets": len(PATHS),
            "flows": len(PATHS),
        }
        expected = {kind: n * tenants for kind, n in per_tenant.items()}
        expected |= {"fieldgroups": len(PATHS), "schemas": len(PATHS)}
        found = {kind: len(sim.objects(kind, SANDBOX)) for kind in expected}
        graph = {"fresh_sandbox": False, "cold_token": False, "first_runs": first_runs}
        minimum = provision_graph(PATHS, **graph).operation_counts()
        sandbox_once = provision_graph(PATHS, **(graph | {"fresh_sandbox": True})).operation_counts() - minimum
        minimum_total = platform_calls(minimum) * tenants + platform_calls(sandbox_once)
        first_run_calls = tenants * len(PATHS) * len(FIRST_RUN_CALLS) if first_runs else 0
        out = {
            "tenants": tenants,
            "latency_ms": latency_s * 1000,
            "cap_rps": cap_rps,
            "wall_s": wall,
            "executions": dict(statuses),
            "failures": failures,
            "adobe_calls": platform_calls(calls),
            "adobe_calls_accepted": accepted,
            "answered_429": answered_429,
            "ims_token_requests": calls["imsToken"],
            "minimum_calls": minimum_total,
            "graph_minimum_s": minimum_total / cap_rps,
            "ratio_to_graph_minimum": wall / (minimum_total / cap_rps),
            "share_429": answered_429 / platform_calls(calls) if platform_calls(calls) else 0.0,
            "first_executions_succeeded": sum(1 for d in described if d["status"] == "SUCCEEDED"),
            "first_runs": first_runs,
            "minimum_calls_without_first_runs": minimum_total - first_run_calls,
            "ratio_to_graph_minimum_without_first_runs": wall / ((minimum_total - first_run_calls) / cap_rps),
            "task_retries": dict(sorted(retries.items())),
            "excess_calls": dict(sorted((+(calls - _many_minimum(minimum, sandbox_once, tenants))).items())),
            "objects": found,
            "objects_expected": expected,
            "not_active": not_active,
            "calls": dict(sorted(calls.items())),
        }
        say(
            f"  {tenants} tenants: {wall:.1f} s = {out['ratio_to_graph_minimum']:.2f} x the graph minimum "
            f"({minimum_total} calls / {cap_rps:g} rps = {minimum_total / cap_rps:.1f} s); {platform_calls(calls)} "
            f"calls, {answered_429} answered 429 ({out['share_429']:.1%}); executions {dict(statuses)}; "
            f"retried Task attempts {dict(retries)}; calls above the minimum {out['excess_calls']}"
        )
        if not_active or found != expected:
            raise HarnessError(
                f"many tenants: executions {dict(statuses)}, not ACTIVE {not_active[:5]}, objects {found} "
                f"(expected {expected}); failed: {failures[:3]}"
            )
        return out


def _many_minimum(per_tenant: Counter[str], sandbox_once: Counter[str], tenants: int) -> Counter[str]:
    """The graph minimum of ``tenants`` provisionings in one sandbox, by operationId."""
    total: Counter[str] = Counter({op: n * tenants for op, n in per_tenant.items()})
    total.update(sandbox_once)
    return total


def measure_health(flows: int, latency_s: float, cap_rps: float, max_concurrency: int, say: Say) -> dict[str, Any]:
    """Measurement 4: a health sweep over ``flows`` dataflows (1 in 20 with a failed last run)."""
    from aws_lambda_powertools.utilities import parameters

    from stripe_aep.health.sweep import HealthChecker, HealthSettings
    from stripe_aep.runtime import Runtime, Settings

    with started_stack(max_concurrency, budget_rps=cap_rps) as stack:
        sim = stack.simulator
        env = stack.functions["HealthCheckFunction"].environment
        parameters.clear_caches()
        parameters.base.DEFAULT_PROVIDERS.clear()  # providers hold boto3 clients of an earlier moto endpoint
        runtime = Runtime(Settings.from_env(env))
        settings = HealthSettings.from_env(env)
        began = time.perf_counter()
        flow_ids = _seed_flows(stack, runtime, flows)
        seed_s = time.perf_counter() - began
        say(f"  seeded {flows} flows and items in {seed_s:.1f} s")

        sim.latency_s = latency_s
        sim.rate_limit_rps = cap_rps
        sim.reset_calls()
        sim.requests.clear()
        clear_token_cache()
        checker = HealthChecker(
            runtime.store, runtime.platform, None, concurrency=settings.health_concurrency, reserve_ms=0
        )
        began = time.perf_counter()
        summary = checker.sweep(lambda: 10**9, owner="bench")
        wall = time.perf_counter() - began
        sim.rate_limit_rps = None
        sim.latency_s = 0.0
        calls = sim.calls
        per_s = flows / wall
        out = {
            "flows": flows,
            "latency_ms": latency_s * 1000,
            "cap_rps": cap_rps,
            "concurrency": settings.health_concurrency,
            "seed_s": seed_s,
            "wall_s": wall,
            "flows_per_s": per_s,
            "ratio_to_cap": per_s / cap_rps,
            "adobe_calls": platform_calls(calls),
            "calls_per_flow": platform_calls(calls) / flows,
            "answered_429": throttled(stack),
            "by_status": dict(summary.by_status),
            "calls": dict(sorted(calls.items())),
        }
        say(
            f"  sweep of {flows}: {wall:.1f} s, {per_s:.1f} flows/s ({per_s / cap_rps:.2f} x cap), "
            f"{out['calls_per_flow']:.3f} Adobe calls/flow; {dict(summary.by_status)}"
        )
        if summary.checked != flows or not summary.complete or len(flow_ids) != flows:
            raise HarnessError(f"health sweep checked {summary.checked} of {flows} (complete={summary.complete})")
        return out


def _seed_flows(stack: LocalStack, runtime: Any, flows: int) -> list[str]:
    """``flows`` Adobe flows (sharing one source connection, target connection and mapping set, which Flow
    Service allows) created in parallel through the client, a run each, and their ACTIVE DynamoDB items
    written with BatchWriteItem. Returns the flow ids."""
    sim = stack.simulator
    client = client_for(stack, SANDBOX)
    resource = get_resource("charges")
    xdm_tenant = client.get_tenant_id()
    base = client.create_base_connection("bench/base", SecretStr(STRIPE_KEY))
    source = client.create_source_connection("bench/source", base.id, "charges")
    group = client.create_field_group(resource.field_group_body(xdm_tenant))
    schema = client.create_schema(resource.schema_body(group.id))
    dataset_id = client.create_dataset("bench dataset", schema.id)
    target = client.create_target_connection("bench/target", schema.id, dataset_id)
    mapping = client.create_mapping_set(resource.mapping_set_body(xdm_tenant, schema.id))
    start_s = int(time.time()) - 7200
    schedule = Schedule(start_time=int(time.time()) + 60, frequency="hour", interval=1)
    pairs = [(f"h{i // len(PATHS):05d}", PATHS[i % len(PATHS)]) for i in range(flows)]

    def make(pair: tuple[str, str]) -> str:
        created = client.create_flow(dataflow_name(*pair), source.id, target.id, mapping.id, mapping.version, schedule)
        return created.id

    with ThreadPoolExecutor(32) as pool:
        flow_ids = list(pool.map(make, pairs))
    client.close()
    now = sim.now_ms()
    for i, flow_id in enumerate(flow_ids):
        sim.add_run(flow_id, "failed" if i % 20 == 0 else "success", started_at_ms=now - 120_000)
    table = runtime.store.table  # the same boto3 Table the Store uses
    with table.batch_writer() as batch:
        for (tenant_id, path), flow_id in zip(pairs, flow_ids, strict=True):
            batch.put_item(
                Item={
                    "pk": f"TENANT#{tenant_id}",
                    "sk": f"PATH#{path}",
                    "tenant_id": tenant_id,
                    "resource_path": path,
                    "sandbox": SANDBOX,
                    "status": ACTIVE,
                    "flow_id": flow_id,
                    "schedule": {"frequency": "hour", "interval": 1, "startTime": start_s},
                    "gsi1pk": ACTIVE_PARTITION,
                    "gsi1sk": f"{tenant_id}#{path}",
                }
            )
    return flow_ids


# ---- cold start ------------------------------------------------------------------------------------------
_FAKE_ENV = {
    "TABLE_NAME": "bench-table",
    "ADOBE_CREDENTIAL_SECRET": "bench/adobe",  # a secret's name
    "TENANT_SECRET_PREFIX": "stripe-aep/tenants/",
    "PLATFORM_URL": "https://platform.adobe.io",
    "IMS_URL": "https://ims-na1.adobelogin.com",
    "DEFAULT_SANDBOX": "prod",
    "DEFAULT_SCHEDULE_FREQUENCY": "hour",
    "DEFAULT_SCHEDULE_INTERVAL": "1",
    "POWERTOOLS_SERVICE_NAME": "stripe-aep-bench",
    "POWERTOOLS_METRICS_NAMESPACE": "StripeAepProvisioner",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "PROVISION_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:provision",
    "DEPROVISION_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:deprovision",
    "LIFECYCLE_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:lifecycle",
    "HEALTH_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:health",
    "HEALTH_CONCURRENCY": "8",
    "WEBHOOK_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/bench-flow-runs",  # push health's queue
}


def import_time_us(module: str, path: list[Path]) -> int:
    """CPU time in microseconds of ``import module`` in a fresh interpreter (``time.process_time`` around the
    import in the child: CPU, not wall clock, so other processes on a shared machine do not count).

    Raises ``HarnessError`` when the import fails.
    """
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(map(str, path)), **_FAKE_ENV}
    code = f"import time; began = time.process_time_ns(); import {module}; print(time.process_time_ns() - began)"
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
        check=False,
    )
    if done.returncode != 0:
        raise HarnessError(f"import {module} failed: {done.stderr.strip().splitlines()[-1:]}")
    lines = done.stdout.strip().splitlines()
    if not lines or not lines[-1].isdigit():
        raise HarnessError(f"no import time printed for {module}")
    return int(lines[-1]) // 1000


def measure_cold_start(repeats: int, say: Say) -> dict[str, Any]:
    """Measurement 5: each handler module's import time (median of ``repeats``) as a ratio to ``import boto3``
    in the same run, and the layer's size on disk.

    The machine may be shared: every handler import is timed right after an ``import boto3`` (interleaved),
    and each ratio is the handler's median over the boto3 median of its own rounds.
    """
    layer = ROOT / "layers" / "shared"
    handlers: dict[str, dict[str, float]] = {}
    all_boto3: list[int] = []
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        boto3_rounds: list[int] = []
        app_rounds: list[int] = []
        for _ in range(repeats):
            boto3_rounds.append(import_time_us("boto3", []))
            app_rounds.append(import_time_us("app", [app.parent, layer]))
        all_boto3 += boto3_rounds
        median_us = statistics.median(app_rounds)
        handlers[app.parent.name] = {
            "import_ms": median_us / 1000,
            "ratio_to_boto3": median_us / statistics.median(boto3_rounds),
        }
    boto3_us = statistics.median(all_boto3)
    slowest = max(handlers.items(), key=lambda kv: kv[1]["ratio_to_boto3"])
    say(
        f"  import boto3 {boto3_us / 1000:.0f} ms; slowest handler {slowest[0]} "
        f"{slowest[1]['import_ms']:.0f} ms ({slowest[1]['ratio_to_boto3']:.2f} x boto3)"
    )
    for name, figures in handlers.items():
        say(f"    {name}: {figures['import_ms']:.0f} ms ({figures['ratio_to_boto3']:.2f} x boto3)")
    size, source = layer_size()
    say(f"  layer: {size / 1e6:.1f} MB ({source})")
    return {
        "repeats": repeats,
        "boto3_import_ms": boto3_us / 1000,
        "handlers": handlers,
        "layer_bytes": size,
        "layer_source": source,
    }


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def layer_size() -> tuple[int, str]:
    """Bytes of the shared layer: ``.aws-sam/build/SharedLayer`` when ``sam build`` made it, else
    ``layers/shared`` plus its pinned requirements installed with ``pip install --target`` into a temp dir."""
    built = ROOT / ".aws-sam" / "build" / "SharedLayer"
    if built.is_dir():
        return _tree_bytes(built), ".aws-sam/build/SharedLayer (sam build)"
    layer = ROOT / "layers" / "shared"
    with tempfile.TemporaryDirectory() as target:
        subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--target",
                target,
                "-r",
                str(layer / "requirements.txt"),
            ],
            check=True,
            capture_output=True,
        )
        size = _tree_bytes(Path(target)) + _tree_bytes(layer / "stripe_aep")
    return size, "layers/shared + pip install --target of layers/shared/requirements.txt"


# ---- upgrade --all ------------------------------------------------------------------------------------------

#: The paths and fields the upgrade measurement moves from table version 1 (without them) to the current one.
UPGRADE_ADDED = {"balance_transactions": ("exchange_rate", "description"), "customers": ("phone", "preferred_locales")}


def _tables_at(original: Any, version: int) -> Any:
    """``original`` (the current tables) with the ``UPGRADE_ADDED`` paths at ``version`` (1: without the added
    fields)."""
    import dataclasses
    from types import MappingProxyType

    tables = dict(original)
    for path, added in UPGRADE_ADDED.items():
        current = tables[path]
        fields = tuple(f for f in current.fields if version > 1 or f.top_level not in added)
        tables[path] = dataclasses.replace(current, fields=fields, table_version=version)
    return MappingProxyType(tables)


def measure_upgrade_all(
    tenants: int, latency_s: float, cap_rps: float, max_concurrency: int, batch: int, say: Say
) -> dict[str, Any]:
    """Measurement 5: ``tenants`` tenants provisioned on table version 1 (two paths), the tables moved to version
    2 (two added fields per path), then ``stripe-aep upgrade --all --batch <batch>``
    (``stripe_aep_cli.commands.evolve.run_upgrade_all``: one UpgradeAll execution, pages of ``batch`` tenants),
    under the simulator's latency and rate cap; then the same again (it must write nothing)."""
    from stripe_aep import resources
    from stripe_aep_cli.backend import Backend
    from stripe_aep_cli.commands import evolve

    paths = list(UPGRADE_ADDED)
    current = resources.RESOURCES
    resources.RESOURCES = _tables_at(current, 1)
    try:
        with started_stack(max_concurrency) as stack:
            sim = stack.simulator
            ids = [f"bench-u{i:04d}" for i in range(tenants)]
            arns = []
            for tenant_id in ids:
                stack.put_tenant_secret(tenant_id, STRIPE_KEY)
                payload = {"tenantId": tenant_id, "sandbox": SANDBOX, "resourcePaths": paths}
                arns.append(stack.start_execution("ProvisionStateMachine", payload, name=f"p-{tenant_id}"))
            statuses = Counter(stack.wait(arn, timeout_s=3600)["status"] for arn in arns)
            if statuses != Counter({"SUCCEEDED": tenants}):
                raise HarnessError(f"upgrade: provisioning ended {dict(statuses)}")
            resources.RESOURCES = _tables_at(current, 2)
            backend = Backend(
                outputs=dict(stack.outputs), region="us-east-1", endpoint_url=stack.aws_endpoint, local=True
            )
            sim.latency_s = latency_s
            sim.rate_limit_rps = cap_rps
            sim.reset_calls()
            sim.requests.clear()
            began = time.perf_counter()
            executions, report = evolve.run_upgrade_all(backend, batch, False, 3600)
            wall = time.perf_counter() - began
            calls = sim.calls
            accepted_writes = Counter(r.operation for r in sim.requests if r.status < 300)
            sim.reset_calls()
            again_began = time.perf_counter()
            again_executions, again = evolve.run_upgrade_all(backend, batch, False, 3600)
            again_wall = time.perf_counter() - again_began
            again_calls = platform_calls(sim.calls)
            sim.rate_limit_rps = None
            sim.latency_s = 0.0
            failed = [
                f"{e.name}: {e.status} {e.error}: {e.cause}"
                for e in (*executions, *again_executions)
                if e.status != "SUCCEEDED"
            ] + [
                f"{r['tenantId']}: {r.get('error')}: {r.get('cause')}"
                for r in (*report["tenants"], *again["tenants"])
                if r["status"] != "SUCCEEDED"
            ]
            if report["counts"].get("upgraded") != tenants or again["counts"].get("current") != tenants:
                failed.append(f"reports: first {report['counts']}, re-run {again['counts']} ({tenants} tenants)")
            writes = {op: accepted_writes[op] for op in ("patchFieldGroup", "putMappingSet", "patchFlow")}
            out = {
                "tenants": tenants,
                "paths": paths,
                "batch": batch,
                "latency_ms": latency_s * 1000,
                "cap_rps": cap_rps,
                "wall_s": wall,
                "adobe_calls": platform_calls(calls),
                "writes": writes,
                "answered_429": throttled(stack),
                "per_tenant_s": wall / tenants,
                "rerun_wall_s": again_wall,
                "rerun_adobe_calls": again_calls,
                "failed": failed,
                "executions": [e.name for e in executions],
                "calls": dict(sorted(calls.items())),
            }
            say(
                f"  upgrade --all of {tenants} tenants x {len(paths)} paths (batch {batch}): {wall:.1f} s, "
                f"{platform_calls(calls)} Adobe calls, writes {writes}; re-run {again_wall:.1f} s, {again_calls} calls"
            )
            expected = {
                "patchFieldGroup": len(paths),
                "putMappingSet": tenants * len(paths),
                "patchFlow": tenants * len(paths),
            }
            if failed or writes != expected or again_calls:
                raise HarnessError(f"upgrade --all: failed {failed[:3]}, writes {writes} (expected {expected})")
            return out
    finally:
        resources.RESOURCES = current
