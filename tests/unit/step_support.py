"""Running the steps of ``stripe_aep.steps`` in unit tests, without the local stack: a ``Runtime`` over moto's
in-process DynamoDB and Secrets Manager and the AEP simulator on loopback (fixtures: tests/unit/conftest.py).

The table is template.yaml's (``local.stack.tables``, the definition the local stack creates on DynamoDB
Local). ``provision_chain(runtime, tenant, paths)`` calls the provisioning steps in the order
statemachine/provision.asl.json does, feeding each step what the state machine would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from local.stack.tables import create_table, table_resource
from local.stack.template import REGION, load_template
from stripe_aep.runtime import Runtime, Settings
from stripe_aep.steps import provision
from stripe_aep.steps.common import PathStep, RawInput, SandboxStep, StepOutput
from stripe_aep.store import Store
from stripe_aep.tenants import tenant_secret_name
from tests.conftest import FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, FAKE_IMS_ORG

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
TABLE_NAME = "stripe-aep-unit"
ADOBE_SECRET = "stripe-aep/adobe-credential"
TENANT = "acme"
SANDBOX = "prod"
EXECUTION = "provision-acme-1"


def template_globals() -> dict[str, str]:
    """template.yaml's ``Globals.Function.Environment.Variables`` that are plain strings (no intrinsic)."""
    variables = load_template(TEMPLATE)["Globals"]["Function"]["Environment"]["Variables"]
    return {str(k): v for k, v in variables.items() if isinstance(v, str)}


@dataclass
class Aws:
    """moto's in-process services the steps use: DynamoDB (the table of template.yaml) and Secrets Manager."""

    table: Any  # boto3 dynamodb Table
    secretsmanager: Any  # boto3 secretsmanager client

    def put_secret(self, name: str, value: str) -> None:
        """Create or update a secret (``SecretString``)."""
        try:
            self.secretsmanager.put_secret_value(SecretId=name, SecretString=value)
        except self.secretsmanager.exceptions.ResourceNotFoundException:
            self.secretsmanager.create_secret(Name=name, SecretString=value)

    def put_tenant_key(self, tenant_id: str, stripe_key: str, prefix: str = "stripe-aep/tenants/") -> None:
        """The tenant's Stripe key in its secret ``{prefix}{tenant_id}`` (the key itself)."""
        self.put_secret(tenant_secret_name(prefix, tenant_id), stripe_key)

    def items(self) -> list[dict[str, Any]]:
        """Every item of the table (a scan: the tables of these tests are small)."""
        return list(self.table.scan(ConsistentRead=True).get("Items", []))


def build_aws() -> Aws:
    """The table and the Adobe credential secret on moto (call inside ``moto.mock_aws``)."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    _, properties = table_resource(load_template(TEMPLATE))
    create_table(dynamodb, TABLE_NAME, properties)
    aws = Aws(
        table=boto3.resource("dynamodb", region_name=REGION).Table(TABLE_NAME),
        secretsmanager=boto3.client("secretsmanager", region_name=REGION),
    )
    credential = {"client_id": FAKE_CLIENT_ID, "client_secret": FAKE_CLIENT_SECRET, "ims_org": FAKE_IMS_ORG}
    aws.put_secret(ADOBE_SECRET, json.dumps(credential))
    return aws


def build_runtime(aws: Aws, simulator_url: str, **settings: Any) -> Runtime:
    """A ``Runtime`` whose store, secrets and Platform clients are moto's and the simulator's (``settings``:
    overrides of ``Settings``)."""
    values: dict[str, Any] = {
        "table_name": TABLE_NAME,
        "adobe_credential_secret": ADOBE_SECRET,
        "platform_url": simulator_url,
        "ims_url": simulator_url,
        "adobe_read_timeout_s": 5.0,
        **settings,
    }
    return Runtime(
        Settings(**values),
        store=Store(TABLE_NAME, aws.table),
        secrets_provider=SecretsProvider(boto3_client=aws.secretsmanager),
    )


def payload(result: Any) -> dict[str, Any]:
    """A step's output as the state machine receives it (the JSON the Lambda answers)."""
    if isinstance(result, StepOutput):
        return result.payload()
    data: dict[str, Any] = json.loads(json.dumps(result))
    return data


@dataclass
class Provisioned:
    """What ``provision_chain`` gave: the validated input, the base connection and each path's outputs by step."""

    request: dict[str, Any]
    base_connection_id: str
    paths: dict[str, dict[str, Any]] = field(default_factory=dict)
    completed: dict[str, Any] = field(default_factory=dict)


def provision_chain(
    runtime: Runtime,
    tenant_id: str = TENANT,
    paths: Iterable[str] = ("charges",),
    execution: str = EXECUTION,
    extra_input: Mapping[str, Any] | None = None,
) -> Provisioned:
    """Every provisioning step, in the state machine's order, for ``tenant_id`` over ``paths``.

    ValidateInput -> CreateBaseConnection -> per path: ExploreResourcePath -> CreateSourceConnection,
    EnsureTargetSchema -> CreateDataset -> CreateTargetConnection, CreateMappingSet -> CreateDataflow ->
    CompleteProvisioning. The tenant's Stripe key secret must exist.
    """
    raw = {"tenantId": tenant_id, "resourcePaths": list(paths), **(extra_input or {})}
    request = payload(provision_validate(runtime, raw, execution))
    tenant = {"tenantId": tenant_id, "sandbox": request["sandbox"], "executionName": execution}
    base = payload(provision.create_base_connection(SandboxStep(**tenant), runtime))
    done = Provisioned(request=request, base_connection_id=base["baseConnectionId"])
    for path in request["resourcePaths"]:
        step = {**tenant, "resourcePath": path}
        with_base = {**step, "baseConnectionId": base["baseConnectionId"]}
        out: dict[str, Any] = {}
        out["explore"] = payload(provision.explore_resource_path(provision.ExploreStep(**with_base), runtime))
        out["source"] = payload(provision.create_source_connection(provision.ExploreStep(**with_base), runtime))
        out["schema"] = payload(provision.ensure_target_schema(PathStep(**step), runtime))
        schema = {**step, "schemaId": out["schema"]["schemaId"]}
        out["dataset"] = payload(provision.create_dataset(provision.SchemaStep(**schema), runtime))
        target = provision.TargetStep(**schema, datasetId=out["dataset"]["datasetId"])
        out["target"] = payload(provision.create_target_connection(target, runtime))
        mapping = provision.MappingStep(**schema, baseConnectionId=base["baseConnectionId"])
        out["mapping"] = payload(provision.create_mapping_set(mapping, runtime))
        flow = provision.DataflowStep(
            **step,
            sourceConnectionId=out["source"]["sourceConnectionId"],
            targetConnectionId=out["target"]["targetConnectionId"],
            mappingSetId=out["mapping"]["mappingSetId"],
            mappingSetVersion=out["mapping"]["mappingSetVersion"],
            schedule=request["schedule"],
        )
        out["flow"] = payload(provision.create_dataflow(flow, runtime))
        done.paths[path] = out
    dataflows = [{"resourcePath": p, "flowId": o["flow"]["flowId"]} for p, o in done.paths.items()]
    complete = provision.CompleteInput(tenantId=tenant_id, dataflows=dataflows, executionName=execution)
    done.completed = payload(provision.complete_provisioning(complete, runtime))
    return done


def provision_validate(runtime: Runtime, raw: Any, execution: str = EXECUTION) -> Any:
    """ValidateInput of the raw execution input ``raw``."""
    return provision.validate_input(RawInput(input=raw, executionName=execution), runtime)
