"""Helpers shared by the integration tests: test modules import these, never one another.

State machine runs and the DynamoDB table (``provision``, ``provision_tenant``, ``run``, ``store_of``,
``table_store``, ``creates``, ``assert_provisioned``), a Platform client beside the provisioner
(``platform_client``, ``create_tutorial_chain``, ``only``), and the operator CLI in a subprocess (``CLI``,
``Running``, ``cli``, ``as_json``).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import requests
from pydantic import SecretStr

from local.aep_simulator.stripe_data import SAMPLES
from local.stack import LocalStack
from stripe_aep.aep import ImsCredential, PlatformClient, PlatformSettings, Schedule
from stripe_aep.resources import RESOURCES
from stripe_aep.store import Store
from tests.conftest import FAKE_STRIPE_KEY
from tests.integration.aep_bodies import field_group_body, mapping_set_body, schema_body
from tests.integration.conftest import REPO

# ---- state machine runs and the table ----------------------------------------------------------------------

CREATE_OPERATIONS = (
    "createConnection",
    "createSourceConnection",
    "createClass",
    "createFieldGroup",
    "createSchema",
    "createDataset",
    "createTargetConnection",
    "createMappingSet",
    "createFlow",
)
# (simulator kind, DynamoDB attribute of the dataflow item) for the per-(tenant, path) objects.
PER_PATH = (
    ("sourceConnections", "source_connection_id"),
    ("dataSets", "dataset_id"),
    ("targetConnections", "target_connection_id"),
    ("mappingSets", "mapping_set_id"),
    ("flows", "flow_id"),
)


def provision(stack: LocalStack, payload: dict[str, Any], name: str, timeout_s: float = 120) -> dict[str, Any]:
    """Start a provision execution and wait for it; returns DescribeExecution."""
    arn = stack.start_execution("ProvisionStateMachine", payload, name=name)
    return stack.wait(arn, timeout_s=timeout_s)


def store_of(stack: LocalStack) -> Store:
    return Store(stack.outputs["TableName"])


def creates(stack: LocalStack) -> Counter[str]:
    return Counter({op: n for op, n in stack.simulator.calls.items() if op in CREATE_OPERATIONS and n})


def assert_provisioned(stack: LocalStack, tenants: dict[str, list[str]]) -> None:
    """Every expected AEP object exists exactly once, and DynamoDB holds its ID with status ACTIVE."""
    sim = stack.simulator
    store = store_of(stack)
    dataflows = sum(len(paths) for paths in tenants.values())
    all_paths = {p for paths in tenants.values() for p in paths}
    assert len(sim.objects("connections")) == len(tenants)
    for kind, _ in PER_PATH:
        names = [o.get("name") for o in sim.objects(kind)]
        assert len(names) == dataflows, (kind, names)
        assert len(set(names)) == dataflows, f"duplicate {kind}: {names}"
    assert len(sim.objects("schemas")) == len(all_paths)
    assert len(sim.objects("fieldgroups")) == len(all_paths)
    needs_class = any(RESOURCES[p].needs_custom_class for p in all_paths)
    assert len(sim.objects("classes")) == (1 if needs_class else 0)

    flows = {f["id"]: f for f in sim.objects("flows")}
    for tenant_id, paths in tenants.items():
        tenant, items = store.tenant_items(tenant_id)
        assert tenant is not None and tenant["status"] == "ACTIVE"
        assert tenant["base_connection_id"] in {c["id"] for c in sim.objects("connections")}
        assert sorted(i["resource_path"] for i in items) == sorted(paths)
        for item in items:
            assert item["status"] == "ACTIVE"
            for kind, attr in PER_PATH:
                ids = {o["id"] for o in sim.objects(kind)}
                assert item[attr] in ids, (tenant_id, item["resource_path"], attr)
            flow = flows[item["flow_id"]]
            assert flow["sourceConnectionIds"] == [item["source_connection_id"]]
            assert flow["targetConnectionIds"] == [item["target_connection_id"]]
            assert flow["transformations"][0]["params"]["mappingId"] == item["mapping_set_id"]
            assert not any(k.endswith("_intent") for k in item), "an unfinished intent was left behind"


PATHS = ["charges", "refunds"]


def run(stack: LocalStack, state_machine: str, payload: dict[str, Any], name: str) -> dict[str, Any]:
    """Start an execution and wait for it; returns DescribeExecution."""
    return stack.wait(stack.start_execution(state_machine, payload, name=name), timeout_s=120)


def provision_tenant(stack: LocalStack, tenant_id: str, paths: list[str] = PATHS, name: str | None = None) -> None:
    """Provision the tenant through ProvisionStateMachine; fails the test unless SUCCEEDED."""
    described = run(
        stack,
        "ProvisionStateMachine",
        {"tenantId": tenant_id, "resourcePaths": paths, "schedule": {"frequency": "hour", "interval": 1}},
        name or f"provision-{tenant_id}",
    )
    assert described["status"] == "SUCCEEDED", described.get("cause")


def table_store(stack: LocalStack) -> Store:
    """The application's DynamoDB table, reached at the stack's AWS endpoint."""
    name = stack.environment["TABLE_NAME"]
    resource = boto3.resource(
        "dynamodb",
        endpoint_url=stack.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return Store(name, table=resource.Table(name))


def platform_client(stack: LocalStack, sandbox: str | None = None) -> PlatformClient:
    """A Platform client of the test itself (an operator acting beside the provisioner)."""
    env = stack.environment
    return PlatformClient(
        PlatformSettings(
            platform_url=env["PLATFORM_URL"],
            ims_url=env["IMS_URL"],
            sandbox=sandbox or env.get("DEFAULT_SANDBOX", "prod"),
        ),
        ImsCredential.model_validate(dict(stack.adobe_credential)),
    )


def flows_by_name(stack: LocalStack) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in stack.simulator.objects("flows")}


def statuses(stack: LocalStack, operation: str) -> list[int]:
    """Statuses the simulator answered to ``operation``, in order."""
    return [r.status for r in stack.simulator.requests if r.operation == operation]


# ---- a Platform client beside the provisioner ------------------------------------------------------------

START = 1767225600  # 2026-01-01T00:00:00Z, epoch seconds


def only(sim: Any, kind: str) -> dict[str, Any]:
    objects = sim.objects(kind)
    assert len(objects) == 1, objects
    return objects[0]


def create_tutorial_chain(client: PlatformClient, sim: Any) -> dict[str, str]:
    """The whole tutorial chain for charges; returns the ids."""
    tenant = client.get_tenant_id()
    base = client.create_base_connection("stripe-aep/acme/base", SecretStr(FAKE_STRIPE_KEY))
    source = client.create_source_connection("stripe-aep/acme/charges/source", base.id, "charges")
    group = client.create_field_group(field_group_body(tenant))
    schema = client.create_schema(schema_body(group.id))
    dataset_id = client.create_dataset("stripe-aep acme charges", schema.id)
    target = client.create_target_connection("stripe-aep/acme/charges/target", schema.id, dataset_id)
    mapping = client.create_mapping_set(mapping_set_body(tenant, schema.id))
    flow = client.create_flow(
        "stripe-aep/acme/charges/flow",
        source.id,
        target.id,
        mapping.id,
        mapping.version,
        Schedule(start_time=START, frequency="hour", interval=1),
    )
    return {
        "tenant": tenant,
        "base": base.id,
        "source": source.id,
        "group": group.id,
        "group_alt": group.alt_id,
        "schema": schema.id,
        "schema_alt": schema.alt_id,
        "dataset": dataset_id,
        "target": target.id,
        "mapping": mapping.id,
        "flow": flow.id,
    }


# ---- the operator CLI ----------------------------------------------------------------------------------

CLI = [sys.executable, "-m", "stripe_aep_cli"]
# The fake credential the local stack seeds in the Adobe credential secret (local.stack.AdobeCredential).
ADOBE = {"client_id": "local-client-id", "client_secret": "local-client-secret"}
ADOBE_ORG = "LOCAL0000000000000000000@AdobeOrg"


class Running:
    """The `local up` process: its stack file, and boto3 clients bound to its moto."""

    def __init__(self, stack_file: Path) -> None:
        self.stack_file = stack_file
        self.document: dict[str, Any] = json.loads(stack_file.read_text())
        self.outputs: dict[str, str] = self.document["outputs"]

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.document["awsEndpoint"],
            region_name=self.document["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def item(self, sk: str, tenant_id: str) -> dict[str, Any] | None:
        found = self.client("dynamodb").get_item(
            TableName=self.outputs["TableName"],
            Key={"pk": {"S": f"TENANT#{tenant_id}"}, "sk": {"S": sk}},
            ConsistentRead=True,
        )
        return found.get("Item")

    def executions(self, kind: str) -> list[dict[str, Any]]:
        arn = self.outputs[f"{kind}StateMachineArn"]
        return list(self.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"])

    def aep_flow(self, flow_id: str) -> dict[str, Any]:
        """GET /flows/{id} on the simulator, authenticated as the provisioner is."""
        answer = self.aep_get(f"/data/foundation/flowservice/flows/{flow_id}")
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        return body["items"][0] if "items" in body else body

    def aep_get(self, path: str) -> requests.Response:
        """GET a Platform API path on the simulator, authenticated as the provisioner is."""
        base = self.document["simulatorUrl"].rstrip("/")
        token = requests.post(
            f"{base}/ims/token/v3",
            data={"grant_type": "client_credentials", **ADOBE, "scope": "openid"},
            timeout=10,
        ).json()["access_token"]
        return requests.get(
            f"{base}{path}",
            headers={
                "Authorization": f"Bearer {token}",
                "x-api-key": ADOBE["client_id"],
                "x-gw-ims-org-id": ADOBE_ORG,
                "x-sandbox-name": "prod",
            },
            timeout=10,
        )


def stripe_aep(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None, timeout_s: float = 60
) -> subprocess.CompletedProcess[str]:
    """`stripe-aep ARGS` (this interpreter's `python -m stripe_aep_cli`) in a subprocess, its output captured;
    `env` defaults to this process's environment."""
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [*CLI, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout_s,
        check=False,
    )


def cli(running: Running, *args: str) -> subprocess.CompletedProcess[str]:
    """`stripe-aep --local --stack-file <file> ARGS` in a subprocess (exit code, stdout, stderr)."""
    env = {**os.environ, "COLUMNS": "200"}
    for key in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ):  # only --local routes to moto
        env.pop(key, None)
    return stripe_aep("--local", "--stack-file", str(running.stack_file), *args, env=env, timeout_s=300)


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    """stdout of a `--json` command: exactly one JSON document."""
    return json.loads(result.stdout)


@contextmanager
def local_up(stack_file: Path, *options: str) -> Iterator[tuple[Running, str]]:
    """`stripe-aep --stack-file F local up --background OPTIONS` (exit 0 checked); yields the running stack and
    what `up` printed. Then `local down`, checked: exit 0, it names the process it stopped, the file is gone."""
    up = stripe_aep("--stack-file", str(stack_file), "local", "up", "--background", *options, timeout_s=180)
    assert up.returncode == 0, up.stdout + up.stderr
    started = Running(stack_file)
    try:
        yield started, up.stdout
    finally:
        down = stripe_aep("--stack-file", str(stack_file), "local", "down")
        assert down.returncode == 0, down.stdout + down.stderr
        assert f"pid {started.document['pid']}" in down.stdout
        assert not stack_file.exists()


def alert_queue(stack: LocalStack) -> Callable[[], list[dict[str, Any]]]:
    """Subscribe a new SQS queue to the alert topic; returns a function draining it (decoded notices)."""
    sqs, sns = stack.client("sqs"), stack.client("sns")
    url = sqs.create_queue(QueueName=f"health-alerts-{time.monotonic_ns()}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = stack.functions["HealthCheckFunction"].environment["HEALTH_TOPIC_ARN"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)

    def drain() -> list[dict[str, Any]]:
        notices: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                return notices
            for message in messages:
                envelope = json.loads(message["Body"])
                notices.append({**json.loads(envelope["Message"]), "_subject": envelope.get("Subject")})
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    return drain


CURRENCIES = ("usd", "jpy", "eur", "bhd")


def balance_transactions(n: int, expanded_every: int = 0) -> list[dict[str, Any]]:
    """Stripe balance transactions (shape of Stripe's object): amounts in minor units per currency class, some
    nullable fields null, ids unique, `created` increasing (inserted oldest first, listed newest first); every
    `expanded_every`-th one carries its expandable `source` expanded (an object, not the id)."""
    out = []
    for i in range(n):
        obj = copy.deepcopy(SAMPLES["balance_transactions"])
        amount = 1000 + 37 * i
        fee = 30 + i % 7
        obj.update(
            {
                "id": f"txn_ingest{i:06d}",
                "amount": amount,
                "fee": fee,
                "net": amount - fee,
                "currency": CURRENCIES[i % 4],
                "created": 1767225600 + 60 * i,
                "available_on": 1767225600 + 60 * i + 86400 * 7,
                "description": None if i % 3 == 0 else f"Payout batch {i}",
                "exchange_rate": None if i % 2 else 1.0 + i / 1000,
                "source": (
                    {"id": f"ch_ingest{i:06d}", "object": "charge"}
                    if expanded_every and i % expanded_every == 0
                    else f"ch_ingest{i:06d}"
                ),
            }
        )
        out.append(obj)
    return out
