"""The client's call observer, which the Lambdas turn into the AdobeCalls / AdobeThrottles / AdobeErrors metrics."""

from __future__ import annotations

from typing import Any

import pytest

from local.aep_simulator import Fault
from stripe_aep.aep import ImsCredential, NotFoundError, PlatformClient
from tests.conftest import fast_settings


def test_observer_sees_each_call_with_its_status_and_the_429s_it_met(simulator: Any, credential: ImsCredential) -> None:
    seen: list[tuple[str, int, int]] = []
    client = PlatformClient(fast_settings(simulator.url), credential, observer=lambda *call: seen.append(call))
    simulator.add_fault(Fault(operation="listFlows", kind="throttle", nth=1, times=2, retry_after=0))

    assert list(client.list_flows()) == []
    with pytest.raises(NotFoundError):
        client.get_flow("00000000-0000-0000-0000-000000000000")

    assert seen == [("listFlows", 200, 2), ("retrieveFlow", 404, 0)]
    assert simulator.calls["listFlows"] == 3  # the two 429s were retried by the HTTP layer
