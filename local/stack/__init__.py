"""The one-machine stack: the real application on moto and the AEP simulator, in this process.

`LocalStack` starts moto's `ThreadedMotoServer` on 127.0.0.1 with Step Functions execution turned on
and its DynamoDB calls passed through to Amazon's DynamoDB Local (`local.stack.dynamodb_local`)
(`POST /moto-api/config {"stepfunctions": {"execute_state_machine": true}}`), reads `template.yaml` (SAM),
creates on moto what it declares, and replaces moto's Lambda invoke with an in-process call of the real
handlers (`local.stack.lambda_hook`). What moto need not have (alarms, dashboards, schedules, log groups,
layers, event source mappings) is listed in `LocalStack.skipped`.

    with LocalStack(project_root=Path(".")) as stack:
        arn = stack.start_execution("ProvisionStateMachine", {"tenantId": "acme"}, name="provision-acme-1")
        stack.wait(arn)["status"]   # "SUCCEEDED"
"""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import socket
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import boto3
import requests
from aws_lambda_powertools.utilities import parameters
from botocore.client import BaseClient
from botocore.config import Config
from moto.core.config import default_user_config
from moto.events.utils import EventTemplateParser

from local.stack import dynamodb_local, moto_patches
from local.stack.dynamodb_local import DynamoDBLocal, MotoWithDynamoDBLocal
from local.stack.lambda_hook import FunctionSpec, LambdaContext, LambdaFault, LambdaRuntime
from local.stack.template import (
    ACCOUNT_ID,
    REGION,
    Resolver,
    TemplateError,
    load_template,
    substitute_definition,
)

__all__ = [
    "ACCOUNT_ID",
    "REGION",
    "AdobeCredential",
    "FunctionSpec",
    "LambdaContext",
    "LambdaFault",
    "LocalStack",
    "StackError",
    "TemplateError",
]

STACK_NAME = "stripe-aep-local"
EVENT_SOURCE = "saas.platform"

# Resource types moto is not asked to create (the schedule never fires on moto: invoke health_check directly).
_SKIPPED_TYPES = frozenset(
    {
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::CompositeAlarm",
        "AWS::CloudWatch::Dashboard",
        "AWS::Logs::LogGroup",
        "AWS::Logs::MetricFilter",
        "AWS::Scheduler::Schedule",
        "AWS::Scheduler::ScheduleGroup",
        "AWS::Serverless::LayerVersion",
        "AWS::Lambda::LayerVersion",
        "AWS::Lambda::Permission",
        "AWS::Lambda::EventSourceMapping",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::SNS::Subscription",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::KMS::Key",
        "AWS::KMS::Alias",
    }
)
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "KmsMasterKeyId",
    "SqsManagedSseEnabled",
)
_RULE_TARGET_KEYS = (
    "Id",
    "Arn",
    "RoleArn",
    "Input",
    "InputPath",
    "InputTransformer",
    "SqsParameters",
    "DeadLetterConfig",
    "RetryPolicy",
)


class StackError(Exception):
    """The stack cannot start or an operation on it failed (message names the resource or execution)."""


class Simulator(Protocol):
    """What the stack needs from the AEP simulator (`local.aep_simulator.AepSimulator`)."""

    url: str
    io_events: Any  # local.aep_simulator.io_events.IoEvents (push health)

    def register_client(self, client_id: str, client_secret: str, ims_org: str) -> None: ...


class AdobeCredential(dict[str, Any]):
    """The fake OAuth Server-to-Server credential seeded in the Adobe credential secret.

    Keys: `client_id`, `client_secret`, `ims_org`, `scopes` (list of str). The repr hides the secret.
    """

    def __repr__(self) -> str:
        return f"AdobeCredential(client_id={self['client_id']!r}, ims_org={self['ims_org']!r}, client_secret=**)"


def _fake_adobe_credential() -> AdobeCredential:
    return AdobeCredential(
        client_id="local-client-id",
        client_secret="local-client-secret",  # noqa: S106 - a fake value the simulator is told to accept
        ims_org="LOCAL0000000000000000000@AdobeOrg",
        scopes=[
            "openid",
            "AdobeID",
            "read_organizations",
            "additional_info.projectedProductContext",
            "session",
        ],
    )


def _dummy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "# the local stack runs the real handler in-process\n")
    return buffer.getvalue()


def _free_port(preferred: int | None) -> int:
    """`preferred` when it can be bound on 127.0.0.1 again, else an ephemeral port."""
    if preferred:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", preferred))
                return preferred
            except OSError:
                pass
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


_QUIET_LOGGERS = {
    "werkzeug": logging.ERROR,
    "moto.stepfunctions.parser.asl.component.eval_component": logging.CRITICAL,
}


def _clear_process_caches() -> None:
    """Caches that outlive a stack: Powertools Parameters (secrets, providers) and the IMS token cache."""
    parameters.clear_caches()
    aep = sys.modules.get("stripe_aep.aep")
    clear_tokens = getattr(aep, "clear_token_cache", None)
    if callable(clear_tokens):
        clear_tokens()


# moto 5.2.5 delivers rule targets the event through a default input template that leaves out the "account"
# field every EventBridge event carries (events/utils.py DEFAULT_EVENT_INPUT_TEMPLATE): put it back.
_EVENT_TEMPLATE_WITH_ACCOUNT = (
    '{"id": "<id>", "time": <time>, "version": "0", "detail-type": "<detail-type>", "source": "<source>", '
    '"account": "<account>", "region": "<region>", "resources": <resources>, "detail": <detail>}'
)


def _deliver_account_field() -> Callable[[], None]:
    """Make moto's EventBridge deliver the `account` field; returns the undo."""
    original = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = _EVENT_TEMPLATE_WITH_ACCOUNT

    def undo() -> None:
        EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = original

    return undo


# Stacks started one after another in a process reuse moto's port, so that boto3 clients that a cached module
# created during an earlier stack still reach moto.
_last_moto_port: int | None = None
#: Variables the starting process may set for the in-process handlers (the demo quietens them; tests shorten
#: the Adobe timeouts).
LOCAL_ENV_OVERRIDES = (
    "POWERTOOLS_LOG_LEVEL",
    "POWERTOOLS_METRICS_DISABLED",
    # test knobs: a small Adobe read timeout and settle window (uncertain creates)
    "ADOBE_READ_TIMEOUT_S",
    "ADOBE_CREATE_SETTLE_S",
)
_active: LocalStack | None = None


class LocalStack:
    """The application of `project_root/template.yaml` running on moto and the AEP simulator.

    `simulator`: an already started simulator, or None to start (and later stop) a
    `local.aep_simulator.AepSimulator`.
    `max_concurrency`: overrides the `MaxConcurrency` parameter and DefinitionSubstitution.
    `parameter_overrides`: template parameter values (strings), as `sam deploy --parameter-overrides`.
    `dynamodb`: the DynamoDB Local that answers the stack's DynamoDB calls, or None for the process's shared
    one (`dynamodb_local.shared()`); its tables are deleted at start and stop (each stack starts empty).
    Only one LocalStack runs at a time in a process (moto's backends are process-global): starting a second
    raises `StackError`.
    """

    def __init__(
        self,
        project_root: Path,
        simulator: Simulator | None = None,
        max_concurrency: int | None = None,
        parameter_overrides: Mapping[str, str] | None = None,
        template_name: str = "template.yaml",
        dynamodb: DynamoDBLocal | None = None,
    ) -> None:
        self.dynamodb = dynamodb
        self.project_root = Path(project_root).resolve()
        self.template_path = self.project_root / template_name
        self._given_simulator = simulator
        self._max_concurrency = max_concurrency
        self._parameter_overrides = dict(parameter_overrides or {})
        self.simulator: Any = simulator
        self.aws_endpoint = ""
        self.resources: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.skipped: dict[str, str] = {}
        self.functions: dict[str, FunctionSpec] = {}
        self.state_machine_definitions: dict[str, str] = {}
        self.adobe_credential: AdobeCredential = _fake_adobe_credential()
        self.start_seconds = 0.0
        self._attrs: dict[str, dict[str, Any]] = {}
        self._types: dict[str, str] = {}
        self._sqs_sources: list[tuple[str, str, int]] = []  # (function logical id, queue logical id, batch size)
        self._function_urls: dict[str, Any] = {}  # function logical id -> local.stack.webhook.FunctionUrlEndpoint
        self._runtime = LambdaRuntime({})
        self._clients: dict[str, BaseClient] = {}
        self._server: MotoWithDynamoDBLocal | None = None
        self._exit = ExitStack()
        self._saved_environ: dict[str, str] | None = None
        self._saved_sys_path: list[str] | None = None
        self._modules_before: set[str] = set()
        self._moto_config_before: dict[str, Any] | None = None
        self._global_env: dict[str, str] = {}
        self._resolver: Resolver | None = None
        self._started = False

    # ------------------------------------------------------------------------------------------- lifecycle
    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> LocalStack:
        """Start the simulator (unless given) and moto, create the template's resources, install the hook.

        Raises `StackError` when another LocalStack is running, `TemplateError` when the template cannot be
        read or uses what the local stack cannot resolve.
        """
        global _active, _last_moto_port
        if _active is not None:
            raise StackError("another LocalStack is running in this process; stop it first")
        began = time.perf_counter()
        template = load_template(self.template_path)
        _active = self
        self._started = True
        try:
            self._saved_environ = dict(os.environ)
            self._saved_sys_path = list(sys.path)
            self._modules_before = set(sys.modules)
            _clear_process_caches()  # cached secrets, providers and tokens of an earlier stack
            if self.simulator is None:
                from local.aep_simulator import AepSimulator

                self.simulator = self._exit.enter_context(AepSimulator())
            self.dynamodb = self.dynamodb or dynamodb_local.shared()
            self._start_moto(self.dynamodb)
            self.dynamodb.delete_all_tables(self.client("dynamodb"))  # an earlier stack's, if one stopped badly
            self._create(template)
            self._runtime = LambdaRuntime({spec.function_name: spec for spec in self.functions.values()})
            self._exit.enter_context(self._runtime.patched())
            self._exit.enter_context(moto_patches.installed())
            self._exit.callback(_deliver_account_field())
            self.simulator.register_client(
                self.adobe_credential["client_id"],
                self.adobe_credential["client_secret"],
                self.adobe_credential["ims_org"],
            )
        except BaseException:
            self.stop()
            raise
        _last_moto_port = int(self.aws_endpoint.rsplit(":", 1)[1])
        self.start_seconds = time.perf_counter() - began
        return self

    def stop(self) -> None:
        """Stop moto and the simulator (if the stack started it), undo the hook, restore os.environ, sys.path.

        Modules of the functions and layers first imported while the stack ran are forgotten, and Powertools
        Parameters' and the IMS token caches are cleared, so the next stack's invocations are cold starts.
        Safe to call twice.
        """
        global _active
        if not self._started:
            return
        self._started = False
        try:
            self._runtime.forget_modules()
            if self._server is not None:
                try:
                    if self.dynamodb is not None:
                        self.dynamodb.delete_all_tables(self.client("dynamodb"))
                    requests.post(f"{self.aws_endpoint}/moto-api/reset", timeout=10)
                    if self._moto_config_before is not None:
                        default_user_config.update(self._moto_config_before)  # type: ignore[typeddict-item]
                finally:
                    self._server.stop()
                    self._server = None
            self._exit.close()
        finally:
            self._forget_project_modules()
            _clear_process_caches()
            if self._saved_environ is not None:
                os.environ.clear()
                os.environ.update(self._saved_environ)
            if self._saved_sys_path is not None:
                sys.path[:] = self._saved_sys_path
            self._clients.clear()
            _active = None

    def _quiet_loggers(self) -> None:
        """Silence moto's per-request access log and its ASL failure dumps (the history holds the same)."""
        for name, level in _QUIET_LOGGERS.items():
            logger = logging.getLogger(name)
            self._exit.callback(logger.setLevel, logger.level)
            logger.setLevel(level)

    def _start_moto(self, dynamodb: DynamoDBLocal) -> None:
        self._quiet_loggers()
        port = _free_port(_last_moto_port)
        dynamodb.start()
        self._server = MotoWithDynamoDBLocal(dynamodb, ip_address="127.0.0.1", port=port)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.aws_endpoint = f"http://{host}:{port}"
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            os.environ.pop(key, None)
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.aws_endpoint,
                # The in-process handlers reach DynamoDB Local directly (botocore's service-specific endpoint, as
                # Lambda reaches DynamoDB on AWS): the pass-through hop through moto cost ~1.7 ms of CPU a call.
                # Clients given moto's endpoint (tests, the CLI, `client()`) still pass through moto.
                "AWS_ENDPOINT_URL_DYNAMODB": dynamodb.url,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",  # moto accepts any credentials
                "POWERTOOLS_TRACE_DISABLED": "1",
                # moto's Step Functions interpreter calls Lambda at http://localhost:$MOTO_PORT
                "MOTO_PORT": str(port),
            }
        )
        # GET /moto-api/config does not report the stepfunctions key: keep and check moto's in-process copy.
        self._moto_config_before = copy.deepcopy(dict(default_user_config))
        answer = requests.post(
            f"{self.aws_endpoint}/moto-api/config",
            json={"stepfunctions": {"execute_state_machine": True}},
            timeout=10,
        )
        answer.raise_for_status()
        if not default_user_config.get("stepfunctions", {}).get("execute_state_machine"):
            raise StackError("moto did not turn on Step Functions execution")

    def _forget_project_modules(self) -> None:
        roots = [str(self.project_root / "functions"), *(str(p) for p in self._layer_dirs())]
        for name in set(sys.modules) - self._modules_before:
            module = sys.modules.get(name)
            path = getattr(module, "__file__", None) or ""
            if any(path.startswith(root) for root in roots):
                del sys.modules[name]

    def _layer_dirs(self) -> list[Path]:
        return [Path(p) for p in self._attrs.get("__layers__", {}).get("paths", [])]

    # ------------------------------------------------------------------------------------ template -> moto
    def _create(self, template: Mapping[str, Any]) -> None:
        parameters = self._parameters(template)
        resolver = Resolver(template, parameters, STACK_NAME, self._ref, self._get_att)
        self._resolver = resolver
        resources: dict[str, Any] = dict(template["Resources"])
        for logical_id, resource in list(resources.items()):
            condition = resource.get("Condition")
            if condition and not resolver.condition(str(condition)):
                self.skipped[logical_id] = f"{resource['Type']} (condition {condition} is false)"
                del resources[logical_id]
            else:
                self._types[logical_id] = str(resource["Type"])
        self._plan_names(resources, resolver)

        by_type: dict[str, list[str]] = {}
        for logical_id, resource in resources.items():
            by_type.setdefault(str(resource["Type"]), []).append(logical_id)

        self._create_role()
        for logical_id in by_type.pop("AWS::Serverless::LayerVersion", []) + by_type.pop(
            "AWS::Lambda::LayerVersion", []
        ):
            self._add_layer(logical_id, resources[logical_id], resolver)
        creators: list[tuple[str, Callable[[str, dict[str, Any]], None]]] = [
            ("AWS::IAM::Role", self._skip_role),
            ("AWS::SecretsManager::Secret", self._create_secret),
            ("AWS::DynamoDB::Table", self._create_table),
            ("AWS::SNS::Topic", self._create_topic),
            ("AWS::SQS::Queue", self._create_queue),
            ("AWS::Events::EventBus", self._create_event_bus),
            ("AWS::Events::Rule", self._create_rule),
        ]
        for resource_type, creator in creators:
            ids = by_type.pop(resource_type, [])
            if resource_type == "AWS::SQS::Queue":  # dead-letter queues first
                ids.sort(key=lambda i: "RedrivePolicy" in (resources[i].get("Properties") or {}))
            for logical_id in ids:
                creator(logical_id, resolver.resolve(resources[logical_id].get("Properties") or {}))

        self._global_env = {
            k: str(v)
            for k, v in resolver.resolve(
                ((template.get("Globals") or {}).get("Function") or {}).get("Environment", {}).get("Variables", {})
            ).items()
        }
        self._global_env.update(self._simulator_env())
        self._seed_adobe_credential()
        os.environ.update(self._global_env)

        for logical_id in by_type.pop("AWS::Serverless::Function", []):
            self._create_function(logical_id, resources[logical_id], template, resolver)
        for resource_type in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
            for logical_id in by_type.pop(resource_type, []):
                self._create_state_machine(logical_id, resources[logical_id], resolver)
        for resource_type, ids in by_type.items():
            for logical_id in ids:
                reason = "not needed on moto" if resource_type in _SKIPPED_TYPES else "type not handled"
                self.skipped[logical_id] = f"{resource_type} ({reason})"

        self.resources = {lid: attrs["Ref"] for lid, attrs in self._attrs.items() if not lid.startswith("__")}
        for name, output in (template.get("Outputs") or {}).items():
            condition = output.get("Condition")
            if condition and not resolver.condition(str(condition)):
                continue
            self.outputs[str(name)] = resolver.resolve(output["Value"])

    def _parameters(self, template: Mapping[str, Any]) -> dict[str, str]:
        declared: Mapping[str, Any] = template.get("Parameters") or {}
        unknown = set(self._parameter_overrides) - set(declared)
        if unknown:
            raise TemplateError(f"parameter overrides not declared in the template: {sorted(unknown)}")
        values: dict[str, str] = {}
        for name, spec in declared.items():
            if name in self._parameter_overrides:
                value: Any = self._parameter_overrides[name]
            elif name == "MaxConcurrency" and self._max_concurrency is not None:
                value = self._max_concurrency
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise TemplateError(f"parameter {name} has no default: pass it in parameter_overrides")
            values[str(name)] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        return values

    def _name(self, logical_id: str, properties: Mapping[str, Any], key: str, limit: int) -> str:
        if key in properties and self._resolver is not None:
            return str(self._resolver.resolve(properties[key]))
        return f"{STACK_NAME}-{logical_id}"[:limit]

    def _plan_names(self, resources: Mapping[str, Any], resolver: Resolver) -> None:
        """Physical names and ARNs of what can be named before creation (references may be cyclic)."""
        arn = f"{REGION}:{ACCOUNT_ID}"
        for logical_id, resource in resources.items():
            kind, props = str(resource["Type"]), resource.get("Properties") or {}
            if kind == "AWS::DynamoDB::Table":
                name = self._name(logical_id, props, "TableName", 255)
                self._attrs[logical_id] = {"Ref": name, "Arn": f"arn:aws:dynamodb:{arn}:table/{name}"}
            elif kind == "AWS::SNS::Topic":
                name = self._name(logical_id, props, "TopicName", 256)
                topic_arn = f"arn:aws:sns:{arn}:{name}"
                self._attrs[logical_id] = {"Ref": topic_arn, "TopicArn": topic_arn, "TopicName": name}
            elif kind == "AWS::SQS::Queue":
                name = self._name(logical_id, props, "QueueName", 80)
                url = f"{self.aws_endpoint}/{ACCOUNT_ID}/{name}"
                queue_arn = f"arn:aws:sqs:{arn}:{name}"
                self._attrs[logical_id] = {"Ref": url, "QueueUrl": url, "Arn": queue_arn, "QueueName": name}
            elif kind == "AWS::Events::EventBus":
                name = self._name(logical_id, props, "Name", 256)
                self._attrs[logical_id] = {
                    "Ref": name,
                    "Name": name,
                    "Arn": f"arn:aws:events:{arn}:event-bus/{name}",
                }
            elif kind == "AWS::Events::Rule":
                name = self._name(logical_id, props, "Name", 64)
                bus = str(resolver.resolve(props.get("EventBusName", "default"))).rsplit("/", 1)[-1]
                ref = name if bus == "default" else f"{bus}|{name}"
                rule_path = name if bus == "default" else f"{bus}/{name}"
                self._attrs[logical_id] = {"Ref": ref, "Arn": f"arn:aws:events:{arn}:rule/{rule_path}"}
            elif kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
                name = self._name(logical_id, props, "FunctionName", 64)
                self._attrs[logical_id] = {"Ref": name, "Arn": f"arn:aws:lambda:{arn}:function:{name}"}
            elif kind in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
                key = "Name" if kind == "AWS::Serverless::StateMachine" else "StateMachineName"
                name = self._name(logical_id, props, key, 80)
                sm_arn = f"arn:aws:states:{arn}:stateMachine:{name}"
                self._attrs[logical_id] = {"Ref": sm_arn, "Arn": sm_arn, "Name": name}
            elif kind == "AWS::SecretsManager::Secret":
                self._attrs[logical_id] = {"Name": self._name(logical_id, props, "Name", 512)}  # Ref: after create
            else:
                name = f"{STACK_NAME}-{logical_id}"
                self._attrs[logical_id] = {"Ref": name, "Arn": f"arn:aws:local:{arn}:{logical_id}"}

    def _ref(self, logical_id: str) -> Any:
        return self._get_att(logical_id, "Ref")

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        attrs = self._attrs.get(logical_id)
        if attrs is None and attribute == "FunctionUrl" and logical_id.removesuffix("Url") in self._attrs:
            return self.function_url(logical_id.removesuffix("Url"))  # SAM's implicit <Function>Url
        if attrs is None:
            role = self._attrs.get("__role__", {})
            if logical_id.endswith("Role") and role:  # SAM's implicit <Function>Role / <StateMachine>Role
                return role["Ref" if attribute == "Ref" else "Arn"]
            raise TemplateError(f"reference to unknown resource {logical_id!r}")
        if attribute not in attrs:
            raise TemplateError(f"{logical_id}.{attribute} is not known (yet) to the local stack")
        return attrs[attribute]

    def _create_role(self) -> None:
        name = f"{STACK_NAME}-role"
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        role = self.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
        self._attrs["__role__"] = {"Ref": name, "Arn": role["Arn"]}

    def _skip_role(self, logical_id: str, properties: dict[str, Any]) -> None:
        self._attrs[logical_id] = dict(self._attrs["__role__"])
        self.skipped[logical_id] = "AWS::IAM::Role (one local role serves every function and state machine)"

    def _add_layer(self, logical_id: str, resource: Mapping[str, Any], resolver: Resolver) -> None:
        props = resolver.resolve(resource.get("Properties") or {})
        content = props.get("ContentUri")
        if isinstance(content, str):
            path = (self.template_path.parent / content).resolve()
            self._attrs.setdefault("__layers__", {"Ref": None, "paths": []})["paths"].append(str(path))
            if str(path) not in sys.path:
                sys.path.insert(0, str(path))
        self._attrs[logical_id] = {"Ref": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:{logical_id}:1"}
        self.skipped[logical_id] = f"{resource['Type']} (its ContentUri is put on sys.path instead)"

    def _create_secret(self, logical_id: str, properties: dict[str, Any]) -> None:
        name = self._attrs[logical_id]["Name"]
        secret = self.client("secretsmanager").create_secret(
            Name=name,
            Description=str(properties.get("Description", "")),
            SecretString=str(properties.get("SecretString", "{}")),
        )
        self._attrs[logical_id].update({"Ref": secret["ARN"], "Id": secret["ARN"]})

    def _seed_adobe_credential(self) -> None:
        """Put the fake credential in the secret ADOBE_CREDENTIAL_SECRET names (created when missing)."""
        secret_id = self._global_env.get("ADOBE_CREDENTIAL_SECRET")
        if not secret_id:
            return
        secrets = self.client("secretsmanager")
        value = json.dumps(dict(self.adobe_credential))
        try:
            secrets.put_secret_value(SecretId=secret_id, SecretString=value)
        except secrets.exceptions.ResourceNotFoundException:
            secrets.create_secret(Name=secret_id, SecretString=value)

    def _create_table(self, logical_id: str, p: dict[str, Any]) -> None:
        args: dict[str, Any] = {
            "TableName": self._attrs[logical_id]["Ref"],
            "KeySchema": p["KeySchema"],
            "AttributeDefinitions": p["AttributeDefinitions"],
            "BillingMode": p.get("BillingMode", "PROVISIONED"),
        }
        for key in ("ProvisionedThroughput", "LocalSecondaryIndexes", "Tags", "DeletionProtectionEnabled"):
            if key in p:
                args[key] = p[key]
        if "GlobalSecondaryIndexes" in p:
            keep = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput")
            args["GlobalSecondaryIndexes"] = [{k: g[k] for k in keep if k in g} for g in p["GlobalSecondaryIndexes"]]
        if "StreamSpecification" in p:
            args["StreamSpecification"] = {"StreamEnabled": True, **p["StreamSpecification"]}
        if "SSESpecification" in p:
            args["SSESpecification"] = {"Enabled": p["SSESpecification"].get("SSEEnabled", True)}
        dynamodb = self.client("dynamodb")
        table = dynamodb.create_table(**args)["TableDescription"]
        if "LatestStreamArn" in table:
            self._attrs[logical_id]["StreamArn"] = table["LatestStreamArn"]
        ttl = p.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=args["TableName"],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )

    def _create_topic(self, logical_id: str, p: dict[str, Any]) -> None:
        self.client("sns").create_topic(Name=self._attrs[logical_id]["TopicName"])

    def _create_queue(self, logical_id: str, p: dict[str, Any]) -> None:
        attributes = {
            key: str(p[key]).lower() if isinstance(p[key], bool) else str(p[key])
            for key in _QUEUE_ATTRIBUTES
            if key in p
        }
        for key in ("RedrivePolicy", "RedriveAllowPolicy"):
            if key in p:
                attributes[key] = p[key] if isinstance(p[key], str) else json.dumps(p[key])
        url = self.client("sqs").create_queue(QueueName=self._attrs[logical_id]["QueueName"], Attributes=attributes)[
            "QueueUrl"
        ]
        if url != self._attrs[logical_id]["QueueUrl"]:
            raise StackError(f"moto named queue {logical_id} {url}, expected {self._attrs[logical_id]['QueueUrl']}")

    def _create_event_bus(self, logical_id: str, p: dict[str, Any]) -> None:
        self.client("events").create_event_bus(Name=self._attrs[logical_id]["Name"])

    def _create_rule(self, logical_id: str, p: dict[str, Any]) -> None:
        name = self._attrs[logical_id]["Ref"].rsplit("|", 1)[-1]
        bus = str(p.get("EventBusName", "default"))
        rule: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": p.get("State", "ENABLED")}
        if "EventPattern" in p:
            pattern = p["EventPattern"]
            rule["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
        if "ScheduleExpression" in p:
            rule["ScheduleExpression"] = p["ScheduleExpression"]
        if "Description" in p:
            rule["Description"] = p["Description"]
        events = self.client("events")
        events.put_rule(**rule)
        targets = [{k: t[k] for k in _RULE_TARGET_KEYS if k in t} for t in p.get("Targets", [])]
        if targets:
            answer = events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
            if answer.get("FailedEntryCount"):
                raise StackError(f"rule {logical_id}: targets refused: {answer['FailedEntries']}")

    def _simulator_env(self) -> dict[str, str]:
        """What every local function's environment gets on top of the template's: the simulator's URLs, and the
        logging/metrics switches (`LOCAL_ENV_OVERRIDES`) when the process that starts the stack sets them."""
        url = str(self.simulator.url).rstrip("/")
        before = self._saved_environ or {}
        overrides = {k: before[k] for k in LOCAL_ENV_OVERRIDES if k in before}
        return {
            "PLATFORM_URL": url,
            "IMS_URL": str(getattr(self.simulator, "ims_url", url)).rstrip("/"),
            "WEBHOOK_KEY_HOST": url,  # the simulator serves I/O Events' public keys (static.adobeioevents.com)
            **overrides,
        }

    def _create_function(
        self, logical_id: str, resource: Mapping[str, Any], template: Mapping[str, Any], resolver: Resolver
    ) -> None:
        globals_ = resolver.resolve((template.get("Globals") or {}).get("Function") or {})
        own = resolver.resolve(resource.get("Properties") or {})
        props = {**globals_, **own}
        environment = dict(self._global_env)
        environment.update({k: str(v) for k, v in own.get("Environment", {}).get("Variables", {}).items()})
        environment.update(self._simulator_env())
        code_uri = props.get("CodeUri")
        if not isinstance(code_uri, str):
            raise TemplateError(f"{logical_id}: CodeUri must be a local directory")
        name = self._attrs[logical_id]["Ref"]
        spec = FunctionSpec(
            logical_id=logical_id,
            function_name=name,
            function_arn=self._attrs[logical_id]["Arn"],
            code_dir=(self.template_path.parent / code_uri).resolve(),
            handler=str(props.get("Handler", "app.lambda_handler")),
            environment=environment,
            timeout_s=int(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
        )
        self.client("lambda").create_function(
            FunctionName=name,
            Runtime=str(props.get("Runtime", "python3.13")),
            Role=self._attrs["__role__"]["Arn"],
            Handler=spec.handler,
            Code={"ZipFile": _dummy_zip()},
            Timeout=spec.timeout_s,
            MemorySize=spec.memory_mb,
            Environment={"Variables": environment},
        )
        self.functions[logical_id] = spec
        for event_id, event in (own.get("Events") or {}).items():
            event_props = event.get("Properties") or {}
            if event.get("Type") == "SQS":
                queue_id = self._logical_id_of(event_props["Queue"])
                self._sqs_sources.append((logical_id, queue_id, int(event_props.get("BatchSize", 10))))
                self.skipped[f"{logical_id}.{event_id}"] = "SQS event source mapping (use LocalStack.drain_queue)"
            else:
                self.skipped[f"{logical_id}.{event_id}"] = f"{event.get('Type')} event (invoke the function directly)"

    def _logical_id_of(self, physical: Any) -> str:
        for logical_id, attrs in self._attrs.items():
            if physical in attrs.values() and not logical_id.startswith("__"):
                return logical_id
        raise TemplateError(f"no resource of the template has the name or ARN {physical!r}")

    def _create_state_machine(self, logical_id: str, resource: Mapping[str, Any], resolver: Resolver) -> None:
        props = resource.get("Properties") or {}
        if "DefinitionUri" in props:
            uri = resolver.resolve(props["DefinitionUri"])
            if not isinstance(uri, str):
                raise TemplateError(f"{logical_id}: DefinitionUri must be a local file")
            text = (self.template_path.parent / uri).read_text(encoding="utf-8")
        elif "Definition" in props:
            text = json.dumps(resolver.resolve(props["Definition"]))
        elif "DefinitionString" in props:
            text = str(resolver.resolve(props["DefinitionString"]))
        else:
            raise TemplateError(f"{logical_id}: no Definition, DefinitionUri or DefinitionString")
        substitutions = resolver.resolve(props.get("DefinitionSubstitutions") or {})
        if self._max_concurrency is not None and "MaxConcurrency" in substitutions:
            substitutions["MaxConcurrency"] = str(self._max_concurrency)
        definition = substitute_definition(text, substitutions)
        try:
            json.loads(definition)
        except ValueError as exc:
            raise TemplateError(f"{logical_id}: the substituted definition is not JSON: {exc}") from exc
        self.client("stepfunctions").create_state_machine(
            name=self._attrs[logical_id]["Name"],
            definition=definition,
            roleArn=self._attrs["__role__"]["Arn"],
            type=str(resolver.resolve(props.get("Type", "STANDARD"))),
        )
        self.state_machine_definitions[logical_id] = definition

    # ---------------------------------------------------------------------------------------------- use
    @property
    def lambda_invocations(self) -> Counter[str]:
        """In-process handler calls by function name (physical name, as moto knows it)."""
        return self._runtime.invocations

    def inject_lambda_fault(
        self,
        function_logical_id_or_name: str,
        kind: str = "crash",
        nth: int = 1,
        times: int = 1,
        after: bool = True,
    ) -> LambdaFault:
        """Fail the function's `nth` next call (and `times - 1` more) as Lambda would (`LambdaFault`): `crash`
        (Error `Lambda.Unknown`) or `timeout` (`Sandbox.Timedout`); `after`: the handler runs first and only
        its answer is lost. Returns the fault (its `fired` counts the failures). Raises `KeyError`."""
        if kind not in ("crash", "timeout"):
            raise ValueError(f"kind must be crash or timeout, not {kind!r}")
        name = self._physical(function_logical_id_or_name, ("AWS::Serverless::Function",))
        fault = LambdaFault(name, kind, nth=nth, times=times, after=after)  # type: ignore[arg-type]
        return self._runtime.add_fault(fault)

    def clear_lambda_faults(self) -> None:
        """Remove every injected Lambda fault."""
        self._runtime.clear_faults()

    @property
    def environment(self) -> dict[str, str]:
        """The Globals environment (resolved, simulator URLs applied), set in os.environ while running."""
        return dict(self._global_env)

    def client(self, service: str) -> Any:
        """A boto3 client for `service` bound to moto (us-east-1, fake credentials), cached per service."""
        if service not in self._clients:
            if not self.aws_endpoint:
                raise StackError("the stack is not started")
            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.aws_endpoint,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",  # noqa: S106 - moto accepts any credentials
                config=Config(retries={"max_attempts": 2, "mode": "standard"}, read_timeout=300),
            )
        return self._clients[service]

    def _physical(self, logical_id_or_name: str, kinds: Iterable[str]) -> str:
        kinds = tuple(kinds)
        if self._types.get(logical_id_or_name) in kinds:
            return str(self._attrs[logical_id_or_name]["Ref"])
        return logical_id_or_name

    def put_tenant_secret(self, tenant_id: str, stripe_key: str) -> str:
        """Create or update the tenant's Stripe secret `{TENANT_SECRET_PREFIX}{tenant_id}`; returns its ARN.

        The SecretString is the Stripe secret key itself. Nothing is registered in the simulator.
        """
        name = f"{self._global_env.get('TENANT_SECRET_PREFIX', 'stripe-aep/tenants/')}{tenant_id}"
        secrets = self.client("secretsmanager")
        try:
            arn: str = secrets.put_secret_value(SecretId=name, SecretString=stripe_key)["ARN"]
        except secrets.exceptions.ResourceNotFoundException:
            arn = secrets.create_secret(Name=name, SecretString=stripe_key)["ARN"]
        return arn

    def state_machine_arn(self, logical_id_or_arn: str) -> str:
        """The ARN of a template state machine by logical id (an ARN is returned as is)."""
        return self._physical(logical_id_or_arn, ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"))

    def start_execution(self, state_machine_logical_id: str, input: Mapping[str, Any], name: str) -> str:
        """StartExecution of a state machine (logical id or ARN) with `input`; returns the execution ARN.

        moto answers ExecutionAlreadyExists (a botocore ClientError) when `name` was used before.
        """
        answer = self.client("stepfunctions").start_execution(
            stateMachineArn=self.state_machine_arn(state_machine_logical_id),
            input=json.dumps(input),
            name=name,
        )
        arn: str = answer["executionArn"]
        return arn

    def restart_execution(self, execution_arn: str, name: str | None = None) -> str:
        """Resume a FAILED, TIMED_OUT or ABORTED execution after its cause was fixed: a new execution of the same
        state machine with the same input (moto 5 has no RedriveExecution); returns the new execution's ARN.

        `name` defaults to `<old name>-redrive-<n>` (n: 1 + the executions already named so). Every step is
        idempotent and RecordFailure expired the failed execution's create intents, so the new execution reuses
        what the failed one created. Raises `StackError` for an execution that is RUNNING or SUCCEEDED.
        """
        sfn = self.client("stepfunctions")
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] not in ("FAILED", "TIMED_OUT", "ABORTED"):
            raise StackError(f"execution {described['name']} is {described['status']}: nothing to resume")
        machine = described["stateMachineArn"]
        if name is None:
            base = f"{described['name'][:64]}-redrive-"
            pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=machine)
            taken = {e["name"] for page in pages for e in page["executions"]}
            name = next(f"{base}{n}" for n in range(1, len(taken) + 2) if f"{base}{n}" not in taken)
        return self.start_execution(machine, json.loads(described.get("input") or "{}"), name=name)

    def wait(self, execution_arn: str, timeout_s: float = 60) -> dict[str, Any]:
        """DescribeExecution once the execution left RUNNING; raises `TimeoutError` after `timeout_s` s."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout_s
        delay = 0.01
        while True:
            described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {execution_arn} still RUNNING after {timeout_s} s")
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """GetExecutionHistory of the execution, all pages, oldest event first."""
        pages = self.client("stepfunctions").get_paginator("get_execution_history").paginate(executionArn=execution_arn)
        return [event for page in pages for event in page["events"]]

    def invoke(self, function_logical_id_or_name: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Lambda Invoke (RequestResponse) through moto, so the in-process hook runs the handler.

        Returns the decoded payload: the handler's result, or Lambda's error document
        `{"errorType", "errorMessage", "requestId", "stackTrace"}` when the handler raised.
        """
        name = self._physical(function_logical_id_or_name, ("AWS::Serverless::Function",))
        answer = self.client("lambda").invoke(FunctionName=name, Payload=json.dumps(payload).encode())
        decoded: dict[str, Any] = json.loads(answer["Payload"].read() or b"null")
        return decoded

    def publish_event(self, detail_type: str, detail: Mapping[str, Any], source: str = EVENT_SOURCE) -> None:
        """PutEvents of one event on the template's custom event bus (the default bus if it declares none).

        Raises `StackError` when EventBridge reports the entry failed.
        """
        buses = [lid for lid, kind in self._types.items() if kind == "AWS::Events::EventBus"]
        bus = self._attrs[buses[0]]["Name"] if buses else "default"
        answer = self.client("events").put_events(
            Entries=[
                {
                    "Source": source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail),
                    "EventBusName": bus,
                }
            ]
        )
        if answer.get("FailedEntryCount"):
            raise StackError(f"PutEvents failed: {answer['Entries']}")

    @property
    def signup_queue_url(self) -> str:
        """URL of the queue the SQS-triggered function (start_execution) reads."""
        if not self._sqs_sources:
            raise StackError("no function of the template has an SQS event")
        return str(self._attrs[self._sqs_sources[0][1]]["QueueUrl"])

    def function_url(self, function_logical_id: str) -> str:
        """The loopback URL of a function's Function URL (started on first use; `local.stack.webhook`)."""
        from local.stack.webhook import FunctionUrlEndpoint

        if function_logical_id not in self._function_urls:
            endpoint = FunctionUrlEndpoint(lambda event: self.invoke(function_logical_id, event))
            self._exit.callback(endpoint.stop)
            self._function_urls[function_logical_id] = endpoint
        return str(self._function_urls[function_logical_id].url)

    def enable_push(self, auto_process: bool = True) -> Any:
        """Push health on the local stack: the simulator's I/O Events delivers to `WebhookReceiverFunction`'s
        Function URL; with `auto_process`, each accepted delivery is handed to `FlowRunProcessorFunction` at once
        (the queue's event source mapping). Returns the endpoint (`wait_idle()` waits for the processing)."""
        url = self.function_url("WebhookReceiverFunction")
        endpoint = self._function_urls["WebhookReceiverFunction"]
        self.simulator.io_events.webhook_url = url
        if auto_process:
            endpoint.after_accept = lambda: self.drain_queue(function_logical_id="FlowRunProcessorFunction")
        return endpoint

    def drain_queue(self, max_batches: int = 10, function_logical_id: str | None = None) -> list[dict[str, Any]]:
        """Hand the signup queue's messages to the SQS-triggered function as an event source mapping would.

        Each batch (up to the event's BatchSize, at most 10) becomes an SQS event `{"Records": [...]}` invoked
        through moto; messages not listed in the answer's `batchItemFailures` are deleted; a batch whose
        invocation failed as a whole stays on the queue (visible again after the queue's VisibilityTimeout).
        Stops at an empty receive or after `max_batches` batches. Returns the function's answers, one per
        batch (Lambda's error document for a failed invocation).
        """
        sources = [src for src in self._sqs_sources if function_logical_id in (None, src[0])]
        if not sources:
            raise StackError(f"no function of the template has an SQS event ({function_logical_id or 'any'})")
        function_id, queue_id, batch_size = sources[0]
        queue = self._attrs[queue_id]
        sqs = self.client("sqs")
        answers: list[dict[str, Any]] = []
        for _ in range(max_batches):
            messages = sqs.receive_message(
                QueueUrl=queue["QueueUrl"],
                MaxNumberOfMessages=min(batch_size, 10),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not messages:
                break
            records = [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": m.get("MessageAttributes", {}),
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": queue["Arn"],
                    "awsRegion": REGION,
                }
                for m in messages
            ]
            answer = self.invoke(function_id, {"Records": records})
            answers.append(answer)
            if answer is None or "errorType" in answer:
                continue
            failed = {item["itemIdentifier"] for item in answer.get("batchItemFailures", [])}
            done = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages)
                if m["MessageId"] not in failed
            ]
            if done:
                sqs.delete_message_batch(QueueUrl=queue["QueueUrl"], Entries=done)
        return answers
