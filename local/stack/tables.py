"""DynamoDB tables from a template's `AWS::DynamoDB::Table` resources: one definition, template.yaml's, for the
local stack (on DynamoDB Local) and the unit tests (on moto's in-process DynamoDB).

    template = load_template(Path("template.yaml"))
    logical_id, properties = table_resource(template)
    create_table(boto3.client("dynamodb", region_name="us-east-1"), "stripe-aep", properties)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from local.stack.template import TemplateError

TABLE_TYPE = "AWS::DynamoDB::Table"


def table_resource(template: Mapping[str, Any], logical_id: str | None = None) -> tuple[str, dict[str, Any]]:
    """The logical id and `Properties` of the template's table `logical_id` (default: its only table).

    Raises `TemplateError` when there is no such table, or several and no `logical_id`.
    """
    tables = {
        str(lid): dict(resource.get("Properties") or {})
        for lid, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") == TABLE_TYPE
    }
    if logical_id is not None:
        if logical_id not in tables:
            raise TemplateError(f"the template has no table {logical_id!r} (tables: {sorted(tables)})")
        return logical_id, tables[logical_id]
    if len(tables) != 1:
        raise TemplateError(f"the template has {len(tables)} tables: name one of {sorted(tables)}")
    return next(iter(tables.items()))


def create_table_arguments(table_name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB `CreateTable` arguments of a table resource's (resolved) `Properties`, named `table_name`.

    CloudFormation-only keys are translated (`SSESpecification.SSEEnabled` -> `Enabled`) or left out
    (`PointInTimeRecoverySpecification`, `TimeToLiveSpecification`: see `create_table`).
    """
    args: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    for key in ("ProvisionedThroughput", "LocalSecondaryIndexes", "Tags", "DeletionProtectionEnabled"):
        if key in properties:
            args[key] = properties[key]
    if "GlobalSecondaryIndexes" in properties:
        keep = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput")
        args["GlobalSecondaryIndexes"] = [
            {k: g[k] for k in keep if k in g} for g in properties["GlobalSecondaryIndexes"]
        ]
    if "StreamSpecification" in properties:
        args["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}
    if "SSESpecification" in properties:
        args["SSESpecification"] = {"Enabled": properties["SSESpecification"].get("SSEEnabled", True)}
    return args


def create_table(dynamodb: Any, table_name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """Create the table on `dynamodb` (a boto3 DynamoDB client) and turn its time to live on when the
    properties enable it; returns `CreateTable`'s `TableDescription`."""
    table: dict[str, Any] = dynamodb.create_table(**create_table_arguments(table_name, properties))["TableDescription"]
    ttl = properties.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )
    return table
