"""Fixtures of the unit tests that reach AWS: ``aws`` is moto's in-process DynamoDB (template.yaml's table) and
Secrets Manager (``mock_aws``); ``runtime`` is the ``Runtime`` the steps run on (tests/unit/test_steps_*.py),
built directly over ``aws`` and the AEP simulator (``simulator``, the root conftest's: its requests are checked
against Adobe's OpenAPI specs at teardown). See tests/unit/step_support.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from stripe_aep.runtime import Runtime
from tests.conftest import FAKE_STRIPE_KEY
from tests.unit.step_support import TENANT, Aws, build_aws, build_runtime, template_globals


@pytest.fixture
def aws() -> Iterator[Aws]:
    """moto's DynamoDB (template.yaml's table, empty) and Secrets Manager (the Adobe credential secret)."""
    with mock_aws():
        yield build_aws()


@pytest.fixture
def runtime(aws: Aws, simulator: Any, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    """A ``Runtime`` over ``aws`` and ``simulator``, with tenant ``acme``'s Stripe key in its secret (and known
    to the simulator).

    Powertools Metrics read their namespace from the environment, as in Lambda: template.yaml's value is set.
    """
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", template_globals()["POWERTOOLS_METRICS_NAMESPACE"])
    aws.put_tenant_key(TENANT, FAKE_STRIPE_KEY)
    return build_runtime(aws, simulator.url)
