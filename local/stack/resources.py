"""Template -> moto: what `LocalStack.start` creates from template.yaml (names and ARNs planned first, then
secrets, the table, topics, queues, buses, rules, functions and state machines; the rest listed in `skipped`)."""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

from local.stack.base import STACK_NAME, StackBase, StackError
from local.stack.lambda_hook import FunctionSpec
from local.stack.tables import create_table
from local.stack.template import ACCOUNT_ID, REGION, Resolver, TemplateError, substitute_definition

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


#: Variables the starting process may set for the in-process handlers (the demo quietens them; tests shorten
#: the Adobe timeouts).
LOCAL_ENV_OVERRIDES = (
    "POWERTOOLS_LOG_LEVEL",
    "POWERTOOLS_METRICS_DISABLED",
    # test knobs: a small Adobe read timeout and settle window (uncertain creates)
    "ADOBE_READ_TIMEOUT_S",
    "ADOBE_CREATE_SETTLE_S",
)


def _dummy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "# the local stack runs the real handler in-process\n")
    return buffer.getvalue()


class TemplateResources(StackBase):
    """Creates on moto what the template declares (`LocalStack.start` calls `_create`)."""

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
        table = create_table(self.client("dynamodb"), self._attrs[logical_id]["Ref"], p)
        if "LatestStreamArn" in table:
            self._attrs[logical_id]["StreamArn"] = table["LatestStreamArn"]

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
