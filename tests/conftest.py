"""Root fixtures: the AEP simulator, a fake IMS credential, a PlatformClient against the simulator, and the
contract check of every request a simulator received against Adobe's OpenAPI specs.

`simulator` is function-scoped (a start is a socket bind and a thread). After each test that used it, its
recorded requests go through `tests.contract.openapi_contract.check_requests`; a violation fails the test (at
teardown). The session total is printed by `pytest_terminal_summary`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from stripe_aep.aep import ImsCredential, PlatformClient, PlatformSettings, clear_token_cache
from tests.contract import openapi_contract

# Recognisable fake secrets: tests grep logs and error texts for them.
FAKE_CLIENT_ID = "stripe-aep-test-client"
FAKE_CLIENT_SECRET = "p8e-FAKE-IMS-CLIENT-SECRET-do-not-leak-4f1c"
FAKE_IMS_ORG = "0123456789ABCDEF01234567@AdobeOrg"
FAKE_STRIPE_KEY = "sk_test_FAKE_STRIPE_KEY_do_not_leak_51Hq9"
SANDBOX = "prod"


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    """IMS tokens are cached per process; each test starts without one."""
    clear_token_cache()
    yield
    clear_token_cache()


@pytest.fixture
def simulator() -> Iterator[Any]:
    """A started AepSimulator with the fake IMS client and the fake Stripe key registered.

    Teardown validates every recorded request against Adobe's OpenAPI specs (skipped without ../shared).
    """
    try:
        from local.aep_simulator import AepSimulator
    except ImportError as exc:  # the simulator is built by another engineer
        pytest.skip(f"local.aep_simulator is not importable: {exc}")
    with AepSimulator() as sim:
        sim.register_client(FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, FAKE_IMS_ORG)
        sim.register_stripe_key(FAKE_STRIPE_KEY)
        yield sim
        if openapi_contract.specs_available():
            openapi_contract.check_requests(sim.requests)


@pytest.fixture
def credential() -> ImsCredential:
    return ImsCredential(client_id=FAKE_CLIENT_ID, client_secret=SecretStr(FAKE_CLIENT_SECRET), ims_org=FAKE_IMS_ORG)


def fast_settings(url: str, **overrides: Any) -> PlatformSettings:
    """Settings against a simulator with test-speed backoff (milliseconds, not seconds)."""
    values: dict[str, Any] = {
        "platform_url": url,
        "ims_url": url,
        "sandbox": SANDBOX,
        "connect_timeout_s": 2.0,
        "read_timeout_s": 5.0,
        "retry_backoff_factor_s": 0.01,
        "retry_backoff_max_s": 0.05,
        "retry_backoff_jitter_s": 0.01,
        "retry_after_max_s": 1,
        "retry_total_wait_max_s": 3.0,
    }
    values.update(overrides)
    return PlatformSettings(**values)


@pytest.fixture
def platform_client(simulator: Any, credential: ImsCredential) -> Iterator[PlatformClient]:
    """A PlatformClient against the simulator with fast retry backoff."""
    client = PlatformClient(fast_settings(simulator.url), credential)
    yield client
    client.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if openapi_contract.specs_available():
        terminalreporter.write_line(openapi_contract.summary_line())
        for name, count in sorted(openapi_contract.tolerated_seen.items()):
            terminalreporter.write_line(f"contract: tolerated ({count}x): {name}")
    else:
        terminalreporter.write_line(f"contract: not checked: {openapi_contract.SKIP_REASON}")


def pytest_collection_modifyitems(items: list[Any]) -> None:
    """Spawn the session's DynamoDB Local (JVM warm-up: 2-20 s) while the unit tests run, when any local-stack
    test was collected; the first stack waits for it, the process's exit stops it."""
    if any("integration" in item.path.parts for item in items):
        try:
            from local.stack import dynamodb_local

            dynamodb_local.shared()
        except Exception as exc:
            print(f"DynamoDB Local not spawned: {exc}")


#: The steering repo's shared folder (Adobe's specs, Stripe's fixtures), beside the project checkout.
SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
STRIPE_FIXTURES = SHARED / "stripe-fixtures"


@cache
def stripe_field_summary() -> dict[str, Any]:
    """Stripe's field summary (``stripe-fixtures/schema/field_summary.json``): fields per resource."""
    data: dict[str, Any] = json.loads((STRIPE_FIXTURES / "schema" / "field_summary.json").read_text())
    return data
