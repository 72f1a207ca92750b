"""PlatformClient against the AEP simulator over real HTTP: every method, asserting the simulator's state."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs

import pytest
from pydantic import SecretStr, ValidationError

from stripe_aep.aep import NotFoundError, PatchOperation, PlatformClient, Schedule
from stripe_aep.aep.models import DATA_LAKE_CONNECTION_SPEC_ID, STRIPE_CONNECTION_SPEC_ID, STRIPE_FLOW_SPEC_ID
from tests.conftest import FAKE_STRIPE_KEY, SANDBOX
from tests.integration.aep_bodies import mapping_set_body
from tests.integration.support import START, create_tutorial_chain, only


def test_tenant_id_is_read_once(platform_client: PlatformClient, simulator: Any) -> None:
    simulator.tenant_id = "acmecorp"
    assert platform_client.get_tenant_id() == "acmecorp"
    assert platform_client.get_tenant_id() == "acmecorp"
    assert simulator.calls["retrieveStats"] == 1


def test_base_connection_create_get_find_patch_delete(platform_client: PlatformClient, simulator: Any) -> None:
    created = platform_client.create_base_connection("stripe-aep/acme/base", SecretStr(FAKE_STRIPE_KEY), "d")
    stored = only(simulator, "connections")
    assert stored["id"] == created.id
    assert stored["connectionSpec"] == {"id": STRIPE_CONNECTION_SPEC_ID, "version": "1.0"}
    assert stored["auth"]["specName"] == "OAuth2 Refresh Code"
    assert simulator.stripe_key_of(created.id) == FAKE_STRIPE_KEY
    assert created.etag and created.etag.startswith('"')  # kept exactly as Adobe sent it

    got = platform_client.get_base_connection(created.id)
    assert (got.id, got.name, got.etag) == (created.id, "stripe-aep/acme/base", created.etag)
    assert platform_client.find_base_connection("stripe-aep/acme/base") == got
    assert platform_client.find_base_connection("stripe-aep/other/base") is None

    new_key = "sk_test_ROTATED_key_0000000000"
    simulator.register_stripe_key(new_key)
    patched = platform_client.patch_base_connection(
        created.id,
        created.etag,
        [PatchOperation(op="replace", path="/auth/params", value={"accessToken": new_key})],
    )
    assert patched.id == created.id and patched.etag != created.etag
    assert simulator.stripe_key_of(created.id) == new_key
    patch_request = next(r for r in simulator.requests if r.operation == "patchConnection")
    assert patch_request.headers.get("If-Match") == created.etag

    platform_client.delete_base_connection(created.id)
    assert simulator.objects("connections") == []
    with pytest.raises(NotFoundError):
        platform_client.get_base_connection(created.id)


def test_explore_sends_source_params_encoded_once(platform_client: PlatformClient, simulator: Any) -> None:
    base = platform_client.create_base_connection("stripe-aep/acme/base", SecretStr(FAKE_STRIPE_KEY))
    result = platform_client.explore(base.id, "charges", preview=False)
    assert result.format == "hierarchical"
    paths = result.field_paths()
    assert "data.amount" in paths and all(p.startswith("data.") for p in paths)

    request = next(r for r in simulator.requests if r.operation == "getByConnectionId")
    expected = base64.b64encode(b'{"resourcePath":"charges"}').decode()
    assert expected.endswith("=")
    # On the wire: '=' percent-encoded exactly once (the tutorial's %3D), never %253D.
    assert f"sourceParams={expected.replace('=', '%3D')}" in request.query
    assert "%25" not in request.query
    decoded = parse_qs(request.query)
    assert json.loads(base64.b64decode(decoded["sourceParams"][0])) == {"resourcePath": "charges"}
    assert decoded["objectType"] == ["rest"] and decoded["preview"] == ["false"]


def test_explore_preview_returns_records(platform_client: PlatformClient) -> None:
    base = platform_client.create_base_connection("stripe-aep/acme/base", SecretStr(FAKE_STRIPE_KEY))
    result = platform_client.explore(base.id, "customers", preview=True)
    assert result.data, "preview=true answers sample records"


def test_full_chain_creates_every_object(platform_client: PlatformClient, simulator: Any) -> None:
    ids = create_tutorial_chain(platform_client, simulator)

    source = only(simulator, "sourceConnections")
    assert source["baseConnectionId"] == ids["base"] and source["params"] == {"resourcePath": "charges"}
    target = only(simulator, "targetConnections")
    assert target["connectionSpec"]["id"] == DATA_LAKE_CONNECTION_SPEC_ID
    assert target["params"]["dataSetId"] == ids["dataset"]
    assert target["data"]["schema"]["id"] == ids["schema"]
    flow = only(simulator, "flows")
    assert flow["flowSpec"]["id"] == STRIPE_FLOW_SPEC_ID
    assert flow["sourceConnectionIds"] == [ids["source"]] and flow["targetConnectionIds"] == [ids["target"]]
    assert flow["transformations"][0]["params"]["mappingId"] == ids["mapping"]
    assert int(flow["scheduleParams"]["startTime"]) == START
    assert flow["scheduleParams"]["frequency"] == "hour"

    assert platform_client.get_source_connection(ids["source"]).params == {"resourcePath": "charges"}
    assert platform_client.get_target_connection(ids["target"]).id == ids["target"]
    found_source = platform_client.find_source_connection("stripe-aep/acme/charges/source")
    found_target = platform_client.find_target_connection("stripe-aep/acme/charges/target")
    assert found_source is not None and found_source.id == ids["source"]
    assert found_target is not None and found_target.id == ids["target"]
    assert platform_client.find_source_connection("nope") is None
    assert platform_client.find_target_connection("nope") is None

    got = platform_client.get_flow(ids["flow"])
    assert got.source_connection_ids == [ids["source"]] and got.etag
    found_flow = platform_client.find_flow("stripe-aep/acme/charges/flow")
    assert found_flow is not None and found_flow.id == ids["flow"]
    assert platform_client.find_flow("stripe-aep/acme/refunds/flow") is None

    group = platform_client.find_field_group("Stripe charges (test)")
    schema = platform_client.find_schema("Stripe charges schema (test)")
    assert group is not None and group.id == ids["group"]
    assert schema is not None and schema.alt_id == ids["schema_alt"]
    assert platform_client.find_schema("missing") is None
    dataset = platform_client.find_dataset("stripe-aep acme charges")
    assert dataset is not None and dataset.id == ids["dataset"]
    assert platform_client.find_dataset("missing") is None
    mapping = platform_client.get_mapping_set(ids["mapping"])
    assert (mapping.id, mapping.version) == (ids["mapping"], 0)


def test_flow_patch_enable_disable_and_deletes(platform_client: PlatformClient, simulator: Any) -> None:
    ids = create_tutorial_chain(platform_client, simulator)
    flow = platform_client.get_flow(ids["flow"])
    assert flow.etag is not None
    patched = platform_client.patch_flow(
        ids["flow"], flow.etag, [PatchOperation(op="replace", path="/scheduleParams/frequency", value="day")]
    )
    assert patched.etag != flow.etag
    assert only(simulator, "flows")["scheduleParams"]["frequency"] == "day"

    platform_client.disable_flow(ids["flow"])
    assert only(simulator, "flows")["state"] == "disabled"
    platform_client.enable_flow(ids["flow"])
    assert only(simulator, "flows")["state"] == "enabled"
    action = [r for r in simulator.requests if r.operation == "postStateTransition"][-1]
    assert parse_qs(action.query) == {"op": ["ENABLE"]}

    platform_client.delete_flow(ids["flow"])
    platform_client.delete_target_connection(ids["target"])
    platform_client.delete_source_connection(ids["source"])
    platform_client.delete_base_connection(ids["base"])
    platform_client.delete_dataset(ids["dataset"])
    platform_client.delete_schema(ids["schema_alt"])
    platform_client.delete_field_group(ids["group_alt"])
    for kind in ("flows", "targetConnections", "sourceConnections", "connections", "dataSets"):
        assert simulator.objects(kind) == [], kind
    assert simulator.objects("schemas") == [] and simulator.objects("fieldgroups") == []


def test_validate_mapping_set(platform_client: PlatformClient, simulator: Any) -> None:
    ids = create_tutorial_chain(platform_client, simulator)
    platform_client.validate_mapping_set(mapping_set_body(ids["tenant"], ids["schema"]))
    assert simulator.calls["validateMappingSet"] == 1


def test_list_flows_follows_next_links_lazily(platform_client: PlatformClient, simulator: Any) -> None:
    ids = create_tutorial_chain(platform_client, simulator)
    for n in range(6):
        platform_client.create_flow(
            f"stripe-aep/acme/extra{n}/flow",
            ids["source"],
            ids["target"],
            ids["mapping"],
            0,
            Schedule(start_time=START, frequency="day", interval=1),
        )
    before = simulator.calls["listFlows"]
    flows = platform_client.list_flows(properties=[f"flowSpec.id=={STRIPE_FLOW_SPEC_ID}"], limit=2)
    first = next(flows)
    assert simulator.calls["listFlows"] == before + 1  # one page fetched, no more
    names = [first.name, *(f.name for f in flows)]
    assert len(names) == 7 and len(set(names)) == 7
    assert simulator.calls["listFlows"] == before + 4  # 7 items / 2 per page
    pages = [r for r in simulator.requests if r.operation == "listFlows"][-4:]
    assert all("continuationToken" in r.query for r in pages[1:])


def test_list_flow_runs_newest_first_across_pages(platform_client: PlatformClient, simulator: Any) -> None:
    ids = create_tutorial_chain(platform_client, simulator)
    now = simulator.now_ms()
    for minutes, status in ((30, "success"), (20, "failed"), (10, "success")):
        simulator.add_run(ids["flow"], status, started_at_ms=now - minutes * 60_000)
    runs = list(platform_client.list_flow_runs(ids["flow"], limit=2))
    assert [r.status for r in runs] == ["success", "failed", "success"]
    assert all(r.flow_id == ids["flow"] for r in runs)
    created = [r.created_at for r in runs]
    assert created == sorted(created, reverse=True)  # type: ignore[type-var]
    assert simulator.calls["listFlowRuns"] == 2


def test_requests_carry_platform_headers(platform_client: PlatformClient, simulator: Any) -> None:
    create_tutorial_chain(platform_client, simulator)
    platform = [r for r in simulator.requests if r.path.startswith("/data/foundation/")]
    assert platform
    for request in platform:
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert headers["authorization"].startswith("Bearer ")
        assert headers["x-api-key"] == "stripe-aep-test-client"
        assert headers["x-gw-ims-org-id"].endswith("@AdobeOrg")
        assert headers["x-sandbox-name"] == SANDBOX
        if request.body:
            assert headers["content-type"] == "application/json"


def test_request_models_reject_bad_input_before_sending(platform_client: PlatformClient, simulator: Any) -> None:
    with pytest.raises(ValidationError):
        platform_client.create_source_connection("n", "base-id", "Charges; DROP")
    with pytest.raises(ValidationError):
        platform_client.create_base_connection("", SecretStr(FAKE_STRIPE_KEY))
    with pytest.raises(ValueError):
        platform_client.get_flow("../connections/x")
    with pytest.raises(ValidationError):
        platform_client.create_mapping_set({"mappings": []})
    assert sum(simulator.calls.values()) == 0  # nothing sent, not even IMS
