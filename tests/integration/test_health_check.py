"""Health checks on the one-machine stack: moto (DynamoDB, SNS, SQS) and the AEP simulator over real HTTP.

Flows are created in the simulator through the Platform client (sharing one source connection, target
connection and mapping set, which Flow Service allows) and their DynamoDB items through ``Store``; no
provisioning executions are run. Alerts are read from an SQS queue subscribed to the template's alert topic.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import pytest
from aws_lambda_powertools.utilities import parameters
from pydantic import SecretStr

from local.stack import LocalStack
from stripe_aep.aep import PlatformClient, Schedule
from stripe_aep.health.sweep import CURSOR_KEY, HealthChecker, HealthSettings, checker_for
from stripe_aep.resources import get_resource
from stripe_aep.runtime import Runtime, Settings
from stripe_aep.store import ACTIVE, DISABLED, Store, dataflow_key
from stripe_aep.tenants import dataflow_name
from tests.integration.support import alert_queue

PATHS = ("charges", "subscriptions", "refunds", "balance_transactions", "customers", "prices")
SANDBOX = "prod"


@dataclass(frozen=True)
class Seeded:
    tenant_id: str
    resource_path: str
    flow_id: str

    @property
    def key(self) -> tuple[str, str]:
        return dataflow_key(self.tenant_id, self.resource_path)


@pytest.fixture
def runtime(stack: LocalStack) -> Iterator[Runtime]:
    """A Runtime of the health_check function's environment (its own Platform clients and store)."""
    parameters.clear_caches()
    # providers hold boto3 clients bound to an earlier moto endpoint
    parameters.base.DEFAULT_PROVIDERS.clear()
    built = Runtime(Settings.from_env(stack.functions["HealthCheckFunction"].environment))
    yield built
    _SHARED.pop(id(built.platform(SANDBOX)), None)
    parameters.clear_caches()
    parameters.base.DEFAULT_PROVIDERS.clear()


_SHARED: dict[int, tuple[str, str, str, int]] = {}


def _shared_connections(client: PlatformClient) -> tuple[str, str, str, int]:
    """A source connection, target connection and mapping set all seeded flows point at (once per client)."""
    if id(client) in _SHARED:
        return _SHARED[id(client)]
    resource = get_resource("charges")
    xdm_tenant = client.get_tenant_id()
    base = client.create_base_connection("seed/base", SecretStr("sk_test_seed_0123456789"))
    source = client.create_source_connection("seed/source", base.id, "charges")
    field_group = client.create_field_group(resource.field_group_body(xdm_tenant))
    schema = client.create_schema(resource.schema_body(field_group.id))
    dataset_id = client.create_dataset("seed dataset", schema.id)
    target = client.create_target_connection("seed/target", schema.id, dataset_id)
    mapping = client.create_mapping_set(resource.mapping_set_body(xdm_tenant, schema.id))
    _SHARED[id(client)] = (source.id, target.id, mapping.id, mapping.version)
    return _SHARED[id(client)]


def seed(runtime: Runtime, tenants: list[str], paths: tuple[str, ...] = PATHS) -> list[Seeded]:
    """One flow per (tenant, path) in the simulator (hourly, starting now) and its ACTIVE item in DynamoDB."""
    client = runtime.platform(SANDBOX)
    source_id, target_id, mapping_id, mapping_version = _shared_connections(client)
    start_s = int(time.time())
    schedule = Schedule(start_time=start_s, frequency="hour", interval=1)

    def make(pair: tuple[str, str]) -> Seeded:
        tenant_id, path = pair
        created = client.create_flow(
            dataflow_name(tenant_id, path), source_id, target_id, mapping_id, mapping_version, schedule
        )
        runtime.store.set_status(
            dataflow_key(tenant_id, path),
            ACTIVE,
            tenant_id=tenant_id,
            resource_path=path,
            sandbox=SANDBOX,
            flow_id=created.id,
            schedule={"frequency": "hour", "interval": 1, "startTime": start_s},
        )
        return Seeded(tenant_id, path, created.id)

    pairs = [(t, p) for t in tenants for p in paths]
    for tenant_id in tenants:
        runtime.store.update(("TENANT#" + tenant_id, "TENANT"), {"tenant_id": tenant_id, "status": ACTIVE})
    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(make, pairs))


def health_of(store: Store, seeded: Seeded) -> dict[str, Any]:
    item = store.get(seeded.key)
    assert item is not None
    return item


def runs_calls_by_flow(stack: LocalStack) -> Counter[str]:
    """listFlowRuns requests the simulator received, by the flow id of their ``property=flowId==`` filter."""
    counts: Counter[str] = Counter()
    for request in stack.simulator.requests:
        if request.operation != "listFlowRuns":
            continue
        for prop in parse_qs(request.query).get("property", []):
            if prop.startswith("flowId=="):
                counts[prop.removeprefix("flowId==")] += 1
    return counts


# ---- the 1,000-flow sweep ----
@pytest.mark.slow  # about 2 minutes: seeding 1,002 flows and items, then the sweep
def test_sweep_of_1002_dataflows_under_throttling(stack: LocalStack, runtime: Runtime) -> None:
    from local.aep_simulator import Fault

    sim = stack.simulator
    tenants = [f"t{i:04d}" for i in range(167)]
    seeded = seed(runtime, tenants)
    assert len(seeded) == 1002
    now = sim.now_ms()
    expected: dict[Seeded, str] = {}
    client = runtime.platform(SANDBOX)
    for i, s in enumerate(seeded):
        kind = i % 20
        if kind == 0:
            sim.add_run(s.flow_id, "failed", started_at_ms=now - 120_000, failed_records=100)
            expected[s] = "FAILED"
        elif kind == 1:
            sim.add_run(s.flow_id, "partialSuccess", started_at_ms=now - 120_000, failed_records=4)
            expected[s] = "DEGRADED"
        elif kind == 2:
            expected[s] = "PENDING"  # no run yet, created just now
        elif kind == 3:
            sim.remove_flow(s.flow_id)
            expected[s] = "MISSING"
        elif kind == 4:
            client.disable_flow(s.flow_id)
            expected[s] = "DISABLED"
        elif kind == 5:
            sim.add_run(s.flow_id, "success", started_at_ms=now - 600_000)
            sim.add_run(s.flow_id, "inProgress", started_at_ms=now - 60_000)
            expected[s] = "HEALTHY"
        else:
            sim.add_run(s.flow_id, "success", started_at_ms=now - 120_000)
            expected[s] = "HEALTHY"

    sim.reset_calls()
    sim.reset_max_in_flight()
    sim.requests.clear()
    sim.add_fault(Fault(kind="throttle", rate=0.15, times=None, retry_after=1))
    concurrency = int(stack.functions["HealthCheckFunction"].environment["HEALTH_CONCURRENCY"])

    began = time.perf_counter()
    summary = stack.invoke("HealthCheckFunction", {})
    wall_s = time.perf_counter() - began

    assert "errorType" not in summary, summary
    want = Counter(expected.values())
    assert summary["checked"] == 1002
    assert summary["complete"] is True
    assert summary["cursor"] is None
    assert summary["byStatus"] == dict(want)
    for s, status in expected.items():
        item = health_of(runtime.store, s)
        assert item["health_status"] == status, (s, item.get("health_reason"))
        assert item["health_reason"]
        assert isinstance(item["health_checked_at"], int)
    assert sim.max_in_flight <= concurrency
    calls = sim.calls
    platform_calls = sum(n for op, n in calls.items() if op != "imsToken")
    throttled = sum(1 for r in sim.requests if r.status == 429)
    assert throttled > 0  # the fault did fire, and the sweep still classified everything
    print(
        f"\n1,002-flow sweep: {wall_s:.1f} s wall, {platform_calls} Adobe calls "
        f"({platform_calls / 1002:.3f} per flow; {dict(calls)}), {throttled} answered 429, "
        f"max in flight {sim.max_in_flight} (limit {concurrency})"
    )


# ---- alerts: once on a transition, a recovery notice on the way back ----
def test_alert_published_once_per_transition_and_recovery_notice(stack: LocalStack, runtime: Runtime) -> None:
    sim = stack.simulator
    drain = alert_queue(stack)
    charges, refunds = seed(runtime, ["acme"], ("charges", "refunds"))
    now = sim.now_ms()
    errors = [{"code": "CONNECTOR-2001-500", "message": "Stripe returned an error while reading the resource"}]
    sim.add_run(charges.flow_id, "failed", started_at_ms=now - 120_000, failed_records=100, errors=errors)
    sim.add_run(refunds.flow_id, "success", started_at_ms=now - 120_000)

    first = stack.invoke("HealthCheckFunction", {})
    assert first["byStatus"] == {"FAILED": 1, "HEALTHY": 1}
    assert first["alerts"] == 1
    notices = drain()
    assert len(notices) == 1
    notice = notices[0]
    assert notice["kind"] == "ALERT"
    assert (notice["tenantId"], notice["resourcePath"], notice["flowId"]) == (
        "acme",
        "charges",
        charges.flow_id,
    )
    assert notice["status"] == "FAILED"
    assert notice["previousStatus"] is None
    assert "CONNECTOR-2001-500" in notice["reason"]
    assert "FAILED" in notice["_subject"]
    body = json.dumps(notice)
    assert "sk_test" not in body
    assert stack.adobe_credential["client_secret"] not in body

    second = stack.invoke("HealthCheckFunction", {})
    assert second["byStatus"] == {"FAILED": 1, "HEALTHY": 1}
    assert second["alerts"] == 0
    assert drain() == []  # still failed: no repeated alert

    sim.add_run(charges.flow_id, "success", started_at_ms=sim.now_ms() - 30_000)
    third = stack.invoke("HealthCheckFunction", {})
    assert third["byStatus"] == {"HEALTHY": 2}
    recovery = drain()
    assert len(recovery) == 1
    assert recovery[0]["kind"] == "RECOVERY"
    assert recovery[0]["status"] == "HEALTHY"
    assert recovery[0]["previousStatus"] == "FAILED"
    assert health_of(runtime.store, charges)["health_status"] == "HEALTHY"
    assert health_of(runtime.store, charges)["health_errors"] == []

    stack.invoke("HealthCheckFunction", {})
    assert drain() == []  # healthy again: nothing more


def test_a_disabled_flow_deleted_in_aep_is_noticed_without_a_call_per_listed_flow(
    stack: LocalStack, runtime: Runtime
) -> None:
    """DISABLED dataflows are out of the sweep's index; one whose flow vanished from the sandbox's listing is
    confirmed with one GET and recorded MISSING, with the alert an ACTIVE one gets. A listed one costs nothing."""
    sim = stack.simulator
    drain = alert_queue(stack)
    charges, refunds = seed(runtime, ["acme"], ("charges", "refunds"))
    runtime.platform(SANDBOX).disable_flow(refunds.flow_id)
    runtime.store.set_status(refunds.key, DISABLED, flow_state="disabled", health_status="DISABLED")
    sim.requests.clear()

    calm = stack.invoke("HealthCheckFunction", {})

    assert calm["byStatus"] == {"PENDING": 1} and calm["complete"] is True, calm
    assert Counter(r.operation for r in sim.requests if r.operation != "imsToken") == {"listFlows": 1}
    assert health_of(runtime.store, refunds)["health_status"] == "DISABLED"
    assert drain() == []

    sim.remove_flow(refunds.flow_id)
    sim.requests.clear()
    noticed = stack.invoke("HealthCheckFunction", {})

    assert noticed["byStatus"] == {"PENDING": 1, "MISSING": 1}, noticed
    assert noticed["alerts"] == 1
    gets = [r.path.rsplit("/", 1)[-1] for r in sim.requests if r.operation == "retrieveFlow"]
    assert gets == [refunds.flow_id], "confirmed with one GET, and only the unlisted flow"
    assert Counter(r.operation for r in sim.requests)["listFlows"] == 1
    item = health_of(runtime.store, refunds)
    assert (item["status"], item["health_status"]) == ("DISABLED", "MISSING")
    assert refunds.flow_id in item["health_reason"]
    (alert,) = drain()
    assert (alert["kind"], alert["status"], alert["previousStatus"]) == ("ALERT", "MISSING", "DISABLED")
    assert alert["flowId"] == refunds.flow_id and "stripe-aep provision acme" in alert["repair"]
    assert health_of(runtime.store, charges)["health_status"] == "PENDING"

    again = stack.invoke("HealthCheckFunction", {})
    assert again["byStatus"] == {"PENDING": 1, "MISSING": 1} and again["alerts"] == 0
    assert drain() == [], "still missing: no repeated alert"


# ---- the time budget and the cursor ----
def test_interrupted_sweep_resumes_from_its_cursor_each_flow_once_per_cycle(
    stack: LocalStack, runtime: Runtime
) -> None:
    sim = stack.simulator
    seeded = seed(runtime, ["beta", "delta", "gamma", "kappa", "omega", "sigma"])  # 36 dataflows
    for s in seeded:  # a failed run each: every check costs exactly one listFlowRuns call, by flow id
        sim.add_run(s.flow_id, "failed", started_at_ms=sim.now_ms() - 60_000)
    sim.requests.clear()
    checker = HealthChecker(runtime.store, runtime.platform, None, concurrency=4, batch_size=10, reserve_ms=1000)

    # Budget: enough for the lease and two batches, then under the reserve.
    budget = iter([120_000, 120_000, 120_000, 500])
    first = checker.sweep(lambda: next(budget, 0), owner="first")
    assert first.complete is False
    assert first.checked == 20
    assert first.cursor is not None
    cursor_item = runtime.store.get(CURSOR_KEY)
    assert cursor_item is not None
    assert cursor_item["cursor"] == first.cursor
    assert "lease_owner" not in cursor_item  # released on a clean stop
    after_first = runs_calls_by_flow(stack)
    assert sum(after_first.values()) == 20

    second = checker.sweep(lambda: 120_000, owner="second")
    assert second.complete is True
    assert second.checked == 16
    assert second.cursor is None
    per_flow = runs_calls_by_flow(stack)
    assert per_flow == Counter({s.flow_id: 1 for s in seeded})  # every flow exactly once in the cycle
    cursor_item = runtime.store.get(CURSOR_KEY)
    assert cursor_item is not None
    assert "cursor" not in cursor_item
    assert cursor_item["cycle"] == 1

    third = checker.sweep(lambda: 120_000, owner="third")  # a new cycle starts from the beginning
    assert third.complete is True
    assert third.checked == 36
    assert runs_calls_by_flow(stack) == Counter({s.flow_id: 2 for s in seeded})


def test_sweep_skips_while_another_sweep_holds_the_lease(stack: LocalStack, runtime: Runtime) -> None:
    seed(runtime, ["acme"], ("charges",))
    runtime.store.update(CURSOR_KEY, {"lease_owner": "other", "lease_until": int(time.time()) + 600})
    checker = HealthChecker(runtime.store, runtime.platform, None)
    summary = checker.sweep(lambda: 120_000, owner="me")
    assert summary.checked == 0
    assert summary.skipped
    assert runtime.store.get(CURSOR_KEY)["lease_owner"] == "other"  # type: ignore[index]


# ---- FAILED, MISSING, STALE with their reasons ----
def test_tenant_check_failed_missing_and_stale_with_reasons(stack: LocalStack, runtime: Runtime) -> None:
    sim = stack.simulator
    charges, refunds, customers = seed(runtime, ["acme"], ("charges", "refunds", "customers"))
    seed_other = seed(runtime, ["other"], ("charges",))[0]
    now = sim.now_ms()
    for minutes, code in ((150, "CONNECTOR-1001-401"), (90, "CONNECTOR-2001-500")):
        sim.add_run(
            charges.flow_id,
            "failed",
            started_at_ms=now - minutes * 60_000,
            failed_records=40,
            input_records=40,
            errors=[{"code": code, "message": f"Stripe error {code}"}],
        )
    sim.remove_flow(refunds.flow_id)
    sim.add_run(customers.flow_id, "success", started_at_ms=now - 60_000)

    result = stack.invoke("HealthCheckFunction", {"tenantId": "acme"})
    assert result["byStatus"] == {"FAILED": 1, "MISSING": 1, "HEALTHY": 1}
    assert result["complete"] is True
    failed = health_of(runtime.store, charges)
    assert failed["health_status"] == "FAILED"
    assert failed["health_errors"] == [{"code": "CONNECTOR-2001-500", "message": "Stripe error CONNECTOR-2001-500"}]
    assert failed["last_run_failed_records"] == 40
    assert "CONNECTOR-2001-500" in failed["health_reason"]
    assert failed["last_run_started_at_ms"] == now - 90 * 60_000  # Adobe's epoch milliseconds, kept as is
    missing = health_of(runtime.store, refunds)
    assert missing["health_status"] == "MISSING"
    assert refunds.flow_id in missing["health_reason"]
    assert "health_status" not in health_of(runtime.store, seed_other)  # another tenant is not touched

    # Three hours later on the simulator's clock, without new runs: the hourly flow is stale.
    sim.advance(3 * 3600)
    checker = checker_for(runtime, HealthSettings())
    checker.clock = sim.now_ms
    later = checker.check_tenant("acme")
    assert later.by_status["STALE"] == 1
    stale = health_of(runtime.store, customers)
    assert stale["health_status"] == "STALE"
    assert "no successful run" in stale["health_reason"]


def test_one_flow_error_is_recorded_and_the_sweep_goes_on(stack: LocalStack, runtime: Runtime) -> None:
    from local.aep_simulator import Fault

    sim = stack.simulator
    charges, refunds = seed(runtime, ["acme"], ("charges", "refunds"))
    sim.add_run(charges.flow_id, "failed", started_at_ms=sim.now_ms() - 60_000)
    sim.add_run(refunds.flow_id, "success", started_at_ms=sim.now_ms() - 60_000)
    sim.add_fault(Fault(operation="listFlowRuns", kind="error500", times=None))  # beyond the client's retries

    result = stack.invoke("HealthCheckFunction", {})
    assert "errorType" not in result, result
    assert result["byStatus"] == {"ERROR": 1, "HEALTHY": 1}
    assert result["complete"] is True
    item = health_of(runtime.store, charges)
    assert item["health_check_error"]["error"] == "UpstreamError"
    assert "health_status" not in item
    assert health_of(runtime.store, refunds)["health_status"] == "HEALTHY"


def test_bad_tenant_id_is_rejected(stack: LocalStack) -> None:
    result = stack.invoke("HealthCheckFunction", {"tenantId": "../Acme"})
    assert result["errorType"] == "InputValidationError"
    assert "../Acme" not in result["errorMessage"]
