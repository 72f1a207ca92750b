"""Static checks of template.yaml and statemachine/*.asl.json against docs/architecture.md.

The template is read with cfn-lint's decoder (intrinsic tags become {"Ref": ...}, {"Fn::GetAtt": ...}); the
ASL is read after the same `${Name}` substitution CloudFormation applies (tools/render_asl.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from tools.render_asl import PLACEHOLDER, render, state_machines

REPO = Path(__file__).resolve().parents[2]
TEMPLATE: dict[str, Any] = cfn_yaml.load(str(REPO / "template.yaml"))
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
MACHINES = state_machines(TEMPLATE)

LAMBDA_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    # crashes and timeouts: every step is idempotent (issue 11 item 4)
    "Lambda.Unknown",
    "Sandbox.Timedout",
    "States.Timeout",
}
AEP_ERRORS = {"ThrottledError", "UpstreamError", "AepConnectionError", "ConcurrentModificationError"}
GLOBAL_ENV = {
    "TABLE_NAME",
    "ADOBE_CREDENTIAL_SECRET",
    "TENANT_SECRET_PREFIX",
    "PLATFORM_URL",
    "IMS_URL",
    "DEFAULT_SANDBOX",
    "DEFAULT_SCHEDULE_FREQUENCY",
    "DEFAULT_SCHEDULE_INTERVAL",
    "ADOBE_RATE_LIMIT_RPS",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
}
# The state names docs/architecture.md fixes (the handlers and the local runner rely on them).
CONTRACT_STATES = {
    "ProvisionStateMachine": {
        "ValidateInput",
        "CreateBaseConnection",
        "ProvisionResourcePaths",
        "ExploreResourcePath",
        "CreateSourceConnection",
        "EnsureTargetSchema",
        "CreateDataset",
        "CreateTargetConnection",
        "CreateMappingSet",
        "CreateDataflow",
        "CompleteProvisioning",
        "RecordFailure",
    },
    "DeprovisionStateMachine": {
        "PlanDeprovisioning",
        "DeleteDataflow",
        "DeleteTargetConnection",
        "DeleteSourceConnection",
        "PurgeDataset",
        "DeleteBaseConnection",
        "CompleteDeprovisioning",
        "RecordFailure",
    },
    "LifecycleStateMachine": {
        "ValidateLifecycleInput",
        "UpdateDataflow",
        "RotateStripeKey",
        "SetDataflowState",
        "RecordFailure",
    },
    "UpgradeAllStateMachine": {
        "PlanUpgradePage",
        "UpgradeTenants",
        "UpgradeDataflow",
        "RecordTenantFailure",
        "RecordFailure",
    },
}


def _of_type(resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in RESOURCES.items() if v["Type"] == resource_type}


FUNCTIONS = _of_type("AWS::Serverless::Function")
MANAGED_POLICIES = _of_type("AWS::IAM::ManagedPolicy")
_READ = {"dynamodb:GetItem", "dynamodb:Query"}
_WRITE = {"dynamodb:PutItem", "dynamodb:UpdateItem"}
#: The table actions (on the table itself) each function may call: only the deprovisioning steps and the webhook
#: receiver (its event id claims) delete, the lifecycle input's validation only reads.
TABLE_ACTIONS = {
    **dict.fromkeys(
        (
            "ValidateInputFunction",
            "CreateBaseConnectionFunction",
            "ExploreResourcePathFunction",
            "CreateSourceConnectionFunction",
            "EnsureTargetSchemaFunction",
            "CreateDatasetFunction",
            "CreateTargetConnectionFunction",
            "CreateMappingSetFunction",
            "CreateDataflowFunction",
            "CompleteProvisioningFunction",
            "RecordFailureFunction",
            "PlanDeprovisioningFunction",
            "UpdateDataflowFunction",
            "UpgradeDataflowFunction",
            "RotateStripeKeyFunction",
            "SetDataflowStateFunction",
            "StartFlowRunFunction",
            "HealthCheckFunction",
        ),
        _READ | _WRITE,
    ),
    **dict.fromkeys(
        (
            "DeleteDataflowFunction",
            "DeleteTargetConnectionFunction",
            "DeleteSourceConnectionFunction",
            "PurgeDatasetFunction",
            "DeleteBaseConnectionFunction",
            "CompleteDeprovisioningFunction",
        ),
        _READ | _WRITE | {"dynamodb:DeleteItem"},
    ),
    "ValidateLifecycleInputFunction": _READ,
    "PlanUpgradePageFunction": _READ,
    "WebhookReceiverFunction": {"dynamodb:UpdateItem", "dynamodb:DeleteItem"},
    "FlowRunProcessorFunction": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
    "StartExecutionFunction": set(),
}


def _definition(logical_id: str) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(render(logical_id, TEMPLATE, REPO))
    return definition


def _states(states: dict[str, Any], top: str | None = None) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Every state, nested ones included, with the name of the top-level state it sits under."""
    for name, state in states.items():
        owner = top or name
        yield name, state, owner
        for branch in state.get("Branches", []):
            yield from _states(branch["States"], owner)
        if "ItemProcessor" in state:
            yield from _states(state["ItemProcessor"]["States"], owner)


def _statements(properties: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every statement of a resource's policies: its inline ``Policies`` documents, the template's managed
    policies it names there (``!Ref``), and a policy resource's own ``PolicyDocument``."""
    documents = [properties["PolicyDocument"]] if "PolicyDocument" in properties else []
    for policy in properties.get("Policies", []):
        if isinstance(policy, dict) and list(policy) == ["Ref"] and policy["Ref"] in MANAGED_POLICIES:
            documents.append(MANAGED_POLICIES[policy["Ref"]]["Properties"]["PolicyDocument"])
        elif isinstance(policy, dict) and "Statement" in policy:
            documents.append(policy)
    for document in documents:
        yield from document["Statement"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_every_function_folder_has_a_function_and_vice_versa() -> None:
    folders = {p.name for p in (REPO / "functions").iterdir() if (p / "app.py").is_file()}
    code_uris = {props["Properties"]["CodeUri"].strip("/").removeprefix("functions/") for props in FUNCTIONS.values()}
    assert folders, "functions/ holds no function folder yet"
    assert code_uris == folders


def test_function_logical_ids_follow_the_folder_names() -> None:
    for logical_id, resource in FUNCTIONS.items():
        folder = resource["Properties"]["CodeUri"].strip("/").removeprefix("functions/")
        assert logical_id == "".join(part.capitalize() for part in folder.split("_")) + "Function"


def test_globals_carry_the_contract_environment_and_runtime() -> None:
    function_globals = TEMPLATE["Globals"]["Function"]
    assert set(function_globals["Environment"]["Variables"]) == GLOBAL_ENV
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Handler"] == "app.lambda_handler"
    assert function_globals["Layers"] == [{"Ref": "SharedLayer"}]
    assert RESOURCES["SharedLayer"]["Metadata"]["BuildMethod"] == "python3.13"


def test_functions_with_extra_environment() -> None:
    start_env = FUNCTIONS["StartExecutionFunction"]["Properties"]["Environment"]["Variables"]
    assert set(start_env) == {
        "PROVISION_STATE_MACHINE_ARN",
        "DEPROVISION_STATE_MACHINE_ARN",
        "LIFECYCLE_STATE_MACHINE_ARN",
    }
    health_env = FUNCTIONS["HealthCheckFunction"]["Properties"]["Environment"]["Variables"]
    # the repair of MISSING dataflows (issue 11): off unless HealthRepairMissingFlows is "true"
    assert set(health_env) == {
        "HEALTH_TOPIC_ARN",
        "HEALTH_CONCURRENCY",
        "HEALTH_REPAIR_MISSING",
        "PROVISION_STATE_MACHINE_ARN",
        "ADOBE_BUDGET_MAX_WAIT_S",
    }
    assert health_env["HEALTH_REPAIR_MISSING"] == {"Ref": "HealthRepairMissingFlows"}
    assert TEMPLATE["Parameters"]["HealthRepairMissingFlows"]["Default"] == "false"


def test_every_function_logs_to_its_own_log_group_with_retention() -> None:
    for logical_id, resource in FUNCTIONS.items():
        group = resource["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert RESOURCES[group]["Type"] == "AWS::Logs::LogGroup", logical_id
        assert RESOURCES[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


@pytest.mark.parametrize("logical_id", sorted(MACHINES))
def test_substitutions_and_placeholders_match(logical_id: str) -> None:
    properties = MACHINES[logical_id]
    text = (REPO / properties["DefinitionUri"]).read_text(encoding="utf-8")
    used = set(PLACEHOLDER.findall(text))
    assert used == set(properties["DefinitionSubstitutions"])
    assert not PLACEHOLDER.search(render(logical_id, TEMPLATE, REPO))


@pytest.mark.parametrize("logical_id", sorted(MACHINES))
def test_state_machine_shape(logical_id: str) -> None:
    properties = MACHINES[logical_id]
    assert properties["Type"] == "STANDARD"
    assert properties["Logging"]["IncludeExecutionData"] is False
    assert properties["Logging"]["Level"] in {"ERROR", "ALL"}
    assert properties["DefinitionSubstitutions"]["MaxConcurrency"] == {"Ref": "MaxConcurrency"}
    names = {name for name, _, _ in _states(_definition(logical_id)["States"])}
    assert CONTRACT_STATES[logical_id] <= names


@pytest.mark.parametrize("logical_id", sorted(MACHINES))
def test_every_task_invokes_a_function_the_machine_may_invoke(logical_id: str) -> None:
    properties = MACHINES[logical_id]
    invocable = {
        policy["LambdaInvokePolicy"]["FunctionName"]["Ref"]
        for policy in properties["Policies"]
        if isinstance(policy, dict) and "LambdaInvokePolicy" in policy
    }
    substitutions = properties["DefinitionSubstitutions"]
    raw = json.loads(
        PLACEHOLDER.sub(
            # The unquoted placeholders (a number, the Retry array) take stand-ins; the ARNs stay as they are.
            lambda m: {"MaxConcurrency": "1", "TaskRetry": "[]"}.get(m.group(1), m.group(0)),
            (REPO / properties["DefinitionUri"]).read_text(encoding="utf-8"),
        )
    )
    invoked = set()
    for name, state, _ in _states(raw["States"]):
        if state["Type"] != "Task":
            continue
        assert state["Resource"] == "arn:aws:states:::lambda:invoke", name
        placeholder = re.fullmatch(r"\$\{(\w+FunctionArn)\}", state["Parameters"]["FunctionName"])
        assert placeholder, name
        function_id = substitutions[placeholder.group(1)]["Fn::GetAtt"][0]
        assert function_id in FUNCTIONS
        invoked.add(function_id)
        assert all(key.startswith("$.Payload") for key in _selector_paths(state["ResultSelector"])), name
    assert invoked == invocable


def _selector_paths(selector: Any) -> Iterator[str]:
    for key, value in selector.items():
        if key.endswith(".$") and not value.startswith("States."):
            yield value
        elif key.endswith(".$"):
            assert "$.Payload" in value
            yield "$.Payload"


@pytest.mark.parametrize("logical_id", sorted(MACHINES))
def test_every_task_retries_and_sits_under_a_catch(logical_id: str) -> None:
    states = _definition(logical_id)["States"]
    tasks = [(name, state, top) for name, state, top in _states(states) if state["Type"] == "Task"]
    assert tasks
    for name, state, top in tasks:
        retried = [set(r["ErrorEquals"]) for r in state.get("Retry", [])]
        # The standard Lambda block, which also takes a crash or timeout (every step is idempotent).
        assert any(r >= LAMBDA_ERRORS for r in retried), f"{name}: no standard Lambda retry"
        budget = next(r for r in state["Retry"] if r["ErrorEquals"] == ["BudgetExhaustedError"])
        assert (budget["IntervalSeconds"], budget["MaxDelaySeconds"], budget["JitterStrategy"]) == (2, 10, "FULL")
        assert budget["MaxAttempts"] >= 50, name
        aep = next(r for r in state["Retry"] if set(r["ErrorEquals"]) == AEP_ERRORS)
        assert (aep["IntervalSeconds"], aep["BackoffRate"], aep["MaxAttempts"], aep["JitterStrategy"]) == (
            2,
            2,
            6,
            "FULL",
        ), name
        catchers = states[top].get("Catch", [])
        assert any("States.ALL" in c["ErrorEquals"] for c in catchers), f"{name}: not under a Catch"
    for name, state in states.items():
        for catcher in state.get("Catch", []):
            if name != "RecordFailure":
                assert catcher == {
                    "ErrorEquals": ["States.ALL"],
                    "ResultPath": "$.error",
                    "Next": "RecordFailure",
                }


@pytest.mark.parametrize("logical_id", sorted(MACHINES))
def test_failures_end_in_a_fail_state_fed_by_record_failure(logical_id: str) -> None:
    states = _definition(logical_id)["States"]
    record = states["RecordFailure"]
    assert record["Parameters"]["Payload"]["error.$"] == "$.error"
    assert record["Parameters"]["Payload"]["input.$"] == "$$.Execution.Input"
    fail = states[record["Next"]]
    assert fail["Type"] == "Fail"
    assert fail["ErrorPath"] == f"{record['ResultPath']}.error"
    assert fail["CausePath"] == f"{record['ResultPath']}.cause"


def test_maps_take_max_concurrency_from_the_template() -> None:
    for logical_id in MACHINES:
        for name, state, _ in _states(_definition(logical_id)["States"]):
            if state["Type"] == "Map":
                assert state["MaxConcurrency"] == TEMPLATE["Parameters"]["MaxConcurrency"]["Default"], name
                if (logical_id, name) == ("UpgradeAllStateMachine", "UpgradeTenants"):
                    # the one Map over tenants: a page the PlanUpgradePage step read from the tenant index
                    assert state["ItemsPath"] == "$.page.tenants"
                    assert state["ItemSelector"]["tenant.$"] == "$$.Map.Item.Value"
                    continue
                assert state["ItemsPath"].endswith(".resourcePaths"), name
                assert state["ItemSelector"]["resourcePath.$"] == "$$.Map.Item.Value", name


def test_upgrade_all_runs_the_lifecycle_upgrade_step_and_a_tenant_failure_does_not_fail_the_run() -> None:
    lifecycle = MACHINES["LifecycleStateMachine"]["DefinitionSubstitutions"]
    upgrade_all = MACHINES["UpgradeAllStateMachine"]["DefinitionSubstitutions"]
    assert upgrade_all["UpgradeDataflowFunctionArn"] == lifecycle["UpgradeDataflowFunctionArn"]
    states = _definition("UpgradeAllStateMachine")["States"]
    tenant = states["UpgradeTenants"]["ItemProcessor"]["States"]
    (catcher,) = tenant["UpgradeTenantDataflows"]["Catch"]
    assert catcher["ErrorEquals"] == ["States.ALL"] and catcher["Next"] == "RecordTenantFailure"
    assert tenant["RecordTenantFailure"]["Next"] == "TenantFailed"
    assert tenant["RecordTenantFailure"]["Catch"][0]["Next"] == "TenantFailed"
    assert tenant["TenantFailed"].get("End") and tenant["TenantDone"].get("End")
    assert states["UpgradeTenants"]["Next"] == "PlanUpgradePage"  # the page loop


def test_no_wildcard_resource_for_secrets_dynamodb_or_step_functions() -> None:
    guarded = ("secretsmanager:", "dynamodb:", "states:")
    statements = [(k, s) for k, r in RESOURCES.items() for s in _statements(r.get("Properties", {}))]
    assert statements
    for logical_id, statement in statements:
        actions = _as_list(statement["Action"])
        if any(str(a).startswith(guarded) or a == "*" for a in actions):
            resources = _as_list(statement["Resource"])
            assert "*" not in resources, (logical_id, statement.get("Sid"))
            for resource in resources:
                # The one wildcard allowed: the tenant secrets under their name prefix.
                text = json.dumps(resource).replace("${TenantSecretPrefix}*", "")
                assert "*" not in text, (logical_id, statement.get("Sid"))


def test_each_function_gets_exactly_its_table_actions() -> None:
    assert set(TABLE_ACTIONS) == set(FUNCTIONS)
    for logical_id, resource in FUNCTIONS.items():
        actions = {
            action
            for statement in _statements(resource["Properties"])
            if statement["Resource"] == {"Fn::GetAtt": ["Table", "Arn"]}
            for action in _as_list(statement["Action"])
        }
        assert actions == TABLE_ACTIONS[logical_id], logical_id


def test_the_table_policy_is_written_once_per_access_level() -> None:
    table_statements = [
        (logical_id, statement)
        for logical_id, resource in RESOURCES.items()
        for statement in _statements(resource.get("Properties", {}))
        if resource["Type"] != "AWS::Serverless::Function" and statement["Resource"] == {"Fn::GetAtt": ["Table", "Arn"]}
    ]
    levels = [frozenset(_as_list(statement["Action"])) for _, statement in table_statements]
    assert len(levels) == len(set(levels)) == 3, table_statements
    assert all(logical_id in MANAGED_POLICIES for logical_id, _ in table_statements)


def test_the_adobe_credential_is_read_only_by_the_functions_that_call_adobe() -> None:
    readers = {
        logical_id
        for logical_id, resource in FUNCTIONS.items()
        for statement in _statements(resource["Properties"])
        if statement["Resource"] == {"Ref": "AdobeCredentialSecret"}
        and _as_list(statement["Action"]) == ["secretsmanager:GetSecretValue"]
    }
    assert set(FUNCTIONS) - readers == {
        "ValidateInputFunction",
        "CompleteProvisioningFunction",
        "RecordFailureFunction",
        "PlanDeprovisioningFunction",
        "CompleteDeprovisioningFunction",
        "ValidateLifecycleInputFunction",
        "PlanUpgradePageFunction",
        "StartExecutionFunction",
        "WebhookReceiverFunction",
        "FlowRunProcessorFunction",
    }


def test_tenant_secrets_are_read_under_the_prefix_only() -> None:
    tenant_readers = set()
    for logical_id, resource in FUNCTIONS.items():
        for statement in _statements(resource["Properties"]):
            if "secretsmanager:GetSecretValue" in _as_list(statement["Action"]):
                resource_text = json.dumps(statement["Resource"])
                if "TenantSecretPrefix" in resource_text:
                    assert resource_text.endswith('secret:${TenantSecretPrefix}*"}'), logical_id
                    tenant_readers.add(logical_id)
    assert tenant_readers == {"CreateBaseConnectionFunction", "RotateStripeKeyFunction"}


def test_table_is_on_demand_with_pitr_sse_and_the_gsi() -> None:
    table = RESOURCES["Table"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    (gsi,) = table["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "gsi1"
    assert [k["AttributeName"] for k in gsi["KeySchema"]] == ["gsi1pk", "gsi1sk"]
    assert {a["AttributeType"] for a in table["AttributeDefinitions"]} == {"S"}


def test_event_queue_has_a_dead_letter_queue_and_only_the_rules_may_send() -> None:
    queue = RESOURCES["EventQueue"]["Properties"]
    redrive = queue["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == 5
    assert RESOURCES[redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]]["Type"] == "AWS::SQS::Queue"
    allow = next(
        s for s in RESOURCES["EventQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
    )
    sources = allow["Condition"]["ArnEquals"]["aws:SourceArn"]
    rules = {s["Fn::GetAtt"][0] for s in sources}
    assert rules == {k for k, r in RESOURCES.items() if r["Type"] == "AWS::Events::Rule"}
    for rule in rules:
        (target,) = RESOURCES[rule]["Properties"]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": ["EventQueue", "Arn"]}
    events = FUNCTIONS["StartExecutionFunction"]["Properties"]["Events"]
    (sqs,) = events.values()
    assert sqs["Type"] == "SQS" and sqs["Properties"]["BatchSize"] <= 10
    assert sqs["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_adobe_credential_secret_holds_placeholders_only() -> None:
    secret = json.loads(RESOURCES["AdobeCredentialSecret"]["Properties"]["SecretString"])
    assert set(secret) == {"client_id", "client_secret", "ims_org", "scopes"}
    assert secret["client_id"] == secret["client_secret"] == "REPLACE_ME"


def test_outputs() -> None:
    assert set(TEMPLATE["Outputs"]) == {
        "TableName",
        "ProvisionStateMachineArn",
        "DeprovisionStateMachineArn",
        "LifecycleStateMachineArn",
        "UpgradeAllStateMachineArn",
        "EventBusName",
        "EventQueueUrl",
        "AlertTopicArn",
        "HealthCheckFunctionName",
        "AdobeCredentialSecretArn",
    }


@pytest.mark.parametrize("logical_id", sorted(MACHINES))
def test_every_task_state_takes_the_one_retry_block(logical_id: str) -> None:
    properties = MACHINES[logical_id]
    text = (REPO / properties["DefinitionUri"]).read_text(encoding="utf-8")
    tasks = [name for name, state, _ in _states(_definition(logical_id)["States"]) if state["Type"] == "Task"]
    assert text.count('"Retry": ${TaskRetry}') == len(tasks) and text.count('"Retry"') == len(tasks)
    assert properties["DefinitionSubstitutions"]["TaskRetry"] == {"Fn::FindInMap": ["StateMachines", "Retry", "Task"]}
    for name, state, _ in _states(_definition(logical_id)["States"]):
        if state["Type"] == "Task":
            errors = {e for retrier in state["Retry"] for e in retrier["ErrorEquals"]}
            assert {"Lambda.ServiceException", "Sandbox.Timedout", "Lambda.Unknown", "States.Timeout"} <= errors, name
            assert {"ThrottledError", "UpstreamError", "ConcurrentModificationError"} <= errors, name
