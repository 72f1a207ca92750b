"""Tenant ids that try to escape their place are rejected before any name is built from them.

A tenant id becomes a Secrets Manager name (``{prefix}{tenant}``), a Step Functions execution name and AEP
object names (docs/architecture.md, "Names"). Each gate below must refuse path traversal, wildcards,
over-long ids, Unicode look-alikes, whitespace and uppercase, and must not echo the rejected value back.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from pydantic import ValidationError

from stripe_aep.errors import InputValidationError
from stripe_aep.steps.common import PathStep, SandboxStep, TenantStep
from stripe_aep.tenants import (
    DeprovisionInput,
    LifecycleInput,
    ProvisionInput,
    execution_name,
    parse_input,
    tenant_from_secret_name,
    tenant_secret_name,
    validate_tenant_id,
)

PREFIX = "stripe-aep/tenants/"

BAD_TENANT_IDS: dict[str, str] = {
    "parent traversal": "../other",
    "traversal inside": "acme/../../x",
    "slash": "acme/x",
    "wildcard": "*",
    "wildcard suffix": "acme*",
    "too long (41)": "a" * 41,
    "very long": "a" * 5000,
    "cyrillic a look-alike": "\u0430cme",  # Cyrillic small a
    "fullwidth letters": "\uff41\uff43\uff4d\uff45",  # fullwidth "acme"
    "empty": "",
    "trailing newline": "acme\n",
    "leading space": " acme",
    "uppercase": "Acme",
    "too short": "ab",
    "leading hyphen": "-acme",
    "trailing hyphen": "acme-",
    "underscore": "ac_me",
    "dot": "ac.me",
    "null byte": "acme\x00",
    "arn-like": "arn:aws:secretsmanager:x",
}
GOOD_TENANT_IDS = ["acme", "globex-2", "a1b", "a" * 40, "0-9"]

bad_ids = pytest.mark.parametrize("tenant_id", list(BAD_TENANT_IDS.values()), ids=list(BAD_TENANT_IDS))


@pytest.mark.parametrize("tenant_id", GOOD_TENANT_IDS)
def test_valid_tenant_ids_pass_every_gate(tenant_id: str) -> None:
    assert validate_tenant_id(tenant_id) == tenant_id
    assert ProvisionInput.model_validate({"tenantId": tenant_id}).tenantId == tenant_id
    assert tenant_secret_name(PREFIX, tenant_id) == f"{PREFIX}{tenant_id}"
    name = execution_name("deprovision", tenant_id, {"tenantId": tenant_id})
    assert name.startswith(f"deprovision-{tenant_id}-")
    assert len(name) <= 80  # Step Functions' limit on execution names


@bad_ids
def test_validate_tenant_id_rejects(tenant_id: str) -> None:
    with pytest.raises(ValueError, match="tenant id must be"):
        validate_tenant_id(tenant_id)


@bad_ids
@pytest.mark.parametrize(
    "model, extra",
    [
        (ProvisionInput, {}),
        (DeprovisionInput, {}),
        (LifecycleInput, {"operation": "disable"}),
    ],
    ids=["provision", "deprovision", "lifecycle"],
)
def test_console_input_models_reject(tenant_id: str, model: type[Any], extra: dict[str, Any]) -> None:
    data = {"tenantId": tenant_id, **extra}
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    assert [e["loc"] for e in caught.value.errors()] == [("tenantId",)]
    with pytest.raises(InputValidationError) as reported:
        parse_input(model, data)
    assert "tenantId" in str(reported.value)
    if len(tenant_id) >= 3:  # the rejected value is not echoed into logs or a Cause
        assert tenant_id not in str(reported.value)


@bad_ids
@pytest.mark.parametrize("model", [TenantStep, SandboxStep, PathStep])
def test_step_input_models_reject(tenant_id: str, model: type[Any]) -> None:
    """Every step (and so every AEP name it builds) starts from a validated tenant id."""
    with pytest.raises(ValidationError):
        model.model_validate({"tenantId": tenant_id, "sandbox": "prod", "resourcePath": "charges"})


@bad_ids
def test_tenant_secret_name_rejects(tenant_id: str) -> None:
    with pytest.raises(ValueError, match="tenant id must be"):
        tenant_secret_name(PREFIX, tenant_id)


@bad_ids
def test_execution_name_rejects(tenant_id: str) -> None:
    with pytest.raises(ValueError, match="tenant id must be"):
        execution_name("provision", tenant_id, {"tenantId": tenant_id})


@bad_ids
def test_secret_names_of_bad_tenants_are_not_tenant_secrets(tenant_id: str) -> None:
    assert tenant_from_secret_name(PREFIX, f"{PREFIX}{tenant_id}") is None


# ---- the starter's event planning --------------------------------------------------------------------------
@pytest.fixture
def trigger(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """``stripe_aep.steps.trigger`` with its environment set (``TriggerSettings.from_env()`` reads it)."""
    for key, value in {
        "PROVISION_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:provision",
        "DEPROVISION_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:deprovision",
        "LIFECYCLE_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:lifecycle",
        "TENANT_SECRET_PREFIX": PREFIX,
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    yield importlib.import_module("stripe_aep.steps.trigger")


def _event(source: str, detail_type: str, detail: dict[str, Any]) -> Any:
    from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

    return EventBridgeModel.model_validate(
        {
            "version": "0",
            "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": detail_type,
            "source": source,
            "account": "123456789012",
            "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": detail,
        }
    )


def _no_names_built(monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> list[Any]:
    built: list[Any] = []
    original = module.execution_name

    def spy(*args: Any) -> str:
        built.append(args)
        return str(original(*args))

    monkeypatch.setattr(module, "execution_name", spy)
    return built


@bad_ids
@pytest.mark.parametrize("detail_type", ["Tenant Signed Up", "Tenant Deleted"])
def test_plan_start_rejects_platform_events(
    tenant_id: str, detail_type: str, trigger: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = _no_names_built(monkeypatch, trigger)
    event = _event("saas.platform", detail_type, {"tenantId": tenant_id})
    with pytest.raises(InputValidationError) as caught:
        trigger.plan_start(event, trigger.TriggerSettings.from_env())
    assert "tenantId" in str(caught.value)
    assert built == []


@bad_ids
def test_plan_start_rejects_secret_changes_outside_tenant_secrets(
    tenant_id: str, trigger: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = _no_names_built(monkeypatch, trigger)
    secret_id = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{PREFIX}{tenant_id}-AbCdEf"
    event = _event(
        "aws.secretsmanager",
        "AWS API Call via CloudTrail",
        {"eventName": "PutSecretValue", "requestParameters": {"secretId": secret_id}},
    )
    with pytest.raises(InputValidationError):
        trigger.plan_start(event, trigger.TriggerSettings.from_env())
    assert built == []


def test_plan_start_accepts_a_valid_signup(trigger: ModuleType) -> None:
    """The control case: the same event with a valid tenant id plans a provision execution."""
    event = _event("saas.platform", "Tenant Signed Up", {"tenantId": "acme", "resourcePaths": ["charges"]})
    arn, name, payload = trigger.plan_start(event, trigger.TriggerSettings.from_env())
    assert arn.endswith(":provision")
    assert name == execution_name("provision", "acme", {"event": event.id})
    assert json.loads(json.dumps(payload)) == {"tenantId": "acme", "resourcePaths": ["charges"]}
