"""Helpers shared by the simulator's unit tests (test modules import these, never one another): the fake
credential, the API roots, a raw-HTTP ``Api`` over one simulator, and ``explore``."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import requests

from local.aep_simulator import AepSimulator

CLIENT_ID = "sim-client"
CLIENT_SECRET = "sim-client-secret-value"
IMS_ORG = "0123456789ABCDEF@AdobeOrg"
STRIPE_KEY = "sk_test_simulated_key_1234"
SANDBOX = "prod"
STRIPE_SPEC = {"id": "cc2c31d6-7b8c-4581-b49f-5c8698aa3ab3", "version": "1.0"}
LAKE_SPEC = {"id": "c604ff05-7f1a-43c0-8e18-33bf874cb11c", "version": "1.0"}
FLOW_SPEC = {"id": "6499120c-0b15-42dc-936e-847ea3c24d72", "version": "1.0"}
FLOW = "/data/foundation/flowservice"
XDM = "/data/foundation/schemaregistry"
CATALOG = "/data/foundation/catalog"
CONVERSION = "/data/foundation/conversion"


def token(sim: AepSimulator, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> requests.Response:
    return requests.post(
        f"{sim.url}/ims/token/v3",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "openid,AdobeID",
        },
        timeout=5,
    )


class Api:
    """A bare Platform caller: the headers Adobe requires, nothing else."""

    def __init__(self, sim: AepSimulator, sandbox: str = SANDBOX) -> None:
        self.sim = sim
        self.session = requests.Session()
        access_token = token(sim).json()["access_token"]
        self.headers = {
            "Authorization": f"Bearer {access_token}",
            "x-api-key": CLIENT_ID,
            "x-gw-ims-org-id": IMS_ORG,
            "x-sandbox-name": sandbox,
        }

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        all_headers = {**self.headers, **(headers or {})}
        data = kwargs.pop("data", None)
        if body is not None:
            all_headers.setdefault("Content-Type", "application/json")
            data = json.dumps(body)
        return self.session.request(
            method, f"{self.sim.url}{path}", data=data, headers=all_headers, timeout=10, **kwargs
        )

    # builders of a full Stripe dataflow
    def base_connection(self, name: str = "stripe-aep/acme/base", key: str = STRIPE_KEY) -> dict[str, Any]:
        response = self.call(
            "POST",
            f"{FLOW}/connections",
            {
                "name": name,
                "description": "",
                "connectionSpec": STRIPE_SPEC,
                "auth": {"specName": "OAuth2 Refresh Code", "params": {"accessToken": key}},
            },
        )
        assert response.status_code == 201, response.text
        return response.json()

    def source_connection(self, base_id: str, path: str = "charges", name: str = "src") -> dict[str, Any]:
        response = self.call(
            "POST",
            f"{FLOW}/sourceConnections",
            {
                "name": name,
                "baseConnectionId": base_id,
                "connectionSpec": STRIPE_SPEC,
                "data": {"format": "json"},
                "params": {"resourcePath": path},
            },
        )
        assert response.status_code == 201, response.text
        return response.json()

    def schema(self, title: str = "Stripe charges") -> dict[str, Any]:
        tenant = self.sim.tenant_id
        group = self.call(
            "POST",
            f"{XDM}/tenant/fieldgroups",
            {
                "title": f"{title} fields",
                "description": "d",
                "type": "object",
                "meta:intendedToExtend": ["https://ns.adobe.com/xdm/context/experienceevent"],
                "definitions": {
                    "charges": {
                        "properties": {
                            f"_{tenant}": {
                                "type": "object",
                                "properties": {
                                    "charges": {
                                        "type": "object",
                                        "properties": {
                                            "id": {"type": "string"},
                                            "amount": {"type": "integer"},
                                        },
                                    }
                                },
                            }
                        }
                    }
                },
                "allOf": [{"$ref": "#/definitions/charges"}],
            },
        )
        assert group.status_code == 201, group.text
        schema = self.call(
            "POST",
            f"{XDM}/tenant/schemas",
            {
                "title": title,
                "description": "Stripe charges",
                "type": "object",
                "allOf": [
                    {"$ref": "https://ns.adobe.com/xdm/context/experienceevent"},
                    {"$ref": group.json()["$id"]},
                ],
            },
        )
        assert schema.status_code == 201, schema.text
        return {"fieldGroup": group.json(), "schema": schema.json()}

    def dataset(self, schema_id: str, name: str = "stripe-aep acme charges") -> str:
        response = self.call(
            "POST",
            f"{CATALOG}/dataSets",
            {
                "name": name,
                "schemaRef": {"id": schema_id, "contentType": "application/vnd.adobe.xed+json;version=1"},
            },
        )
        assert response.status_code == 201, response.text
        return str(response.json()[0].split("/")[-1])

    def target_connection(self, schema_id: str, dataset_id: str, name: str = "tgt") -> dict[str, Any]:
        response = self.call(
            "POST",
            f"{FLOW}/targetConnections",
            {
                "name": name,
                "connectionSpec": LAKE_SPEC,
                "data": {
                    "format": "parquet_xdm",
                    "schema": {"id": schema_id, "version": "application/vnd.adobe.xed-full+json;version=1"},
                },
                "params": {"dataSetId": dataset_id},
            },
        )
        assert response.status_code == 201, response.text
        return response.json()

    def mapping_body(self, schema_id: str, destinations: list[str]) -> dict[str, Any]:
        return {
            "outputSchema": {
                "schemaRef": {"id": schema_id, "contentType": "application/vnd.adobe.xed-full+json;version=1"}
            },
            "mappings": [
                {"sourceType": "ATTRIBUTE", "source": f"data.{d.split('.')[-1]}", "destination": d}
                for d in destinations
            ],
        }

    def mapping_set(self, schema_id: str) -> dict[str, Any]:
        tenant = self.sim.tenant_id
        response = self.call(
            "POST",
            f"{CONVERSION}/mappingSets",
            self.mapping_body(schema_id, [f"_{tenant}.charges.id", f"_{tenant}.charges.amount", "_id"]),
        )
        assert response.status_code == 200, response.text
        return response.json()

    def flow_body(
        self,
        name: str,
        source_id: str,
        target_id: str,
        mapping_id: str,
        schedule: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "name": name,
            "flowSpec": FLOW_SPEC,
            "sourceConnectionIds": [source_id],
            "targetConnectionIds": [target_id],
            "transformations": [{"name": "Mapping", "params": {"mappingId": mapping_id, "mappingVersion": "0"}}],
            "scheduleParams": schedule or {"startTime": 1767225600, "frequency": "hour", "interval": 1},
        }

    def dataflow(self, name: str = "flow") -> dict[str, str]:
        """A whole chain; returns the ids."""
        base = self.base_connection()
        source = self.source_connection(base["id"])
        xdm = self.schema(title=f"schema for {name}")
        dataset_id = self.dataset(xdm["schema"]["$id"])
        target = self.target_connection(xdm["schema"]["$id"], dataset_id)
        mapping = self.mapping_set(xdm["schema"]["$id"])
        response = self.call("POST", f"{FLOW}/flows", self.flow_body(name, source["id"], target["id"], mapping["id"]))
        assert response.status_code == 201, response.text
        return {
            "base": base["id"],
            "source": source["id"],
            "target": target["id"],
            "dataset": dataset_id,
            "schemaAltId": xdm["schema"]["meta:altId"],
            "fieldGroupAltId": xdm["fieldGroup"]["meta:altId"],
            "flow": response.json()["id"],
            "flowEtag": response.json()["etag"],
        }


def source_params(path: str) -> str:
    return quote(base64.b64encode(json.dumps({"resourcePath": path}, separators=(",", ":")).encode()).decode(), safe="")


# --- IMS and the gateway ------------------------------------------------------------------------------------


def explore(api: Api, base_id: str, preview: str, params: str | None = None) -> requests.Response:
    encoded = params or source_params("charges")
    query = f"objectType=rest&object=json&fileType=json&preview={preview}&sourceParams={encoded}"
    return api.call("GET", f"{FLOW}/connections/{base_id}/explore?{query}")
