"""No secret leaves the places meant for it, through a whole run of the application on the local stack.

Recognisable fake values are used for the Adobe client secret, each tenant's Stripe key, and the IMS access
tokens the simulator issues (read back from the Authorization headers it received). Two tenants are
provisioned through the signup event path, one provisioning fails on a rejected Stripe key, keys are rotated
(one accepted, one rejected) and a health check runs; then none of them (nor a window of their unique
part) may appear in:
logs (every logging handler's formatted output, the root logger, and stdout/stderr where Powertools writes its
JSON lines and EMF metrics), DynamoDB items, SQS messages (the event queue and its dead-letter queue), or any
execution's input, output or history of any state machine.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from local.stack import AdobeCredential, LocalStack
from tests.integration.conftest import REPO, require_app

# Each secret ends in a unique part; windows of it are searched too (see ``fragments``).
ADOBE_SECRET = "p8e-ADOBE-Zq4Vt7Lk2Hs9Wm3Xn6Rc-clientsecret"
STRIPE_KEYS = {
    "acme": "sk_test_51HygieneAcmeYb7Tq2Pw9Kd4",
    "globex": "sk_test_51HygieneGlobexUe5Rj8Mv3Nc6",
    "initech": "sk_test_51HygieneInitechRejectedGz2Lh7",  # never registered: Stripe rejects it
}
ROTATED_KEYS = {
    "acme": "rk_live_51HygieneRotatedAcmeFs6Jx1Bq8",  # accepted by the simulator
    "globex": "sk_test_51HygieneRotatedGlobexRejectedDw4Ky9",  # rejected: the rotation fails
}


def fragments(secret: str, width: int = 10) -> list[str]:
    """The secret and every ``width``-character window of its unique part (after the shared ``...Hygiene``).

    A window catches a truncated, partly masked or embedded leak (``sk_test_...Tq2Pw9Kd4``) too.
    """
    unique = secret.split("Hygiene", 1)[-1]
    return [secret, *(unique[i : i + width] for i in range(len(unique) - width + 1))]


class LogTap:
    """Every log record any handler formats, and every record's raw attributes, while installed."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        original = logging.Handler.handle
        tap = self

        def handle(handler: logging.Handler, record: logging.LogRecord) -> Any:
            try:
                tap.lines.append(handler.format(record))
            except Exception as exc:  # a record a formatter cannot render is still examined raw
                tap.lines.append(f"unformattable record: {type(exc).__name__}")
            tap.lines.append(repr(record.__dict__))
            return original(handler, record)

        monkeypatch.setattr(logging.Handler, "handle", handle)


@pytest.fixture
def hygiene_stack() -> Iterator[LocalStack]:
    """A LocalStack whose Adobe credential carries the recognisable client secret."""
    require_app()
    stack = LocalStack(project_root=REPO)
    stack.adobe_credential = AdobeCredential(
        client_id="hygiene-client-id",
        client_secret=ADOBE_SECRET,
        ims_org="HYGIENE00000000000000000@AdobeOrg",
        scopes=["openid", "AdobeID", "read_organizations", "additional_info.projectedProductContext"],
    )
    with stack:
        yield stack


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def issued_tokens(stack: LocalStack) -> set[str]:
    """The bearer tokens the simulator received (the IMS access tokens the application used)."""
    tokens = set()
    for request in stack.simulator.requests:
        for name, value in request.headers.items():
            if name.lower() == "authorization" and value.lower().startswith("bearer "):
                tokens.add(value[7:].strip())
    return tokens


def dynamodb_items(stack: LocalStack) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in stack.client("dynamodb").get_paginator("scan").paginate(TableName=stack.outputs["TableName"]):
        items.extend(page["Items"])
    return items


def queue_messages(stack: LocalStack) -> dict[str, list[dict[str, Any]]]:
    """A peek (VisibilityTimeout 0) at every queue: the event queue and its dead-letter queue."""
    sqs = stack.client("sqs")
    found: dict[str, list[dict[str, Any]]] = {}
    for url in sqs.list_queues().get("QueueUrls", []):
        found[url] = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
        ).get("Messages", [])
    return found


def execution_records(stack: LocalStack) -> dict[str, Any]:
    """Every execution of every state machine: DescribeExecution (input, output, cause) and history."""
    sfn = stack.client("stepfunctions")
    records: dict[str, Any] = {}
    for machine in sfn.list_state_machines()["stateMachines"]:
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
            arn = execution["executionArn"]
            records[arn] = {
                "describe": sfn.describe_execution(executionArn=arn),
                "history": stack.history(arn),
            }
    return records


def wait_all(stack: LocalStack, logical_id: str) -> dict[str, str]:
    """Wait for every execution of a state machine; tenant id (from the name) -> final status."""
    sfn = stack.client("stepfunctions")
    arn = stack.state_machine_arn(logical_id)
    outcome = {}
    for execution in sfn.list_executions(stateMachineArn=arn)["executions"]:
        outcome[execution["name"].split("-")[1]] = stack.wait(execution["executionArn"])["status"]
    return outcome


def test_no_secret_leaks_through_a_whole_run(
    hygiene_stack: LocalStack,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    stack = hygiene_stack
    tap = LogTap()
    tap.install(monkeypatch)
    # INFO, as in Lambda (the template's POWERTOOLS_LOG_LEVEL): botocore's DEBUG wire logs would show the
    # test's own PutSecretValue bodies.
    caplog.set_level(logging.INFO)

    # 1. three signups through EventBridge -> SQS -> the starter; one tenant's Stripe key is rejected
    for tenant_id, key in STRIPE_KEYS.items():
        stack.put_tenant_secret(tenant_id, key)
        if tenant_id != "initech":
            stack.simulator.register_stripe_key(key)
        stack.publish_event(
            "Tenant Signed Up",
            {"tenantId": tenant_id, "sandbox": "prod", "resourcePaths": ["charges", "refunds"]},
        )
    stack.drain_queue()
    assert wait_all(stack, "ProvisionStateMachine") == {
        "acme": "SUCCEEDED",
        "globex": "SUCCEEDED",
        "initech": "FAILED",
    }
    secrets_in_play = [ADOBE_SECRET, *STRIPE_KEYS.values()]

    # 2. key rotations: one accepted, one rejected (when the lifecycle steps exist)
    rotated = _has_module("stripe_aep.steps.lifecycle")
    if rotated:
        for tenant_id, key in ROTATED_KEYS.items():
            stack.put_tenant_secret(tenant_id, key)
            if tenant_id == "acme":
                stack.simulator.register_stripe_key(key)
            arn = stack.start_execution(
                "LifecycleStateMachine",
                {"operation": "rotate_key", "tenantId": tenant_id},
                name=f"rotate-key-{tenant_id}-hygiene",
            )
            expected = "SUCCEEDED" if tenant_id == "acme" else "FAILED"
            assert stack.wait(arn)["status"] == expected, tenant_id
        assert stack.simulator.stripe_key_of(_base_connection(stack, "acme")) == ROTATED_KEYS["acme"]
        secrets_in_play += list(ROTATED_KEYS.values())

    # 3. a health-check sweep (when the health step exists)
    if _has_module("stripe_aep.steps.health"):
        summary = stack.invoke("HealthCheckFunction", {})
        assert "errorType" not in summary, summary
        assert summary["checked"] >= 4  # acme's and globex's two dataflows

    tokens = issued_tokens(stack)
    assert tokens, "the simulator recorded no bearer token: the run did not reach Adobe"

    # Positive control: the search below does find a secret where one is meant to be.
    stored = stack.client("secretsmanager").get_secret_value(SecretId="stripe-aep/tenants/initech")
    assert STRIPE_KEYS["initech"] in json.dumps(stored, default=str)

    captured = capfd.readouterr()
    places: dict[str, str] = {
        "log records": "\n".join(tap.lines),
        "root logger": caplog.text + "\n".join(repr(r.__dict__) for r in caplog.records),
        "stdout": captured.out,
        "stderr": captured.err,
        "DynamoDB items": json.dumps(dynamodb_items(stack), default=str),
        "SQS messages": json.dumps(queue_messages(stack), default=str),
        "executions": json.dumps(execution_records(stack), default=str),
    }
    assert places["log records"], "no log record was captured: the tap is not working"
    assert places["executions"].count('"executionArn"') >= 3

    needles = {f"secret #{i}": fragments(s) for i, s in enumerate(secrets_in_play)}
    needles |= {f"IMS token #{i}": [t] for i, t in enumerate(sorted(tokens))}
    leaks = [
        f"{label} in {place}"
        for label, values in needles.items()
        for place, text in places.items()
        if any(value in text for value in values)
    ]
    assert leaks == []


def _base_connection(stack: LocalStack, tenant_id: str) -> str:
    item = stack.client("dynamodb").get_item(
        TableName=stack.outputs["TableName"],
        Key={"pk": {"S": f"TENANT#{tenant_id}"}, "sk": {"S": "TENANT"}},
        ConsistentRead=True,
    )["Item"]
    return str(item["base_connection_id"]["S"])
