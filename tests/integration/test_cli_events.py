"""The local stack's event path, live as on AWS: what `stripe-aep local up` runs without `make demo`.

A signup event put on the bus reaches the queue, the SQS event source mapping feeds the starter and the tenant
is provisioned; a new version of a tenant's secret starts rotate_key through the Secrets Manager rule; the
health schedule fires on its (faster, printed) interval; `local add-tenant` registers a tenant of one's own;
`--local` finds the stack from any folder through $STRIPE_AEP_STACK_FILE. Each is a real `stripe-aep`
subprocess; outcomes are checked in DynamoDB, Step Functions and the simulator.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import REPO, require_app
from tests.integration.support import Running, as_json, cli, local_up, stripe_aep

HEALTH_EVERY_S = 2


def _eventually(check: Callable[[], Any], timeout_s: float = 30) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    return check()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """`local up --background --health-every 2` (no demo tenants); `local down` after (checked)."""
    require_app()
    stack_file = tmp_path_factory.mktemp("events") / "stack.json"
    with local_up(stack_file, "--health-every", str(HEALTH_EVERY_S)) as (started, printed):
        # the faster clock is printed, with the template's schedule
        assert f"Health check: every {HEALTH_EVERY_S} s (template: rate(15 minutes)" in printed
        assert "local send-event FILE" in printed
        yield started


def _signup_event(tmp_path: Path, tenant_id: str) -> Path:
    event = json.loads((REPO / "events" / "tenant-signed-up.json").read_text())
    event["detail"] = {"tenantId": tenant_id, "resourcePaths": ["charges"]}
    path = tmp_path / f"signup-{tenant_id}.json"
    path.write_text(json.dumps(event))
    return path


def test_a_tenant_of_ones_own_through_the_event_path(running: Running, tmp_path: Path) -> None:
    # a hand-made key is refused as a usage error; a well-formed one is registered and stored
    bad = cli(running, "local", "add-tenant", "hooli", "--stripe-key", "not-a-key")
    assert bad.returncode == 2 and "--stripe-key" in bad.stderr
    added = cli(running, "local", "add-tenant", "hooli", "--stripe-key", "sk_test_hooli_0123456789abcdef")
    assert added.returncode == 0, added.stdout + added.stderr
    secret = running.client("secretsmanager").get_secret_value(SecretId="stripe-aep/tenants/hooli")
    assert secret["SecretString"] == "sk_test_hooli_0123456789abcdef"
    assert "sk_test_hooli" not in added.stdout  # the key is not printed

    # the signup event: bus -> rule -> queue -> event source mapping -> starter -> provision
    sent = cli(running, "local", "send-event", str(_signup_event(tmp_path, "hooli")))
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "the event started execution provision-hooli-" in sent.stdout
    assert "provision hooli: SUCCEEDED" in sent.stdout
    tenant = running.item("TENANT", "hooli")
    dataflow = running.item("PATH#charges", "hooli")
    assert tenant is not None and tenant["status"]["S"] == "ACTIVE"
    assert dataflow is not None and running.aep_flow(dataflow["flow_id"]["S"])["state"] == "enabled"
    assert (
        running.client("sqs").get_queue_attributes(
            QueueUrl=running.outputs["EventQueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        == "0"
    )

    # the health schedule fires by itself: the dataflow item gets its health status without `health`
    checked = _eventually(lambda: (running.item("PATH#charges", "hooli") or {}).get("health_status"), 20)
    assert checked is not None and checked["S"] in {"PENDING", "HEALTHY"}

    # a new version of the tenant's secret starts rotate_key through the Secrets Manager rule
    rotated = cli(running, "local", "add-tenant", "hooli", "--stripe-key", "sk_test_hooli_rotated_0123456789")
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    assert "the Secrets Manager rule starts rotate_key" in rotated.stdout

    def rotation_done() -> list[dict[str, Any]]:
        found = [e for e in running.executions("Lifecycle") if e["name"].startswith("rotate-key-hooli-")]
        return [e for e in found if e["status"] == "SUCCEEDED"]

    assert len(_eventually(rotation_done, 30)) == 1


def test_local_finds_the_stack_from_any_folder(running: Running, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["STRIPE_AEP_STACK_FILE"] = str(running.stack_file)
    result = stripe_aep("status", "--local", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert as_json(result) == as_json(cli(running, "--json", "status"))
