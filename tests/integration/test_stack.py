"""Tests of the one-machine stack's machinery (`local.stack`).

Two kinds: a small SAM project written by these tests into a temporary directory (its handlers are a few
lines that report what they saw), which checks template -> moto, the in-process Lambda hook, errors,
parallelism, env isolation and the queue drain without depending on the application; and the repository's
own template.yaml (skipped until it and the AEP simulator exist).
"""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.stack import LocalStack, StackError, TemplateError
from tests.integration.conftest import DEFAULT_STRIPE_KEY, require_app

MINI_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: local
  MaxConcurrency:
    Type: Number
    Default: 1
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function:
    Runtime: python3.13
    Timeout: 20
    MemorySize: 256
    Layers: [!Ref MiniLayer]
    Environment:
      Variables:
        TABLE_NAME: !Ref Table
        ADOBE_CREDENTIAL_SECRET: !Ref AdobeCredential
        TENANT_SECRET_PREFIX: !Sub "${AWS::StackName}/tenants/"
        PLATFORM_URL: https://platform.adobe.io
        IMS_URL: https://ims-na1.adobelogin.com
        SHARED: !If [IsProd, shared-prod, shared-local]
Resources:
  MiniLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: S}
        - {AttributeName: gsi1pk, AttributeType: S}
        - {AttributeName: gsi1sk, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
      GlobalSecondaryIndexes:
        - IndexName: gsi1
          KeySchema:
            - {AttributeName: gsi1pk, KeyType: HASH}
            - {AttributeName: gsi1sk, KeyType: RANGE}
          Projection: {ProjectionType: KEYS_ONLY}
      TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}
  AdobeCredential:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: !Sub "${AWS::StackName}/adobe"
  Topic:
    Type: AWS::SNS::Topic
  DeadLetterQueue:
    Type: AWS::SQS::Queue
    Properties:
      MessageRetentionPeriod: 1209600
  SignupQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 120
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt DeadLetterQueue.Arn
        maxReceiveCount: 3
  Bus:
    Type: AWS::Events::EventBus
    Properties:
      Name: !Sub "${AWS::StackName}-bus"
  SignupRule:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref Bus
      EventPattern:
        source: [saas.platform]
        detail-type: [Tenant Signed Up]
      Targets:
        - Id: signup-queue
          Arn: !GetAtt SignupQueue.Arn
  ProdOnlyTopic:
    Type: AWS::SNS::Topic
    Condition: IsProd
  Alarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      MetricName: Errors
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/echo/
      Handler: app.lambda_handler
      Environment:
        Variables:
          ECHO_ONLY: echo
          TOPIC: !Ref Topic
  OtherFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-other"
      CodeUri: functions/echo/
      Handler: app.lambda_handler
      Timeout: 7
      Environment:
        Variables:
          OTHER_ONLY: other
  FailFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/fail/
      Handler: app.lambda_handler
  BarrierFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/barrier/
      Handler: app.lambda_handler
  StarterFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/starter/
      Handler: app.lambda_handler
      Events:
        Signups:
          Type: SQS
          Properties:
            Queue: !GetAtt SignupQueue.Arn
            BatchSize: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
        Nightly:
          Type: Schedule
          Properties:
            Schedule: rate(1 day)
  MiniStateMachine:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: statemachine/mini.asl.json
      DefinitionSubstitutions:
        BarrierFunctionArn: !GetAtt BarrierFunction.Arn
        FailFunctionArn: !GetAtt FailFunction.Arn
        MaxConcurrency: !Ref MaxConcurrency
Outputs:
  TableName:
    Value: !Ref Table
  StateMachineArn:
    Value: !GetAtt MiniStateMachine.Arn
  ProdTopic:
    Condition: IsProd
    Value: !Ref ProdOnlyTopic
"""

# A Map (ItemSelector, MaxConcurrency) of BarrierFunction calls, then FailFunction when the input asks for it;
# the failure is caught into $.error and a Fail state rethrows it by name.
MINI_ASL = """\
{
  "StartAt": "Fan",
  "States": {
    "Fan": {
      "Type": "Map",
      "ItemsPath": "$.items",
      "MaxConcurrency": ${MaxConcurrency},
      "ItemSelector": {"item.$": "$$.Map.Item.Value", "parties.$": "$.parties"},
      "ItemProcessor": {
        "ProcessorConfig": {"Mode": "INLINE"},
        "StartAt": "Meet",
        "States": {
          "Meet": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${BarrierFunctionArn}", "Payload.$": "$"},
            "ResultSelector": {"item.$": "$.Payload.item"},
            "End": true
          }
        }
      },
      "ResultPath": "$.met",
      "Next": "MaybeFail"
    },
    "MaybeFail": {
      "Type": "Choice",
      "Choices": [{"Variable": "$.fail", "BooleanEquals": true, "Next": "Boom"}],
      "Default": "Done"
    },
    "Boom": {
      "Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {"FunctionName": "${FailFunctionArn}", "Payload.$": "$"},
      "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
      "End": true
    },
    "Failed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
    "Done": {"Type": "Succeed"}
  }
}
"""

ECHO_APP = """\
import os

from mini_lib import LAYER_MARK

# Read at cold start, as the application's handlers read their settings.
IMPORT_ENV = {k: os.environ.get(k) for k in ("ECHO_ONLY", "OTHER_ONLY", "SHARED", "AWS_LAMBDA_FUNCTION_NAME")}


def lambda_handler(event, context):
    return {
        "event": event,
        "import_env": IMPORT_ENV,
        "layer": LAYER_MARK,
        "function_name": context.function_name,
        "memory": context.memory_limit_in_mb,
        "arn": context.invoked_function_arn,
        "request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }
"""

FAIL_APP = """\
class BoomError(Exception):
    pass


def lambda_handler(event, context):
    raise BoomError("step Boom: nothing works (request id r-1)")
"""

# Every call waits until `parties` calls are inside at once: if the hook serialised calls, the barrier would
# break (BrokenBarrierError) and the execution would fail.
BARRIER_APP = """\
import threading

_barriers = {}
_lock = threading.Lock()


def lambda_handler(event, context):
    parties = event["parties"]
    with _lock:
        barrier = _barriers.setdefault(parties, threading.Barrier(parties, timeout=15))
    barrier.wait()
    return {"item": event["item"]}
"""

STARTER_APP = """\
import json
import os

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def lambda_handler(event, context):
    failures = []
    for record in event["Records"]:
        detail = json.loads(record["body"])["detail"]
        if detail.get("reject"):
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        item = {"pk": "TENANT#" + detail["tenantId"], "sk": "SIGNUP", "source": record["eventSource"]}
        TABLE.put_item(Item=item)
    return {"batchItemFailures": failures}
"""


class RecordingSimulator:
    """Stands in for the AEP simulator where no Adobe call is made: records what the stack registers."""

    url = "http://127.0.0.1:9/"

    def __init__(self) -> None:
        self.clients: list[tuple[str, str, str]] = []

    def register_client(self, client_id: str, client_secret: str, ims_org: str) -> None:
        self.clients.append((client_id, client_secret, ims_org))


@pytest.fixture(scope="module")
def mini_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mini_project")
    files = {
        "template.yaml": MINI_TEMPLATE,
        "statemachine/mini.asl.json": MINI_ASL,
        "layer/mini_lib/__init__.py": 'LAYER_MARK = "mini-layer"\n',
        "functions/echo/app.py": ECHO_APP,
        "functions/fail/app.py": FAIL_APP,
        "functions/barrier/app.py": BARRIER_APP,
        "functions/starter/app.py": STARTER_APP,
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


@pytest.fixture
def mini(mini_root: Path) -> Iterator[LocalStack]:
    with LocalStack(project_root=mini_root, simulator=RecordingSimulator(), max_concurrency=3) as started:
        yield started


# --------------------------------------------------------------------------------- template -> moto


def test_template_resources_exist_on_moto(mini: LocalStack) -> None:
    table = mini.client("dynamodb").describe_table(TableName=mini.resources["Table"])["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [g["IndexName"] for g in table["GlobalSecondaryIndexes"]] == ["gsi1"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}
    ttl = mini.client("dynamodb").describe_time_to_live(TableName=mini.resources["Table"])
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"

    sqs = mini.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=mini.resources["SignupQueue"], AttributeNames=["All"])
    redrive = json.loads(attributes["Attributes"]["RedrivePolicy"])
    dlq_arn = sqs.get_queue_attributes(QueueUrl=mini.resources["DeadLetterQueue"], AttributeNames=["QueueArn"])
    assert redrive["deadLetterTargetArn"] == dlq_arn["Attributes"]["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == 3
    assert attributes["Attributes"]["VisibilityTimeout"] == "120"

    events = mini.client("events")
    bus = mini.resources["Bus"]
    assert bus == "stripe-aep-local-bus"
    rule = events.describe_rule(Name="stripe-aep-local-SignupRule", EventBusName=bus)
    assert json.loads(rule["EventPattern"])["detail-type"] == ["Tenant Signed Up"]
    targets = events.list_targets_by_rule(Rule="stripe-aep-local-SignupRule", EventBusName=bus)["Targets"]
    assert [t["Arn"] for t in targets] == [attributes["Attributes"]["QueueArn"]]

    secret = mini.client("secretsmanager").get_secret_value(SecretId="stripe-aep-local/adobe")
    assert json.loads(secret["SecretString"]) == dict(mini.adobe_credential)
    assert mini.simulator.clients == [
        (
            mini.adobe_credential["client_id"],
            mini.adobe_credential["client_secret"],
            mini.adobe_credential["ims_org"],
        )
    ]
    assert "client_secret=**" in repr(mini.adobe_credential)
    assert mini.adobe_credential["client_secret"] not in repr(mini.adobe_credential)

    topics = mini.client("sns").list_topics()["Topics"]
    assert [t["TopicArn"] for t in topics] == [mini.resources["Topic"]]
    assert "ProdOnlyTopic" not in mini.resources and "condition IsProd is false" in mini.skipped["ProdOnlyTopic"]
    assert "Alarm" in mini.skipped and "MiniLayer" in mini.skipped
    assert "StarterFunction.Nightly" in mini.skipped
    assert mini.outputs == {
        "TableName": mini.resources["Table"],
        "StateMachineArn": mini.resources["MiniStateMachine"],
    }


def test_functions_get_globals_and_their_own_environment(mini: LocalStack) -> None:
    lam = mini.client("lambda")
    echo = lam.get_function_configuration(FunctionName=mini.resources["EchoFunction"])
    other = lam.get_function_configuration(FunctionName="stripe-aep-local-other")
    assert (echo["Timeout"], echo["MemorySize"], other["Timeout"]) == (20, 256, 7)
    variables = echo["Environment"]["Variables"]
    assert variables["TABLE_NAME"] == mini.resources["Table"]
    assert variables["ADOBE_CREDENTIAL_SECRET"] == mini.resources["AdobeCredential"]
    assert variables["ADOBE_CREDENTIAL_SECRET"].startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:")
    assert variables["TOPIC"] == mini.resources["Topic"]
    assert variables["SHARED"] == "shared-local"
    # The Adobe URLs point at the simulator whatever the template says.
    assert variables["PLATFORM_URL"] == variables["IMS_URL"] == "http://127.0.0.1:9"
    assert "OTHER_ONLY" not in variables


def test_state_machine_definition_is_substituted(mini: LocalStack) -> None:
    described = mini.client("stepfunctions").describe_state_machine(stateMachineArn=mini.resources["MiniStateMachine"])
    definition = json.loads(described["definition"])
    assert "${" not in described["definition"]
    assert definition["States"]["Fan"]["MaxConcurrency"] == 3  # max_concurrency=3 overrides the default 1
    task = definition["States"]["Fan"]["ItemProcessor"]["States"]["Meet"]
    assert task["Parameters"]["FunctionName"] == (
        "arn:aws:lambda:us-east-1:123456789012:function:stripe-aep-local-BarrierFunction"
    )


def test_parameter_overrides_and_conditions(mini_root: Path) -> None:
    with LocalStack(
        project_root=mini_root, simulator=RecordingSimulator(), parameter_overrides={"Stage": "prod"}
    ) as prod:
        assert prod.outputs["ProdTopic"] == prod.resources["ProdOnlyTopic"]
        assert prod.environment["SHARED"] == "shared-prod"
        definition = json.loads(prod.state_machine_definitions["MiniStateMachine"])
        assert definition["States"]["Fan"]["MaxConcurrency"] == 1
    with pytest.raises(TemplateError, match="NoSuchParameter"):
        LocalStack(mini_root, RecordingSimulator(), parameter_overrides={"NoSuchParameter": "x"}).start()


# ------------------------------------------------------------------------------------ the Lambda hook


def test_invoke_runs_the_real_handler_with_a_lambda_context(mini: LocalStack) -> None:
    answer = mini.invoke("EchoFunction", {"tenantId": "acme"})
    assert answer["event"] == {"tenantId": "acme"}
    assert answer["layer"] == "mini-layer"
    assert answer["function_name"] == "stripe-aep-local-EchoFunction"
    assert answer["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:stripe-aep-local-EchoFunction"
    assert answer["memory"] == 256
    assert 0 < answer["remaining_ms"] <= 20_000
    assert mini.lambda_invocations["stripe-aep-local-EchoFunction"] == 1


def test_a_raised_exception_is_lambdas_error_document(mini: LocalStack) -> None:
    answer = mini.client("lambda").invoke(FunctionName=mini.resources["FailFunction"], Payload=b"{}")
    assert answer["FunctionError"] == "Handled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "BoomError"
    assert error["errorMessage"] == "step Boom: nothing works (request id r-1)"
    assert any("lambda_handler" in line for line in error["stackTrace"])


def test_state_machine_runs_map_branches_in_parallel_through_the_hook(mini: LocalStack) -> None:
    # Three items, MaxConcurrency 3, and a barrier of three parties: succeeds only if the calls overlap.
    arn = mini.start_execution("MiniStateMachine", {"items": ["a", "b", "c"], "parties": 3}, name="parallel-1")
    described = mini.wait(arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["met"] == [{"item": "a"}, {"item": "b"}, {"item": "c"}]
    assert mini.lambda_invocations["stripe-aep-local-BarrierFunction"] == 3
    with pytest.raises(ClientError, match="ExecutionAlreadyExists"):
        mini.start_execution("MiniStateMachine", {"items": [], "parties": 1, "fail": True}, name="parallel-1")


def test_handler_error_surfaces_as_the_class_name_in_step_functions(mini: LocalStack) -> None:
    arn = mini.start_execution("MiniStateMachine", {"items": ["x"], "parties": 1, "fail": True}, name="fails-1")
    described = mini.wait(arn)
    assert described["status"] == "FAILED"
    assert described["error"] == "BoomError"
    assert json.loads(described["cause"])["errorMessage"] == "step Boom: nothing works (request id r-1)"
    failed = [e for e in mini.history(arn) if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failed] == ["BoomError"]


def test_a_tiny_state_machine_of_the_test_invokes_a_template_function(mini: LocalStack) -> None:
    sfn = mini.client("stepfunctions")
    definition = {
        "StartAt": "Echo",
        "States": {
            "Echo": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {
                    "FunctionName": mini.resources["EchoFunction"],
                    "Payload": {"name.$": "$$.Execution.Name"},
                },
                "ResultSelector": {"echoed.$": "$.Payload.event"},
                "Next": "Fail",
            },
            "Fail": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": mini.resources["FailFunction"], "Payload.$": "$"},
                "End": True,
            },
        },
    }
    role = mini.client("iam").get_role(RoleName="stripe-aep-local-role")["Role"]["Arn"]
    machine = sfn.create_state_machine(name="tiny", definition=json.dumps(definition), roleArn=role)
    arn = mini.start_execution(machine["stateMachineArn"], {}, name="tiny-1")
    described = mini.wait(arn)
    assert (described["status"], described["error"]) == ("FAILED", "BoomError")
    succeeded = [e for e in mini.history(arn) if e["type"] == "TaskSucceeded"]
    assert json.loads(succeeded[0]["taskSucceededEventDetails"]["output"])["Payload"]["event"] == {"name": "tiny-1"}


def test_each_function_imports_with_its_own_environment(mini: LocalStack) -> None:
    # EchoFunction and OtherFunction share their code directory: each is imported under its own module.
    echo = mini.invoke("EchoFunction", {})["import_env"]
    other = mini.invoke("OtherFunction", {})["import_env"]
    assert echo == {
        "ECHO_ONLY": "echo",
        "OTHER_ONLY": None,
        "SHARED": "shared-local",
        "AWS_LAMBDA_FUNCTION_NAME": "stripe-aep-local-EchoFunction",
    }
    assert other == {
        "ECHO_ONLY": None,
        "OTHER_ONLY": "other",
        "SHARED": "shared-local",
        "AWS_LAMBDA_FUNCTION_NAME": "stripe-aep-local-other",
    }
    # The function-only variables were put back after each import; the Globals stay for the stack's life.
    assert "ECHO_ONLY" not in os.environ and "OTHER_ONLY" not in os.environ
    assert os.environ["TABLE_NAME"] == mini.resources["Table"]


# ------------------------------------------------------------------------------- events and the queue


def test_published_event_lands_in_the_queue_and_drain_hands_it_to_the_starter(mini: LocalStack) -> None:
    mini.publish_event("Tenant Signed Up", {"tenantId": "acme"})
    mini.publish_event("Tenant Signed Up", {"tenantId": "bad", "reject": True})
    mini.publish_event("Tenant Signed Up", {"tenantId": "zeta"})
    mini.publish_event("Tenant Renamed", {"tenantId": "ignored"})  # no rule matches

    answers = mini.drain_queue()

    assert len(answers) == 2  # BatchSize 2: three messages, two batches
    failures = [f for answer in answers for f in answer["batchItemFailures"]]
    assert len(failures) == 1
    table = mini.client("dynamodb")
    items = table.scan(TableName=mini.resources["Table"])["Items"]
    assert sorted(i["pk"]["S"] for i in items) == ["TENANT#acme", "TENANT#zeta"]
    assert {i["source"]["S"] for i in items} == {"aws:sqs"}
    # Processed messages were deleted; the reported failure stays in flight (not received again yet).
    attributes = mini.client("sqs").get_queue_attributes(
        QueueUrl=mini.signup_queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert (
        attributes["ApproximateNumberOfMessages"],
        attributes["ApproximateNumberOfMessagesNotVisible"],
    ) == (
        "0",
        "1",
    )


def test_tenant_secret_is_created_then_updated(mini: LocalStack) -> None:
    first = mini.put_tenant_secret("acme", "sk_test_one")
    second = mini.put_tenant_secret("acme", "sk_test_two")
    assert first == second
    value = mini.client("secretsmanager").get_secret_value(SecretId="stripe-aep-local/tenants/acme")
    assert value["SecretString"] == "sk_test_two"


# ------------------------------------------------------------------------------------ life cycle


def test_stop_restores_the_process_and_a_second_stack_starts_clean(mini_root: Path) -> None:
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction._invoke_lambda
    before = dict(os.environ)
    first = LocalStack(mini_root, RecordingSimulator()).start()
    try:
        with pytest.raises(StackError, match="another LocalStack"):
            LocalStack(mini_root, RecordingSimulator()).start()
        first.put_tenant_secret("acme", "sk_test_one")
        assert first.invoke("EchoFunction", {})["layer"] == "mini-layer"
        assert LambdaFunction._invoke_lambda is not original
    finally:
        first.stop()
    first.stop()  # twice is harmless
    assert dict(os.environ) == before
    assert LambdaFunction._invoke_lambda is original

    with LocalStack(mini_root, RecordingSimulator()) as second:
        secrets = second.client("secretsmanager").list_secrets()["SecretList"]
        assert [s["Name"] for s in secrets] == ["stripe-aep-local/adobe"]  # acme's secret was not carried over
        assert second.invoke("EchoFunction", {})["layer"] == "mini-layer"
        assert second.lambda_invocations["stripe-aep-local-EchoFunction"] == 1


# ---------------------------------------------------------------------------- the repository's template


@pytest.fixture
def app_stack() -> Iterator[LocalStack]:
    """The repository's template on moto, without contract checks (these tests make no Adobe call)."""
    require_app()
    with LocalStack(project_root=Path(__file__).resolve().parents[2]) as started:
        yield started


def _types(stack: LocalStack) -> dict[str, str]:
    return stack.resource_types


def test_repository_template_resources_exist_on_moto(app_stack: LocalStack) -> None:
    types = _types(app_stack)
    tables = [lid for lid, kind in types.items() if kind == "AWS::DynamoDB::Table"]
    assert tables, "the template declares no table"
    table = app_stack.client("dynamodb").describe_table(TableName=app_stack.resources[tables[0]])["Table"]
    assert "gsi1" in [g["IndexName"] for g in table.get("GlobalSecondaryIndexes", [])]

    queues = app_stack.client("sqs").list_queues().get("QueueUrls", [])
    assert sorted(queues) == sorted(app_stack.resources[lid] for lid, k in types.items() if k == "AWS::SQS::Queue")
    assert app_stack.signup_queue_url in queues

    buses = [b["Name"] for b in app_stack.client("events").list_event_buses()["EventBuses"]]
    for lid in (lid for lid, kind in types.items() if kind == "AWS::Events::EventBus"):
        assert app_stack.resources[lid] in buses

    machines = [lid for lid, kind in types.items() if kind == "AWS::Serverless::StateMachine"]
    assert len(machines) >= 3
    function_arns = {spec.function_arn for spec in app_stack.functions.values()}
    for lid in machines:
        described = app_stack.client("stepfunctions").describe_state_machine(stateMachineArn=app_stack.resources[lid])
        assert "${" not in described["definition"], lid
        used = set(_function_names(json.loads(described["definition"])))
        assert used and used <= function_arns, (lid, used - function_arns)


def _function_names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "FunctionName" and isinstance(value, str):
                yield value
            else:
                yield from _function_names(value)
    elif isinstance(node, list):
        for value in node:
            yield from _function_names(value)


def test_signup_event_reaches_start_execution_through_the_queue(app_stack: LocalStack) -> None:
    starters = [spec for spec in app_stack.functions.values() if spec.code_dir.name == "start_execution"]
    if not starters or not (starters[0].code_dir / "app.py").is_file():
        pytest.skip("functions/start_execution/app.py does not exist yet")
    app_stack.publish_event("Tenant Signed Up", {"tenantId": "acme"})

    answers = app_stack.drain_queue()

    assert answers == [{"batchItemFailures": []}]
    machines = [lid for lid, kind in _types(app_stack).items() if kind == "AWS::Serverless::StateMachine"]
    started = [
        execution["name"]
        for lid in machines
        for execution in app_stack.client("stepfunctions").list_executions(stateMachineArn=app_stack.resources[lid])[
            "executions"
        ]
    ]
    assert len(started) == 1 and started[0].startswith("provision-acme-"), started
    assert app_stack.lambda_invocations[starters[0].function_name] == 1


def test_provision_runs_on_the_stack_against_the_simulator(stack: LocalStack, tenant_factory: Any) -> None:
    # The machinery end to end: console input -> moto's ASL -> in-process handlers -> simulator over HTTP.
    tenant_factory("acme")
    arn = stack.start_execution("ProvisionStateMachine", {"tenantId": "acme", "resourcePaths": ["charges"]}, "p-1")

    described = stack.wait(arn, timeout_s=120)

    assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
    flows = stack.simulator.objects("flows")
    assert [f["name"] for f in flows] == ["stripe-aep/acme/charges/flow"]
    base = stack.simulator.objects("connections")
    assert [stack.simulator.stripe_key_of(c["id"]) for c in base] == [DEFAULT_STRIPE_KEY]
    # No secret travels in the execution's history.
    history = json.dumps(stack.history(arn), default=str)
    assert DEFAULT_STRIPE_KEY not in history
    assert stack.adobe_credential["client_secret"] not in history
