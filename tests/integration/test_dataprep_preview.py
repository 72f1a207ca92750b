"""Data Prep's previewMappingSet and validateExpression in the simulator, over HTTP, answered by the same
evaluator flow runs use; every request is validated against data-prep.yaml at teardown (root `simulator`
fixture)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from stripe_aep.aep import PlatformClient
from stripe_aep.resources import get_resource
from tests.conftest import FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, FAKE_IMS_ORG, FAKE_STRIPE_KEY, SANDBOX

CONVERSION = "/data/foundation/conversion"


def _headers(url: str) -> dict[str, str]:
    token = requests.post(
        f"{url}/ims/token/v3",
        data={"grant_type": "client_credentials", "client_id": FAKE_CLIENT_ID, "client_secret": FAKE_CLIENT_SECRET},
        timeout=5,
    ).json()["access_token"]
    return {
        "Authorization": f"Bearer {token}",
        "x-api-key": FAKE_CLIENT_ID,
        "x-gw-ims-org-id": FAKE_IMS_ORG,
        "x-sandbox-name": SANDBOX,
        "Content-Type": "application/json",
    }


def _post(url: str, path: str, body: Any) -> requests.Response:
    return requests.post(f"{url}{CONVERSION}{path}", data=json.dumps(body), headers=_headers(url), timeout=10)


@pytest.fixture
def charges(simulator: Any, platform_client: PlatformClient) -> dict[str, Any]:
    """The charges field group + schema the product creates, and explore's preview rows of the account."""
    resource = get_resource("charges")
    tenant = platform_client.get_tenant_id()
    group = platform_client.create_field_group(resource.field_group_body(tenant))
    schema = platform_client.create_schema(resource.schema_body(group.id))
    base = platform_client.create_base_connection("preview/base", FAKE_STRIPE_KEY)  # type: ignore[arg-type]
    rows = platform_client.explore(base.id, "charges", preview=True).data
    return {"tenant": f"_{tenant}", "schema_id": schema.id, "rows": rows}


def _mapping_set(schema_id: str, mappings: list[tuple[str, str, str]]) -> dict[str, Any]:
    return {
        "outputSchema": {
            "schemaRef": {"id": schema_id, "contentType": "application/vnd.adobe.xed-full+json;version=1"}
        },
        "mappings": [{"sourceType": t, "source": s, "destination": d} for t, s, d in mappings],
    }


def test_preview_maps_the_sample_rows_and_names_each_failing_field(simulator: Any, charges: dict[str, Any]) -> None:
    group = f"{charges['tenant']}.stripe_charges"
    mapping_set = _mapping_set(
        charges["schema_id"],
        [
            ("ATTRIBUTE", "data.id", "_id"),
            ("EXPRESSION", "dformat(data.created * 1000, \"yyyy-MM-dd'T'HH:mm:ss.SSSX\")", "timestamp"),
            ("ATTRIBUTE", "data.amount", f"{group}.amount"),
            ("EXPRESSION", "to_integer(data.currency)", f"{group}.amount_refunded"),  # conversion error
            ("ATTRIBUTE", "data.metadata", f"{group}.id"),  # an object into a string field: invalid XDM
        ],
    )
    rows = charges["rows"]
    assert len(rows) == 3

    answer = _post(simulator.url, "/mappingSets/preview", {"data": rows, "mappingSet": mapping_set})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [r["_id"] for r in body["data"]] == [r["data"]["id"] for r in rows]
    assert all(
        r["timestamp"].endswith("Z") and r[charges["tenant"]]["stripe_charges"]["amount"] == 2000 for r in body["data"]
    )
    conversions = [e for e in body["errors"] if e["destination"] == f"{group}.amount_refunded"]
    assert [e["row"] for e in conversions] == [0, 1, 2]
    assert all(e["source"] == "to_integer(data.currency)" and "MAPPER-2001-400" in e["exception"] for e in conversions)
    invalid = [e for e in body["errors"] if e["destination"] == f"{group}.id"]
    assert len(invalid) == 3
    assert all(e["source"] == "data.metadata" and "is not of type 'string'" in e["exception"] for e in invalid)


def test_preview_refuses_an_expression_that_does_not_parse(simulator: Any, charges: dict[str, Any]) -> None:
    mapping_set = _mapping_set(charges["schema_id"], [("EXPRESSION", "upper(data.currency", "_id")])
    answer = _post(simulator.url, "/mappingSets/preview", {"data": charges["rows"], "mappingSet": mapping_set})
    assert answer.status_code == 400
    report = answer.json()["report"]
    assert report["details"][0]["destination"] == "_id"
    assert "MAPPER-1001-400" in report["details"][0]["exception"]


def test_preview_without_an_output_schema_only_maps(simulator: Any) -> None:
    mapping_set = {"mappings": [{"sourceType": "EXPRESSION", "source": "upper(data.c)", "destination": "x.c"}]}
    answer = _post(
        simulator.url, "/mappingSets/preview", {"data": [{"data": {"c": "usd"}}, {}], "mappingSet": mapping_set}
    )
    assert answer.status_code == 200
    assert answer.json() == {"data": [{"x": {"c": "USD"}}, {}], "errors": []}


def test_validate_expression(simulator: Any) -> None:
    ok = _post(simulator.url, "/languages/el/validate", {"expression": 'concat("Hi", ",", "there", "!")'})
    assert (ok.status_code, ok.json()) == (200, True)
    sample = json.dumps({"data": {"created": "yesterday"}})
    bad_data = _post(
        simulator.url, "/languages/el/validate", {"expression": "dformat(data.created, 'yyyy')", "sampleData": sample}
    )
    assert (bad_data.status_code, bad_data.json()) == (200, False)
    good_data = json.dumps({"data": {"created": 1767225600}})
    fine = _post(
        simulator.url,
        "/languages/el/validate",
        {"expression": "dformat(data.created * 1000, 'yyyy')", "sampleData": good_data},
    )
    assert (fine.status_code, fine.json()) == (200, True)
    syntax = _post(simulator.url, "/languages/el/validate", {"expression": "nosuch(1)"})
    assert syntax.status_code == 400
    assert "unknown function 'nosuch'" in syntax.json()["report"]["detailed-message"]
    assert simulator.calls["validateExpression"] == 4
