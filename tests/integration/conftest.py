"""Fixtures of the one-machine stack: the real application on moto and the AEP simulator.

`stack` is a started `local.stack.LocalStack` over the repository's template.yaml, one per test (about 1 s a
start, 4-7 s for the first in a process); `tenant_factory(tenant_id, stripe_key=...)` puts a tenant's Stripe
secret and registers the key in the simulator. After each test the simulator's recorded requests are checked
against Adobe's OpenAPI specs (`tests.contract.openapi_contract.check_requests`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from local.stack import LocalStack

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / ".." / "shared"
DEFAULT_STRIPE_KEY = "sk_test_local_0123456789abcdef"


def _optional_module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _simulator_class() -> Any:
    module = _optional_module("local.aep_simulator")
    return getattr(module, "AepSimulator", None) if module else None


def require_app() -> None:
    """Skip (with the reason) unless the template and the AEP simulator exist."""
    if not (REPO / "template.yaml").is_file():
        pytest.skip(f"{REPO / 'template.yaml'} does not exist yet")
    if _simulator_class() is None:
        pytest.skip("local.aep_simulator.AepSimulator is not importable yet")


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    """A started LocalStack of the repository's template (fresh moto and simulator per test).

    On teardown the requests the simulator received are validated against Adobe's OpenAPI specs.
    """
    require_app()
    with LocalStack(project_root=REPO) as started:
        yield started
        check_contract(started.simulator)


def check_contract(simulator: Any) -> None:
    """`check_requests(simulator.requests)` when the contract module and Adobe's specs are present."""
    contract = _optional_module("tests.contract.openapi_contract")
    if contract is None:
        pytest.skip("tests/contract/openapi_contract.py does not exist yet: requests not checked against specs")
    if not contract.specs_available():
        pytest.skip(contract.SKIP_REASON)
    contract.check_requests(simulator.requests)


TenantFactory = Callable[..., str]


@pytest.fixture
def tenant_factory(stack: LocalStack) -> TenantFactory:
    """`make(tenant_id, stripe_key=DEFAULT_STRIPE_KEY) -> tenant_id`: the tenant's Stripe secret on moto and
    the key registered in the simulator (so explore accepts it)."""

    def make(tenant_id: str, stripe_key: str = DEFAULT_STRIPE_KEY) -> str:
        stack.put_tenant_secret(tenant_id, stripe_key)
        stack.simulator.register_stripe_key(stripe_key)
        return tenant_id

    return make
