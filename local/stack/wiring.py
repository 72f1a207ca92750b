"""What AWS runs between the stack's resources and moto does not: the event path, live.

`EventWiring(stack).start()` runs three daemon threads in the process of a started `LocalStack`:

- the **SQS event source mapping**: polls the queue of the function with an `SQS` event (start_execution) and
  hands it batches as Lambda's poller would (`LocalStack.drain_queue`: partial batch failures stay on the queue,
  the queue's redrive policy moves a message to the dead-letter queue after its maxReceiveCount);
- **CloudTrail for Secrets Manager**: moto emits no CloudTrail event, so each new version of a secret under
  `TenantSecretPrefix` is put on the default bus as the `AWS API Call via CloudTrail` / `PutSecretValue` event
  AWS would emit; the template's `TenantSecretChangedRule` (its real pattern, on moto) routes it to the queue;
- the **health schedule**: the function with a `Schedule`/`ScheduleV2` event is invoked with its `Input` every
  `health_interval_s` seconds (a faster clock than the template's `rate(...)`, which `describe()` reports).

Nothing here changes how `LocalStack` creates resources; tests that drain the queue by hand do not start it.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int | None:
    """Seconds between runs of an EventBridge `rate(N unit)` expression; None for `cron(...)` or other forms."""
    match = _RATE.match(expression.strip())
    if not match:
        return None
    return int(match.group(1)) * _UNIT_S[match.group(2).removesuffix("s")]


class EventWiring:
    """The event source mapping, the Secrets Manager change events and the health schedule of a `LocalStack`.

    `poll_s`: seconds between queue polls and secret scans. `health_interval_s`: seconds between scheduled
    health checks (0 turns the schedule off).
    """

    def __init__(self, stack: Any, health_interval_s: float = 60, poll_s: float = 0.5) -> None:
        self.stack = stack
        self.health_interval_s = health_interval_s
        self.poll_s = poll_s
        self.schedule = self._scheduled_function()
        self.health_runs = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._versions: dict[str, str] = {}
        self._lock = threading.Lock()  # one SQS batch / secret scan at a time

    def _scheduled_function(self) -> dict[str, Any] | None:
        """`{function, expression, input}` of the template's scheduled function (its first Schedule event)."""
        from local.stack.template import load_template

        resources = load_template(self.stack.template_path).get("Resources") or {}
        resolver = self.stack._resolver
        for logical_id, resource in resources.items():
            if logical_id not in self.stack.functions:
                continue
            for event in ((resource.get("Properties") or {}).get("Events") or {}).values():
                if event.get("Type") in ("Schedule", "ScheduleV2"):
                    props = resolver.resolve(event.get("Properties") or {})
                    payload = props.get("Input") or "{}"
                    return {
                        "function": logical_id,
                        "expression": str(props.get("ScheduleExpression") or props.get("Schedule")),
                        "input": json.loads(payload) if isinstance(payload, str) else payload,
                    }
        return None

    def describe(self) -> dict[str, Any]:
        """What runs, for `local up` to print: the queue, the secret prefix, the health clock."""
        schedule = self.schedule or {}
        aws_s = rate_seconds(str(schedule.get("expression", "")))
        return {
            "eventQueueUrl": self.stack.signup_queue_url,
            "tenantSecretPrefix": self.stack.environment.get("TENANT_SECRET_PREFIX", ""),
            "healthSchedule": schedule.get("expression"),
            "healthIntervalSeconds": self.health_interval_s if schedule else 0,
            "healthClockSpeedup": round(aws_s / self.health_interval_s, 1)
            if aws_s and self.health_interval_s
            else None,
        }

    # ---------------------------------------------------------------------------------------------- threads
    def start(self) -> EventWiring:
        for service in ("sqs", "lambda", "secretsmanager", "events"):
            self.stack.client(service)  # create the cached clients before threads share them
        self._versions = self._secret_versions()  # what exists now is not a change
        self._spawn("sqs-event-source", self._poll_queue, self.poll_s)
        self._spawn("secret-changes", self._scan_secrets, self.poll_s)
        if self.schedule and self.health_interval_s > 0:
            self._spawn("health-schedule", self._run_health_check, self.health_interval_s)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads.clear()

    def __enter__(self) -> EventWiring:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, name: str, work: Callable[[], None], every_s: float) -> None:
        def loop() -> None:
            while not self._stop.wait(every_s):
                try:
                    work()
                except Exception:  # a local poller must outlive one bad round, as AWS's does
                    logger.exception("local %s round failed", name)

        thread = threading.Thread(target=loop, name=f"local-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _poll_queue(self) -> None:
        with self._lock:
            self.stack.drain_queue(max_batches=10)

    def _secret_versions(self) -> dict[str, str]:
        prefix = self.stack.environment.get("TENANT_SECRET_PREFIX", "stripe-aep/tenants/")
        secrets = self.stack.client("secretsmanager")
        versions: dict[str, str] = {}
        for page in secrets.get_paginator("list_secrets").paginate(Filters=[{"Key": "name", "Values": [prefix]}]):
            for secret in page["SecretList"]:
                if not str(secret["Name"]).startswith(prefix):
                    continue
                current = [
                    v for v, stages in (secret.get("SecretVersionsToStages") or {}).items() if "AWSCURRENT" in stages
                ]
                versions[str(secret["Name"])] = current[0] if current else ""
        return versions

    def _scan_secrets(self) -> None:
        with self._lock:
            now = self._secret_versions()
            changed = [
                name for name, version in now.items() if name in self._versions and self._versions[name] != version
            ]
            self._versions = now
        for name in changed:
            self.put_secret_changed(name, now[name])

    def put_secret_changed(self, secret_name: str, version_id: str) -> None:
        """PutEvents of the CloudTrail `PutSecretValue` event AWS emits for a new version of `secret_name`."""
        detail = {
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": "PutSecretValue",
            "requestParameters": {"secretId": secret_name},
            "responseElements": {"versionId": version_id},
            "eventType": "AwsApiCall",
        }
        answer = self.stack.client("events").put_events(
            Entries=[
                {
                    "Source": "aws.secretsmanager",
                    "DetailType": "AWS API Call via CloudTrail",
                    "Detail": json.dumps(detail),
                    "EventBusName": "default",
                }
            ]
        )
        if answer.get("FailedEntryCount"):
            logger.error("PutEvents of the secret change of %s failed: %s", secret_name, answer["Entries"])

    def _run_health_check(self) -> None:
        assert self.schedule is not None  # noqa: S101 - only spawned with a schedule
        self.stack.invoke(self.schedule["function"], self.schedule["input"])
        self.health_runs += 1
