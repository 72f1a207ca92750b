"""PlatformClient errors, retries and IMS tokens against the AEP simulator (faults injected there)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
from pydantic import SecretStr

from local.aep_simulator import AepSimulator, Fault
from stripe_aep.aep import (
    AepConnectionError,
    AepValidationError,
    AuthenticationError,
    ConflictError,
    ImsCredential,
    NotFoundError,
    PatchOperation,
    PlatformClient,
    PreconditionFailedError,
    Schedule,
    ThrottledError,
    UpstreamError,
)
from stripe_aep.aep.http import error_from_response
from tests.conftest import FAKE_STRIPE_KEY, fast_settings
from tests.integration.aep_bodies import field_group_body, mapping_set_body
from tests.integration.support import START, create_tutorial_chain


def _base(client: PlatformClient) -> str:
    return client.create_base_connection("stripe-aep/acme/base", SecretStr(FAKE_STRIPE_KEY)).id


# ---- error classes -----


def test_not_found_carries_code_request_id_and_operation(platform_client: PlatformClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        platform_client.get_flow("00000000-0000-0000-0000-000000000000")
    err = caught.value
    assert err.status == 404 and err.operation == "retrieveFlow" and not err.retryable
    assert err.error_code and err.error_code.startswith("FLOW-")
    assert err.request_id
    text = str(err)
    assert "\n" not in text and "retrieveFlow" in text and "404" in text and err.request_id in text


def test_stale_etag_is_precondition_failed(platform_client: PlatformClient, simulator: Any) -> None:
    ids = create_tutorial_chain(platform_client, simulator)
    old = platform_client.get_flow(ids["flow"]).etag
    assert old is not None
    op = [PatchOperation(op="replace", path="/scheduleParams/frequency", value="day")]
    platform_client.patch_flow(ids["flow"], old, op)
    with pytest.raises(PreconditionFailedError) as caught:
        platform_client.patch_flow(ids["flow"], old, op)
    assert caught.value.status == 412 and caught.value.error_code == "FLOW-1404-412"
    assert simulator.calls["patchFlow"] == 2  # PATCH never retried


def test_base_connection_in_use_is_conflict(platform_client: PlatformClient, simulator: Any) -> None:
    ids = create_tutorial_chain(platform_client, simulator)
    with pytest.raises(ConflictError) as caught:
        platform_client.delete_base_connection(ids["base"])
    assert caught.value.status in (400, 409)
    assert len(simulator.objects("connections")) == 1


def test_schema_title_conflict_is_conflict(platform_client: PlatformClient, simulator: Any) -> None:
    ids = create_tutorial_chain(platform_client, simulator)
    with pytest.raises(ConflictError) as caught:
        platform_client.create_field_group(field_group_body(ids["tenant"]))
    assert caught.value.status == 409 and (caught.value.error_code or "").startswith("XDM-")


def test_4xx_validation_has_code_and_detail(platform_client: PlatformClient, simulator: Any) -> None:
    ids = create_tutorial_chain(platform_client, simulator)
    body = mapping_set_body(ids["tenant"], ids["schema"])
    body["mappings"][0]["destination"] = f"_{ids['tenant']}.charges_data.no_such_field"
    with pytest.raises(AepValidationError) as caught:
        platform_client.validate_mapping_set(body)
    err = caught.value
    assert err.status == 400 and err.error_code and "no_such_field" in err.detail
    assert err.operation == "validateMappingSet" and not err.retryable


def test_schedule_rules_are_checked_before_sending() -> None:
    Schedule(start_time=START, frequency="once")
    Schedule(start_time=START, frequency="minute", interval=15)
    for bad in (
        {"frequency": "once", "interval": 1},
        {"frequency": "minute", "interval": 14},
        {"frequency": "hour", "interval": 0},
        {"frequency": "day"},
        {"frequency": "month", "interval": 1},
    ):
        with pytest.raises(ValueError):
            Schedule(start_time=START, **bad)
    with pytest.raises(ValueError, match="milliseconds"):
        Schedule(start_time=START * 1000, frequency="hour", interval=1)


def test_403_bad_api_key_is_authentication_error(simulator: Any, credential: ImsCredential) -> None:
    other = ImsCredential(client_id="other-client", client_secret=SecretStr("other-secret"), ims_org="X@AdobeOrg")
    simulator.register_client("other-client", "other-secret", "X@AdobeOrg")
    client = PlatformClient(fast_settings(simulator.url), other)
    # A token of one client used with another's API key: the gateway answers 403003. The client never sends
    # such a pair, so the request is made by hand and mapped by the client's error mapping.
    token = client.tokens.token()
    response = requests.get(
        f"{simulator.url}/data/foundation/schemaregistry/stats",
        headers={
            "Authorization": f"Bearer {token}",
            "x-api-key": credential.client_id,
            "x-gw-ims-org-id": "X@AdobeOrg",
            "x-sandbox-name": "prod",
        },
        timeout=5,
    )
    err = error_from_response("retrieveStats", response)
    assert isinstance(err, AuthenticationError) and err.error_code == "403003"


# ---- IMS tokens -----


def test_one_ims_call_for_many_platform_calls(platform_client: PlatformClient, simulator: Any) -> None:
    create_tutorial_chain(platform_client, simulator)
    assert simulator.calls["imsToken"] == 1
    other = PlatformClient(fast_settings(simulator.url), platform_client.credential)
    other.get_tenant_id()
    assert simulator.calls["imsToken"] == 1  # cached per process and credential


def test_token_shared_by_threads(platform_client: PlatformClient, simulator: Any) -> None:
    simulator.latency_s = 0.05  # widen the race
    errors: list[BaseException] = []

    def work() -> None:
        try:
            platform_client.find_flow("nothing")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert simulator.calls["imsToken"] == 1 and simulator.calls["listFlows"] == 8


def test_expired_token_refreshed_once_and_call_repeated(platform_client: PlatformClient, simulator: Any) -> None:
    base = _base(platform_client)
    simulator.expire_tokens()
    created = platform_client.create_source_connection("stripe-aep/acme/charges/source", base, "charges")
    assert simulator.calls["imsToken"] == 2
    assert simulator.calls["createSourceConnection"] == 2  # the 401 did nothing; the POST was repeated once
    assert [o["id"] for o in simulator.objects("sourceConnections")] == [created.id]


def test_401_after_refresh_is_authentication_error(platform_client: PlatformClient, simulator: Any) -> None:
    platform_client.get_tenant_id()
    simulator.add_fault(Fault(operation="listFlows", kind="token_expired", times=None))
    with pytest.raises(AuthenticationError) as caught:
        platform_client.find_flow("x")
    assert caught.value.status == 401 and caught.value.error_code == "401013"
    assert simulator.calls["listFlows"] == 2 and simulator.calls["imsToken"] == 2


def test_bad_client_secret_is_authentication_error(simulator: Any) -> None:
    wrong = ImsCredential(client_id="stripe-aep-test-client", client_secret=SecretStr("wrong"), ims_org="O@AdobeOrg")
    client = PlatformClient(fast_settings(simulator.url), wrong)
    with pytest.raises(AuthenticationError) as caught:
        client.get_tenant_id()
    assert caught.value.operation == "ims.token" and caught.value.status == 401
    assert simulator.calls["retrieveStats"] == 0


# ---- retries -----


@pytest.mark.parametrize("kind", ["error500", "error502", "error503", "throttle", "throttle_no_retry_after"])
def test_get_retried_until_success(platform_client: PlatformClient, simulator: Any, kind: str) -> None:
    simulator.add_fault(Fault(operation="listFlows", kind=kind, times=2, retry_after=0))
    assert platform_client.find_flow("x") is None
    assert simulator.calls["listFlows"] == 3


def test_delete_retried_on_reset(platform_client: PlatformClient, simulator: Any) -> None:
    base = _base(platform_client)
    simulator.add_fault(Fault(operation="deleteConnection", kind="reset", times=1))
    platform_client.delete_base_connection(base)
    assert simulator.calls["deleteConnection"] == 2 and simulator.objects("connections") == []


def test_get_gives_up_after_attempt_cap(platform_client: PlatformClient, simulator: Any) -> None:
    simulator.add_fault(Fault(operation="listFlows", kind="error503", times=None))
    with pytest.raises(UpstreamError) as caught:
        platform_client.find_flow("x")
    assert caught.value.status == 503 and caught.value.retryable
    assert simulator.calls["listFlows"] == 5  # default cap: 5 attempts


def test_throttled_get_honours_retry_after_then_raises(simulator: Any, credential: ImsCredential) -> None:
    client = PlatformClient(fast_settings(simulator.url, retry_attempts=2), credential)
    simulator.add_fault(Fault(operation="listFlows", kind="throttle", times=None, retry_after=1))
    with pytest.raises(ThrottledError) as caught:
        client.find_flow("x")
    assert caught.value.retry_after == 1 and caught.value.status == 429
    assert simulator.calls["listFlows"] == 2


def test_total_wait_cap_stops_retries(simulator: Any, credential: ImsCredential) -> None:
    # Retry-After 1 s each time, total wait budget 1 s: one wait, then the 429 is raised.
    client = PlatformClient(fast_settings(simulator.url, retry_attempts=10, retry_total_wait_max_s=1.0), credential)
    simulator.add_fault(Fault(operation="listFlows", kind="throttle", times=None, retry_after=1))
    with pytest.raises(ThrottledError):
        client.find_flow("x")
    assert simulator.calls["listFlows"] == 2


@pytest.mark.parametrize("kind", ["throttle", "error503", "reset"])
def test_post_never_retried(platform_client: PlatformClient, simulator: Any, kind: str) -> None:
    platform_client.get_tenant_id()
    simulator.add_fault(Fault(operation="createConnection", kind=kind, times=1, retry_after=3))
    expected = {"throttle": ThrottledError, "error503": UpstreamError, "reset": AepConnectionError}[kind]
    with pytest.raises(expected) as caught:
        _base(platform_client)
    assert simulator.calls["createConnection"] == 1
    assert simulator.objects("connections") == []
    if kind == "throttle":
        assert caught.value.retry_after == 3  # type: ignore[attr-defined]


def test_post_reset_after_commit_is_connection_error(platform_client: PlatformClient, simulator: Any) -> None:
    platform_client.get_tenant_id()
    simulator.add_fault(Fault(operation="createConnection", kind="reset_after_commit", times=1))
    with pytest.raises(AepConnectionError) as caught:
        _base(platform_client)
    assert caught.value.retryable and caught.value.status is None
    # Adobe did the work: the step's find-by-name recovers it instead of creating a duplicate.
    assert len(simulator.objects("connections")) == 1
    assert platform_client.find_base_connection("stripe-aep/acme/base") is not None


def test_read_timeout_is_connection_error(simulator: Any, credential: ImsCredential) -> None:
    client = PlatformClient(fast_settings(simulator.url, read_timeout_s=0.2, retry_attempts=1), credential)
    client.get_tenant_id()
    simulator.add_fault(Fault(operation="listFlows", kind="latency", latency_s=0.6, times=1))
    with pytest.raises(AepConnectionError) as caught:
        client.find_flow("x")
    assert caught.value.operation == "listFlows"


def test_connection_refused_is_connection_error(credential: ImsCredential) -> None:
    with AepSimulator() as sim:
        url = sim.url
    client = PlatformClient(fast_settings(url, retry_attempts=2), credential)
    with pytest.raises(AepConnectionError):
        client.get_tenant_id()


def test_plain_http_refused_for_non_loopback_hosts() -> None:
    with pytest.raises(ValueError, match="https"):
        fast_settings("http://platform.adobe.io")
    with pytest.raises(ValueError):
        fast_settings("ftp://127.0.0.1")
    assert fast_settings("http://[::1]:8080").platform_url == "http://[::1]:8080"
    assert fast_settings("https://platform.adobe.io/").platform_url == "https://platform.adobe.io"
