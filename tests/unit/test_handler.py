"""The Lambda handlers' wiring: every functions/*/app.py names a step or factory that exists, and a handler built at
cold start validates its settings and its step's input on the first event (``stripe_aep.handler``)."""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from stripe_aep.errors import InputValidationError
from stripe_aep.handler import resolve_step, step_handler

REPO = Path(__file__).resolve().parents[2]
APPS = sorted((REPO / "functions").glob("*/app.py"))
#: What the environment of a Lambda holds besides the function's variables (the runtime's credentials).
LAMBDA_CREDENTIALS = {"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_SESSION_TOKEN": "tok"}
GLOBALS = {"TABLE_NAME": "table", "ADOBE_CREDENTIAL_SECRET": "adobe"}


@dataclass
class Context:
    """The attributes of Lambda's context object that Powertools' ``inject_lambda_context`` reads."""

    function_name: str = "fn"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:fn"
    aws_request_id: str = "req-1"


def _wiring(app: Path) -> tuple[str, str]:
    """``(wrapper, argument)`` of the app's ``lambda_handler = wrapper("argument")``."""
    tree = ast.parse(app.read_text())
    assigned = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    call = assigned["lambda_handler"]
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name), app
    argument = call.args[0]
    assert isinstance(argument, ast.Constant) and isinstance(argument.value, str), app
    return call.func.id, argument.value


def test_there_are_handlers() -> None:
    assert len(APPS) > 20


@pytest.mark.parametrize("app", APPS, ids=lambda p: p.parent.name)
def test_every_handler_names_a_step_or_factory_that_exists(app: Path) -> None:
    wrapper, argument = _wiring(app)
    if wrapper == "step_handler":
        step, model = resolve_step(argument)
        assert step.__name__ == app.parent.name
        assert issubclass(model, BaseModel)
    else:
        assert wrapper == "deferred_handler"
        module, _, name = argument.partition(":")
        assert callable(getattr(importlib.import_module(module), name))


def test_a_misconfigured_step_fails_every_event_naming_the_variable_not_its_value() -> None:
    handler = step_handler("provision.create_base_connection", env={**LAMBDA_CREDENTIALS, "TABLE_NAME": "table"})
    for _ in range(2):  # not only the first event: the settings are validated again
        with pytest.raises(ValidationError) as caught:
            handler({"tenantId": "acme"}, Context())
        assert [e["loc"] for e in caught.value.errors()] == [("adobe_credential_secret",)]
        assert all(secret not in str(caught.value) for secret in LAMBDA_CREDENTIALS.values())


def test_a_configured_step_refuses_an_event_its_input_model_rejects() -> None:
    handler = step_handler("provision.create_base_connection", env={**LAMBDA_CREDENTIALS, **GLOBALS})
    with pytest.raises(InputValidationError, match=r"invalid SandboxStep: tenantId: tenant id must be"):
        handler({"tenantId": "Not A Tenant", "sandbox": "prod", "executionName": "x"}, Context())
