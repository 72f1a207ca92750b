"""``python -m bench.push_latency [--failures 5] [--latency-ms 50]``: time from a failed flow run to its alert,
push (Adobe I/O Events -> webhook receiver -> SQS -> processor -> SNS) against the sweep (the scheduled health
check). Printed, never asserted.

On the one-machine stack (moto + the AEP simulator, which plays I/O Events with its own keys): a tenant with
one dataflow; each failure is a run the simulator ends as failed, alternating with a success so that every
failure is a transition. Push: from the run's end to the alert on the alert topic (an SQS queue subscribed to
it). Sweep: the event is dropped (lost), a sweep is invoked, from the run's end to the alert; a real sweep also
waits for its schedule, so the sweep's latency is that plus on average half the schedule period (worst: a
whole period): both are printed for the template's schedules (``rate(15 minutes)`` without push,
``rate(1 hour)`` with it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from local.aep_simulator.io_events import Delivery
from local.stack import LocalStack

ROOT = Path(__file__).resolve().parents[1]
STRIPE_KEY = "sk_test_bench_0123456789abcdef"
TENANT = "benchpush"


def _alert_queue(stack: LocalStack) -> tuple[Any, str]:
    sqs, sns = stack.client("sqs"), stack.client("sns")
    url = sqs.create_queue(QueueName=f"bench-alerts-{time.monotonic_ns()}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=stack.functions["HealthCheckFunction"].environment["HEALTH_TOPIC_ARN"], Protocol="sqs", Endpoint=arn
    )
    return sqs, url


def _wait_alert(sqs: Any, url: str, run_id: str, timeout_s: float = 60) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            notice = json.loads(json.loads(message["Body"])["Message"])
            if notice.get("lastRunId") == run_id and notice.get("kind") == "ALERT":
                return time.perf_counter()
        time.sleep(0.005)
    raise RuntimeError(f"no alert for run {run_id} within {timeout_s} s")


def _run(stack: LocalStack, flow_id: str, status: str) -> tuple[dict[str, Any], float]:
    now = stack.simulator.now_ms()
    began = time.perf_counter()
    return stack.simulator.add_run(flow_id, status, started_at_ms=now, completed_at_ms=now + 1), began


def measure(failures: int, latency_s: float) -> dict[str, Any]:
    """Push and sweep alert latencies (seconds) over ``failures`` failed runs each."""
    with LocalStack(project_root=ROOT, parameter_overrides={"PushHealth": "true"}) as stack:
        stack.put_tenant_secret(TENANT, STRIPE_KEY)
        stack.simulator.register_stripe_key(STRIPE_KEY)
        arn = stack.start_execution(
            "ProvisionStateMachine", {"tenantId": TENANT, "resourcePaths": ["charges"]}, name="bench-push"
        )
        if stack.wait(arn, timeout_s=120)["status"] != "SUCCEEDED":
            raise RuntimeError("provisioning failed")
        (flow,) = stack.simulator.objects("flows")
        flow_id = str(flow["id"])
        endpoint = stack.enable_push()
        sqs, url = _alert_queue(stack)
        stack.simulator.latency_s = latency_s
        push: list[float] = []
        sweep: list[float] = []
        for _ in range(failures):
            run, began = _run(stack, flow_id, "failed")
            push.append(_wait_alert(sqs, url, run["id"]) - began)
            _run(stack, flow_id, "success")  # recovery (by push), so the next failure is a transition again
            stack.simulator.io_events.wait_idle()
            endpoint.wait_idle()
        for _ in range(failures):
            stack.simulator.io_events.plan(Delivery(drop=True))  # lost: only the sweep can see it
            run, began = _run(stack, flow_id, "failed")
            stack.invoke("HealthCheckFunction", {"pushHealth": True})
            sweep.append(_wait_alert(sqs, url, run["id"]) - began)
            _run(stack, flow_id, "success")
            stack.simulator.io_events.wait_idle()
            endpoint.wait_idle()
    sweep_s = statistics.median(sweep)
    return {
        "failures": failures,
        "simulator_latency_ms": latency_s * 1000,
        "push_s": {"median": statistics.median(push), "max": max(push)},
        "sweep_once_invoked_s": {"median": sweep_s, "max": max(sweep)},
        "sweep_with_schedule_s": {
            "rate(15 minutes)": {"mean": 450 + sweep_s, "worst": 900 + sweep_s},
            "rate(1 hour)": {"mean": 1800 + sweep_s, "worst": 3600 + sweep_s},
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.push_latency", description=__doc__.splitlines()[0])
    parser.add_argument("--failures", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args(argv)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    result = measure(args.failures, args.latency_ms / 1000)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
