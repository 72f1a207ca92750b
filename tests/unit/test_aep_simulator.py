"""Tests of the AEP simulator itself, over raw HTTP with `requests` (no project client involved)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from local.aep_simulator import AepSimulator, Fault
from tests.unit.simulator_support import (
    CATALOG,
    CLIENT_ID,
    CLIENT_SECRET,
    CONVERSION,
    FLOW,
    FLOW_SPEC,
    IMS_ORG,
    LAKE_SPEC,
    SANDBOX,
    STRIPE_KEY,
    STRIPE_SPEC,
    XDM,
    Api,
    explore,
    source_params,
    token,
)


@pytest.fixture
def sim() -> Iterator[AepSimulator]:
    with AepSimulator(seed=0) as simulator:
        simulator.register_client(CLIENT_ID, CLIENT_SECRET, IMS_ORG)
        simulator.register_stripe_key(STRIPE_KEY)
        yield simulator


@pytest.fixture
def api(sim: AepSimulator) -> Api:
    return Api(sim)


def test_ims_issues_token_in_seconds_and_rejects_bad_clients(sim: AepSimulator) -> None:
    good = token(sim)
    assert good.status_code == 200
    assert good.json()["token_type"] == "bearer"
    assert good.json()["expires_in"] == 86399
    unknown = token(sim, client_id="nobody")
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "invalid_client"
    wrong_secret = token(sim, secret="wrong")
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"] == "invalid_client"
    assert CLIENT_SECRET not in wrong_secret.text
    assert sim.calls["imsToken"] == 3


def test_gateway_rejects_each_missing_or_bad_header(api: Api) -> None:
    path = f"{FLOW}/connections"
    cases = [
        ({"Authorization": "Bearer not-a-token"}, 401, "401013"),
        ({"x-api-key": "someone-else"}, 403, "403003"),
        ({"x-gw-ims-org-id": ""}, 400, "400003"),
    ]
    for override, status, code in cases:
        response = api.call("GET", path, headers=override)
        assert response.status_code == status, override
        assert response.json()["error_code"] == code
        assert response.json()["request-id"] == response.headers["x-request-id"]
    no_auth = {k: v for k, v in api.headers.items() if k != "Authorization"}
    response = requests.get(f"{api.sim.url}{path}", headers=no_auth, timeout=5)
    assert response.status_code == 401


def test_expired_tokens_and_ttl(sim: AepSimulator, api: Api) -> None:
    assert api.call("GET", f"{FLOW}/flows").status_code == 200
    sim.expire_tokens()
    response = api.call("GET", f"{FLOW}/flows")
    assert response.status_code == 401
    assert response.json()["error_code"] == "401013"
    fresh = Api(sim)
    assert fresh.call("GET", f"{FLOW}/flows").status_code == 200
    sim.token_ttl_s = 60
    short = Api(sim)
    sim.advance(61)
    assert short.call("GET", f"{FLOW}/flows").status_code == 401


def test_body_without_json_content_type_is_refused(api: Api) -> None:
    response = api.call("POST", f"{CATALOG}/dataSets", headers={"Content-Type": "text/plain"}, data=b'{"name": "x"}')
    assert response.status_code == 415
    assert api.sim.objects("dataSets") == []


# --- Flow Service objects -----------------------------------------------------------------------------------


def test_base_connection_create_get_find_masks_the_key(sim: AepSimulator, api: Api) -> None:
    created = api.base_connection(name="stripe-aep/acme/base")
    assert created["etag"].startswith('"') and created["etag"].endswith('"')
    got = api.call("GET", f"{FLOW}/connections/{created['id']}")
    item = got.json()["items"][0]
    assert item["name"] == "stripe-aep/acme/base"
    assert STRIPE_KEY not in got.text
    assert sim.stripe_key_of(created["id"]) == STRIPE_KEY
    found = api.call("GET", f"{FLOW}/connections", params={"property": "name==stripe-aep/acme/base"})
    assert [i["id"] for i in found.json()["items"]] == [created["id"]]
    none = api.call("GET", f"{FLOW}/connections", params={"property": "name==other"})
    assert none.json()["items"] == []
    missing = api.call("GET", f"{FLOW}/connections/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("FLOW-1439-404")
    assert missing.json()["report"]["request-id"] == missing.headers["x-request-id"]
    assert STRIPE_KEY not in json.dumps(sim.objects("connections"))


def test_create_validations(api: Api) -> None:
    base = api.base_connection()
    bad_path = api.call(
        "POST",
        f"{FLOW}/sourceConnections",
        {
            "name": "s",
            "baseConnectionId": base["id"],
            "connectionSpec": STRIPE_SPEC,
            "data": {"format": "json"},
            "params": {"resourcePath": "invoices"},
        },
    )
    assert bad_path.status_code == 400
    no_base = api.call(
        "POST",
        f"{FLOW}/sourceConnections",
        {
            "name": "s",
            "baseConnectionId": "missing",
            "connectionSpec": STRIPE_SPEC,
            "data": {"format": "json"},
            "params": {"resourcePath": "charges"},
        },
    )
    assert no_base.status_code == 400
    bad_target = api.call(
        "POST",
        f"{FLOW}/targetConnections",
        {
            "name": "t",
            "connectionSpec": LAKE_SPEC,
            "data": {
                "format": "parquet_xdm",
                "schema": {"id": "https://ns.adobe.com/x/schemas/none", "version": "v"},
            },
            "params": {"dataSetId": "nope"},
        },
    )
    assert bad_target.status_code == 400
    assert api.sim.objects("sourceConnections") == []
    assert api.sim.objects("targetConnections") == []


@pytest.mark.parametrize(
    ("schedule", "status"),
    [
        ({"startTime": 1767225600, "frequency": "once"}, 201),
        ({"startTime": "1767225600", "frequency": "minute", "interval": "15"}, 201),
        ({"startTime": 1767225600, "frequency": "minute", "interval": 14}, 400),
        ({"startTime": 1767225600, "frequency": "once", "interval": 1}, 400),
        ({"startTime": 1767225600, "frequency": "day", "interval": 0}, 400),
        ({"startTime": 1767225600, "frequency": "month", "interval": 1}, 400),
    ],
)
def test_flow_schedule_rules(api: Api, schedule: dict[str, Any], status: int) -> None:
    ids = api.dataflow()
    body = api.flow_body("other", ids["source"], ids["target"], _mapping_of(api.sim, ids["flow"]), schedule)
    response = api.call("POST", f"{FLOW}/flows", body)
    assert response.status_code == status, response.text
    assert len(api.sim.objects("flows")) == (2 if status == 201 else 1)


def _mapping_of(sim: AepSimulator, flow_id: str) -> str:
    flow = next(f for f in sim.objects("flows") if f["id"] == flow_id)
    return str(flow["transformations"][0]["params"]["mappingId"])


def test_flow_refs_must_exist_and_flows_are_enabled(api: Api) -> None:
    ids = api.dataflow()
    flow = api.call("GET", f"{FLOW}/flows/{ids['flow']}").json()["items"][0]
    assert flow["state"] == "enabled"
    body = api.flow_body("f2", "missing-source", ids["target"], _mapping_of(api.sim, ids["flow"]))
    assert api.call("POST", f"{FLOW}/flows", body).status_code == 400
    body = api.flow_body("f3", ids["source"], ids["target"], "missing-mapping")
    assert api.call("POST", f"{FLOW}/flows", body).status_code == 400
    assert len(api.sim.objects("flows")) == 1


def test_patch_requires_current_if_match_and_changes_etag(api: Api) -> None:
    ids = api.dataflow()
    path = f"{FLOW}/flows/{ids['flow']}"
    ops = [{"op": "replace", "path": "/scheduleParams/frequency", "value": "day"}]
    missing = api.call("PATCH", path, ops)
    assert missing.status_code == 400
    stale = api.call("PATCH", path, ops, headers={"If-Match": '"stale"'})
    assert stale.status_code == 412
    assert stale.json()["type"].endswith("FLOW-1404-412")
    unquoted = api.call("PATCH", path, ops, headers={"If-Match": ids["flowEtag"].strip('"')})
    assert unquoted.status_code == 412
    ok = api.call("PATCH", path, ops, headers={"If-Match": ids["flowEtag"]})
    assert ok.status_code == 200, ok.text
    assert ok.json()["etag"] != ids["flowEtag"]
    flow = api.call("GET", path).json()["items"][0]
    assert flow["scheduleParams"]["frequency"] == "day"
    assert flow["etag"] == ok.json()["etag"]
    bad = [{"op": "replace", "path": "/scheduleParams/frequency", "value": "minute"}]  # interval 1 < 15
    rejected = api.call("PATCH", path, bad, headers={"If-Match": flow["etag"]})
    assert rejected.status_code == 400
    assert api.call("GET", path).json()["items"][0]["scheduleParams"]["frequency"] == "day"


def test_patch_base_connection_rotates_the_key(sim: AepSimulator, api: Api) -> None:
    created = api.base_connection()
    new_key = "sk_test_rotated_key_9876"
    ops = [{"op": "replace", "path": "/auth/params", "value": {"accessToken": new_key}}]
    response = api.call("PATCH", f"{FLOW}/connections/{created['id']}", ops, headers={"If-Match": created["etag"]})
    assert response.status_code == 200
    assert sim.stripe_key_of(created["id"]) == new_key
    assert new_key not in api.call("GET", f"{FLOW}/connections/{created['id']}").text


def test_enable_disable(api: Api) -> None:
    ids = api.dataflow()
    response = api.call("POST", f"{FLOW}/flows/{ids['flow']}/action", params={"op": "DISABLE"})
    assert response.status_code == 200
    assert api.call("GET", f"{FLOW}/flows/{ids['flow']}").json()["items"][0]["state"] == "disabled"
    api.call("POST", f"{FLOW}/flows/{ids['flow']}/action", params={"op": "ENABLE"})
    assert api.sim.objects("flows")[0]["state"] == "enabled"
    assert api.call("POST", f"{FLOW}/flows/{ids['flow']}/action", params={"op": "PAUSE"}).status_code == 400


def test_delete_order_rules(api: Api) -> None:
    ids = api.dataflow()
    for path in (f"{FLOW}/sourceConnections/{ids['source']}", f"{FLOW}/targetConnections/{ids['target']}"):
        refused = api.call("DELETE", path)
        assert refused.status_code == 400
        assert refused.json()["type"].endswith("FLOW-1418-400")
    assert api.call("DELETE", f"{CATALOG}/dataSets/{ids['dataset']}").status_code == 409
    assert api.call("DELETE", f"{FLOW}/connections/{ids['base']}").status_code == 400
    assert api.call("DELETE", f"{FLOW}/flows/{ids['flow']}").status_code == 204
    assert api.call("DELETE", f"{FLOW}/flows/{ids['flow']}").status_code == 404
    assert api.call("DELETE", f"{FLOW}/connections/{ids['base']}").status_code == 400  # source still uses it
    assert api.call("DELETE", f"{FLOW}/targetConnections/{ids['target']}").status_code == 204
    assert api.call("DELETE", f"{FLOW}/sourceConnections/{ids['source']}").status_code == 204
    assert api.call("DELETE", f"{FLOW}/connections/{ids['base']}").status_code == 204
    assert api.call("DELETE", f"{XDM}/tenant/fieldgroups/{ids['fieldGroupAltId']}").status_code == 409
    assert api.call("DELETE", f"{XDM}/tenant/schemas/{ids['schemaAltId']}").status_code == 409
    assert api.call("DELETE", f"{CATALOG}/dataSets/{ids['dataset']}").status_code == 200
    assert api.call("DELETE", f"{XDM}/tenant/schemas/{ids['schemaAltId']}").status_code == 204
    assert api.call("DELETE", f"{XDM}/tenant/fieldgroups/{ids['fieldGroupAltId']}").status_code == 204
    for kind in (
        "connections",
        "sourceConnections",
        "targetConnections",
        "flows",
        "schemas",
        "fieldgroups",
        "dataSets",
    ):
        assert api.sim.objects(kind) == [], kind


# --- explore ------------------------------------------------------------------------------------------------


def test_explore_schema_and_preview(api: Api) -> None:
    base = api.base_connection()
    schema = explore(api, base["id"], "false")
    assert schema.status_code == 200, schema.text
    data = schema.json()["schema"]["properties"]["data"]["properties"]
    assert data["amount"]["type"] == "integer"
    assert data["payment_method_details"]["type"] == "object"
    assert len(data) == 45
    preview = explore(api, base["id"], "true")
    rows = preview.json()["data"]
    assert len(rows) >= 2
    assert rows[0]["data"]["object"] == "charge"


def test_explore_rejects_double_encoding_and_revoked_key(sim: AepSimulator, api: Api) -> None:
    base = api.base_connection()
    double = quote(source_params("charges"), safe="")
    assert explore(api, base["id"], "false", double).status_code == 400
    assert explore(api, base["id"], "false", source_params("invoices")).status_code == 400
    sim.revoke_stripe_key(STRIPE_KEY)
    rejected = explore(api, base["id"], "false")
    assert rejected.status_code == 400
    message = rejected.json()["report"]["detailed-message"]
    assert "Stripe rejected" in message
    assert STRIPE_KEY[-4:] in message
    assert STRIPE_KEY not in rejected.text


# --- Schema Registry, Catalog, Data Prep --------------------------------------------------------------------


def test_schema_registry_lookups_and_rules(api: Api) -> None:
    tenant = api.sim.tenant_id
    stats = api.call("GET", f"{XDM}/stats")
    assert stats.json()["tenantId"] == tenant
    xdm = api.schema(title="Stripe charges")
    assert xdm["schema"]["$id"].startswith(f"https://ns.adobe.com/{tenant}/schemas/")
    assert xdm["fieldGroup"]["meta:altId"].startswith(f"_{tenant}.mixins.")
    lookup = api.call(
        "GET",
        f"{XDM}/tenant/schemas",
        params={"property": "title==Stripe charges"},
        headers={"Accept": "application/vnd.adobe.xed-id+json"},
    )
    results = lookup.json()["results"]
    assert results == [{k: xdm["schema"][k] for k in ("$id", "meta:altId", "version", "title")}]
    by_id = api.call("GET", f"{XDM}/tenant/schemas/{quote(xdm['schema']['$id'], safe='')}")
    assert by_id.status_code == 200 and by_id.json()["title"] == "Stripe charges"
    duplicate = api.call(
        "POST",
        f"{XDM}/tenant/schemas",
        {"title": "Stripe charges", "description": "d", "allOf": [{"$ref": EXPERIENCE_EVENT}]},
    )
    assert duplicate.status_code == 409
    no_description = api.call("POST", f"{XDM}/tenant/schemas", {"title": "t2", "allOf": [{"$ref": EXPERIENCE_EVENT}]})
    assert no_description.status_code == 400
    outside_tenant = api.call(
        "POST",
        f"{XDM}/tenant/fieldgroups",
        {"title": "bad", "definitions": {"d": {"properties": {"amount": {"type": "integer"}}}}},
    )
    assert outside_tenant.status_code == 400
    assert outside_tenant.json()["type"].split("/")[-1].startswith("XDM-")
    assert len(api.sim.objects("schemas")) == 1


EXPERIENCE_EVENT = "https://ns.adobe.com/xdm/context/experienceevent"


def test_catalog_datasets(api: Api) -> None:
    xdm = api.schema()
    dataset_id = api.dataset(xdm["schema"]["$id"], name="stripe-aep acme charges")
    found = api.call("GET", f"{CATALOG}/dataSets", params={"name": "stripe-aep acme charges"})
    assert list(found.json()) == [dataset_id]
    assert api.call("GET", f"{CATALOG}/dataSets", params={"name": "none"}).json() == {}
    assert (
        api.call("GET", f"{CATALOG}/dataSets/{dataset_id}").json()[dataset_id]["schemaRef"]["id"]
        == xdm["schema"]["$id"]
    )
    bad = api.call("POST", f"{CATALOG}/dataSets", {"name": "x", "schemaRef": {"id": "https://ns.adobe.com/none"}})
    assert bad.status_code == 400
    assert "description" in bad.json() and "code" in bad.json()
    assert api.call("GET", f"{CATALOG}/dataSets/nope").status_code == 404


def test_mapping_set_destinations_checked(api: Api) -> None:
    tenant = api.sim.tenant_id
    xdm = api.schema()
    schema_id = xdm["schema"]["$id"]
    good = api.mapping_body(schema_id, [f"_{tenant}.charges.amount", "timestamp", "_id"])
    good["mappings"].append(
        {"sourceType": "EXPRESSION", "source": "date(data.created * 1000)", "destination": "timestamp"}
    )
    assert api.call("POST", f"{CONVERSION}/mappingSets/validate", good).status_code == 200
    bad = api.mapping_body(schema_id, [f"_{tenant}.charges.amount", f"_{tenant}.charges.nope"])
    refused = api.call("POST", f"{CONVERSION}/mappingSets", bad)
    assert refused.status_code == 400
    assert f"_{tenant}.charges.nope" in refused.text
    created = api.call("POST", f"{CONVERSION}/mappingSets", good)
    assert created.status_code == 200
    assert created.json()["version"] == 0
    stored = api.call("GET", f"{CONVERSION}/mappingSets/{created.json()['id']}")
    assert len(stored.json()["mappings"]) == 4
    assert len(api.sim.objects("mappingSets")) == 1


# --- lists and runs -----------------------------------------------------------------------------------------


def test_flow_list_filters_and_paginates_over_three_pages(api: Api) -> None:
    ids = api.dataflow(name="flow-0")
    mapping = _mapping_of(api.sim, ids["flow"])
    for i in range(1, 7):
        body = api.flow_body(f"flow-{i}", ids["source"], ids["target"], mapping)
        assert api.call("POST", f"{FLOW}/flows", body).status_code == 201
    seen: list[str] = []
    url: str | None = f"{api.sim.url}{FLOW}/flows?property=flowSpec.id=={FLOW_SPEC['id']}&orderby=-name&limit=3"
    pages = 0
    while url:
        page = api.session.get(url, headers=api.headers, timeout=5).json()
        seen.extend(item["name"] for item in page["items"])
        url = page["_links"].get("next", {}).get("href")
        pages += 1
    assert pages == 3
    assert seen == [f"flow-{i}" for i in range(6, -1, -1)]
    counted = api.call("GET", f"{FLOW}/flows", params={"count": "true"})
    assert counted.json()["count"] == 7
    both = api.call("GET", f"{FLOW}/flows", params=[("property", "name!=flow-1"), ("property", "name!=flow-2")])
    assert len(both.json()["items"]) == 5


def test_runs_order_limit_and_last_run_details(sim: AepSimulator, api: Api) -> None:
    ids = api.dataflow()
    base = 1767225600000
    sim.add_run(ids["flow"], "success", started_at_ms=base, completed_at_ms=base + 1000)
    sim.add_run(
        ids["flow"],
        "failed",
        started_at_ms=base + 7200_000,
        completed_at_ms=base + 7201_000,
        errors=[{"code": "CONNECTOR-1", "message": "boom"}],
    )
    sim.add_run(ids["flow"], "inProgress", started_at_ms=base + 3600_000)
    runs = api.call("GET", f"{FLOW}/runs", params={"property": f"flowId=={ids['flow']}"}).json()["items"]
    assert [r["metrics"]["statusSummary"]["status"] for r in runs] == ["failed", "inProgress", "success"]
    assert runs[0]["metrics"]["statusSummary"]["errors"] == [{"code": "CONNECTOR-1", "message": "boom"}]
    assert "completedAtUTC" not in runs[1]["metrics"]["durationSummary"]
    limited = api.call("GET", f"{FLOW}/runs", params={"property": f"flowId=={ids['flow']}", "limit": 1})
    assert len(limited.json()["items"]) == 1
    flow = api.call("GET", f"{FLOW}/flows/{ids['flow']}").json()["items"][0]
    assert flow["lastRunDetails"]["state"] == "failed"
    assert flow["lastRunDetails"]["startedAtUTC"] == base + 7200_000


def test_generate_runs_follows_the_schedule_and_remove_flow(sim: AepSimulator, api: Api) -> None:
    ids = api.dataflow()  # hourly from 1767225600
    until = 1767225600_000 + 3 * 3600_000
    assert sim.generate_runs(until_ms=until) == 4
    assert sim.generate_runs(until_ms=until) == 0
    sim.remove_flow(ids["flow"])
    assert api.call("GET", f"{FLOW}/flows/{ids['flow']}").status_code == 404


# --- faults, rate cap, concurrency, sandboxes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("throttle", 429),
        ("throttle_no_retry_after", 429),
        ("error500", 500),
        ("error502", 502),
        ("error503", 503),
        ("token_expired", 401),
    ],
)
def test_answering_faults(sim: AepSimulator, api: Api, kind: str, status: int) -> None:
    sim.add_fault(Fault("listFlows", kind, retry_after=7 if kind == "throttle" else None))
    faulted = api.call("GET", f"{FLOW}/flows")
    assert faulted.status_code == status
    if kind == "throttle":
        assert faulted.headers["Retry-After"] == "7"
    if kind == "throttle_no_retry_after":
        assert "Retry-After" not in faulted.headers
    assert api.call("GET", f"{FLOW}/flows").status_code == 200  # times=1
    assert api.call("GET", f"{CATALOG}/dataSets").status_code == 200  # other operations unaffected


def test_fault_nth_and_unlimited(sim: AepSimulator, api: Api) -> None:
    sim.add_fault(Fault(operation="listFlows", kind="error503", nth=2, times=None))
    statuses = [api.call("GET", f"{FLOW}/flows").status_code for _ in range(4)]
    assert statuses == [200, 503, 503, 503]
    sim.clear_faults()
    assert api.call("GET", f"{FLOW}/flows").status_code == 200


def test_fault_rate_is_reproducible() -> None:
    def pattern() -> list[int]:
        with AepSimulator(seed=0) as simulator:
            simulator.add_fault(Fault(operation="imsToken", kind="error500", times=None, rate=0.5))
            return [token(simulator).status_code for _ in range(12)]

    first = pattern()
    assert first == pattern()
    assert 500 in first and 400 in first  # unregistered client -> 400 when no fault fires


def test_reset_drops_without_state_change(sim: AepSimulator, api: Api) -> None:
    sim.add_fault(Fault(operation="createConnection", kind="reset"))
    with pytest.raises(requests.ConnectionError):
        api.base_connection()
    assert sim.objects("connections") == []
    assert sim.requests[-1].status == 0


def test_reset_after_commit_leaves_the_object_created(sim: AepSimulator, api: Api) -> None:
    sim.add_fault(Fault(operation="createConnection", kind="reset_after_commit"))
    with pytest.raises(requests.ConnectionError):
        api.base_connection(name="stripe-aep/acme/base")
    assert [c["name"] for c in sim.objects("connections")] == ["stripe-aep/acme/base"]
    found = api.call("GET", f"{FLOW}/connections", params={"property": "name==stripe-aep/acme/base"})
    assert len(found.json()["items"]) == 1


def test_rate_cap_answers_429_with_retry_after(sim: AepSimulator, api: Api) -> None:
    sim.rate_limit_rps = 2
    statuses = [api.call("GET", f"{FLOW}/flows") for _ in range(6)]
    throttled = [r for r in statuses if r.status_code == 429]
    assert throttled
    assert all(int(r.headers["Retry-After"]) >= 1 for r in throttled)
    sim.rate_limit_rps = None
    assert api.call("GET", f"{FLOW}/flows").status_code == 200


def test_max_in_flight_under_concurrent_slow_calls(sim: AepSimulator, api: Api) -> None:
    sim.add_fault(Fault(operation="listFlows", kind="latency", latency_s=0.5, times=None))
    sim.reset_max_in_flight()
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def call() -> None:
        session_api = Api(sim)
        barrier.wait()
        statuses.append(session_api.call("GET", f"{FLOW}/flows").status_code)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 8
    assert sim.max_in_flight == 8
    assert sim.calls["listFlows"] == 8


def test_sandbox_isolation(sim: AepSimulator, api: Api) -> None:
    created = api.base_connection(name="shared-name")
    dev = Api(sim, sandbox="dev")
    assert dev.call("GET", f"{FLOW}/connections/{created['id']}").status_code == 404
    assert dev.call("GET", f"{FLOW}/connections", params={"property": "name==shared-name"}).json()["items"] == []
    assert dev.call("DELETE", f"{FLOW}/connections/{created['id']}").status_code == 404
    assert len(sim.objects("connections", sandbox=SANDBOX)) == 1
    assert sim.objects("connections", sandbox="dev") == []


def test_requests_are_recorded_with_operation_and_raw_query(sim: AepSimulator, api: Api) -> None:
    sim.requests.clear()
    base = api.base_connection()
    explore(api, base["id"], "false")
    recorded = sim.requests
    assert [r.operation for r in recorded] == ["createConnection", "getByConnectionId"]
    assert "%3D" in recorded[1].query
    assert recorded[0].status == 201
    assert json.loads(recorded[0].body)["name"] == "stripe-aep/acme/base"
