"""What a started `LocalStack` does for its user: executions, invocations, events, queues, Function URLs, faults
and secrets on moto."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from local.stack.base import EVENT_SOURCE, StackBase, StackError
from local.stack.lambda_hook import LambdaFault
from local.stack.template import REGION


class StackOperations(StackBase):
    """The operations of a started stack (mixed into `LocalStack`)."""

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
    def resource_types(self) -> dict[str, str]:
        """Resource type by logical id of every template resource whose condition holds (created or in
        `skipped`)."""
        return dict(self._types)

    @property
    def environment(self) -> dict[str, str]:
        """The Globals environment (resolved, simulator URLs applied), set in os.environ while running."""
        return dict(self._global_env)

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
