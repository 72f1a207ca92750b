"""In-process Lambda runtime for moto: runs the real handler instead of moto's Docker container.

moto's `LambdaFunction._invoke_lambda(event) -> (payload_str, errored, logs_str)` is replaced while a
`LambdaRuntime` is installed. Every Lambda Invoke that reaches moto (from a test's boto3 client, from a Step
Functions `arn:aws:states:::lambda:invoke` task, from `LocalStack.drain_queue`) then imports
`functions/<CodeUri>/<module>.py` once per function (its own module name, its own environment applied to
`os.environ` during the import under a lock: handlers read their configuration at cold start) and calls the
handler in the calling thread. Calls are not serialised: Map and Parallel branches run in parallel as on AWS.

A raised exception becomes the payload of Lambda's Python runtime, `{"errorMessage", "errorType", "requestId",
"stackTrace"}`, with the `X-Amz-Function-Error` flag set, so Step Functions reports `Error` = the class name.

`LambdaFault`s make the runtime fail a named function's nth call as Lambda itself would: `crash` answers
`Lambda.Unknown` (the process died without an error type, e.g. out of memory), `timeout` answers
`Sandbox.Timedout` (the function ran past its Timeout). With `after=True` the handler runs first (its Adobe and
DynamoDB effects happen) and only its answer is lost; with `after=False` it never runs.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from botocore.exceptions import ClientError
from moto.awslambda.models import LambdaFunction
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class FunctionSpec:
    """What the runtime needs to run one function: where its code is and how it is configured.

    `environment` is the function's full environment (Globals + its own, intrinsics resolved); `timeout_s` is
    the function's `Timeout` in seconds; `handler` is `module.attribute` (e.g. `app.lambda_handler`).
    """

    logical_id: str
    function_name: str
    function_arn: str
    code_dir: Path
    handler: str
    environment: Mapping[str, str]
    timeout_s: int = 3
    memory_mb: int = 128


@dataclass
class LambdaFault:
    """Fail calls `nth` .. `nth + times - 1` of the function named `function_name` (its physical name).

    `kind`: `crash` (Step Functions Error `Lambda.Unknown`) or `timeout` (`Sandbox.Timedout`). `after`: the
    handler runs to its end before the failure (effects happen, the answer is lost), else it does not run.
    `fired` counts the failures injected.
    """

    function_name: str
    kind: Literal["crash", "timeout"]
    nth: int = 1
    times: int = 1
    after: bool = True
    fired: int = 0

    def applies(self, call: int) -> bool:
        return self.nth <= call < self.nth + self.times

    def payload(self, request_id: str, timeout_s: int) -> dict[str, Any]:
        """The error document Lambda answers for this failure."""
        if self.kind == "timeout":
            message = f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds"
            return {"errorType": "Sandbox.Timedout", "errorMessage": message}
        message = f"RequestId: {request_id} Error: Runtime exited without providing a reason (injected crash)"
        return {"errorType": "Lambda.Unknown", "errorMessage": message}


@dataclass
class LambdaContext:
    """The context object of Lambda's Python runtime (the attributes Powertools and handlers read)."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    _deadline: float = field(repr=False)

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's Timeout (monotonic clock), never negative."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LambdaRuntime:
    """Runs registered functions in this process; install with `patched()` (restores moto on exit).

    `invocations` counts handler calls by function name.
    """

    def __init__(self, functions: Mapping[str, FunctionSpec]) -> None:
        self._functions = dict(functions)  # by function name
        self._modules: dict[str, ModuleType] = {}
        self._import_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self.invocations: Counter[str] = Counter()
        self.faults: list[LambdaFault] = []

    def function_named(self, name_or_arn: str) -> str | None:
        """The function name of `name_or_arn` (a name, an ARN, or an ARN qualified with `:$LATEST`), or None."""
        if name_or_arn in self._functions:
            return name_or_arn
        unqualified = name_or_arn.removesuffix(":$LATEST")
        return next((n for n, spec in self._functions.items() if spec.function_arn == unqualified), None)

    def add_fault(self, fault: LambdaFault) -> LambdaFault:
        """Inject `fault` (its calls are counted from the function's next call); raises `KeyError` for a
        function the runtime does not know."""
        if fault.function_name not in self._functions:
            raise KeyError(f"no function named {fault.function_name!r}")
        with self._count_lock:
            fault.nth += self.invocations[fault.function_name]
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._count_lock:
            self.faults.clear()

    @contextmanager
    def patched(self) -> Iterator[LambdaRuntime]:
        """Replace `LambdaFunction._invoke_lambda` with this runtime for the duration of the block, and let
        moto's ASL interpreter call it in process (`StepFunctionsLambdaClient`) rather than over HTTP."""
        original = LambdaFunction._invoke_lambda
        original_client_for = lambda_eval_utils.boto_client_for
        runtime = self
        shared = StepFunctionsLambdaClient(self, original_client_for)

        def _invoke_lambda(fn: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
            return runtime.invoke(fn.function_name, event)

        LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign,assignment]
        lambda_eval_utils.boto_client_for = shared.client_for
        try:
            yield self
        finally:
            LambdaFunction._invoke_lambda = original  # type: ignore[method-assign]
            lambda_eval_utils.boto_client_for = original_client_for

    def invoke(self, function_name: str, event: Any) -> tuple[str, bool, str]:
        """Run the handler of `function_name` on `event` (a decoded JSON value, or a JSON string).

        Returns moto's triple `(payload_json, errored, logs)`. Raises `KeyError` for a function the runtime
        does not know (moto turns it into a service error).
        """
        spec = self._functions[function_name]
        if isinstance(event, str | bytes):
            event = json.loads(event or "{}")
        request_id = str(uuid.uuid4())
        with self._count_lock:
            self.invocations[function_name] += 1
            call = self.invocations[function_name]
            fault = next((f for f in self.faults if f.function_name == function_name and f.applies(call)), None)
            if fault is not None:
                fault.fired += 1
        if fault is not None and not fault.after:
            return json.dumps(fault.payload(request_id, spec.timeout_s)), True, ""
        try:
            handler = self._handler(spec)
            context = LambdaContext(
                function_name=spec.function_name,
                function_version="$LATEST",
                invoked_function_arn=spec.function_arn,
                memory_limit_in_mb=spec.memory_mb,
                aws_request_id=request_id,
                log_group_name=f"/aws/lambda/{spec.function_name}",
                log_stream_name=f"local/[$LATEST]{request_id.replace('-', '')}",
                _deadline=time.monotonic() + spec.timeout_s,
            )
            result = handler(event, context)
            if fault is not None:
                return json.dumps(fault.payload(request_id, spec.timeout_s)), True, ""
            return json.dumps(result), False, ""
        except Exception as exc:
            return json.dumps(_error_payload(exc, request_id)), True, ""

    def _handler(self, spec: FunctionSpec) -> Handler:
        module_name, _, attribute = spec.handler.rpartition(".")
        module = self._modules.get(spec.function_name)
        if module is None:
            with self._import_lock:
                module = self._modules.get(spec.function_name)
                if module is None:
                    module = _import_with_environment(spec, module_name)
                    self._modules[spec.function_name] = module
        handler: Handler = getattr(module, attribute)
        return handler

    def forget_modules(self) -> None:
        """Drop the imported handler modules (the next call is a cold start again)."""
        with self._import_lock:
            for module in self._modules.values():
                sys.modules.pop(module.__name__, None)
            self._modules.clear()


class StepFunctionsLambdaClient:
    """The Lambda client moto's ASL interpreter invokes Task functions with (`lambda_eval_utils.boto_client_for`):
    an in-process call of the runtime instead of an HTTP request to moto's own server.

    moto builds a new boto3 client for every Task, without retries, and sends the invoke over HTTP to its own
    server, which closes every connection after one answer (werkzeug): one new TCP connection per Task. With a
    few hundred Map iterations in one process the server's accept loop (GIL-starved) lets its listen queue
    overflow, a connect times out after the kernel's SYN retries, and the interpreter turns that into
    `States.Runtime`, which fails the execution (no Retry or Catch may match it). Here the invoke runs the
    handler through `LambdaRuntime.invoke` directly (the same runtime, faults and counts as moto's path) and
    answers what boto3's `invoke` answers (`StatusCode`, `FunctionError`, `ExecutedVersion`, `Payload` as a
    stream). An unknown function raises Lambda's `ResourceNotFoundException`. Other services keep moto's client.
    """

    def __init__(self, runtime: LambdaRuntime, build: Callable[..., Any]) -> None:
        self._runtime = runtime
        self._build = build

    def client_for(self, region: str, service: str, state_credentials: Any = None) -> Any:
        """moto's `boto_client_for(region, service, state_credentials)`; `lambda` is answered in process."""
        if service != "lambda":
            return self._build(region=region, service=service, state_credentials=state_credentials)
        return self

    def invoke(self, **parameters: Any) -> dict[str, Any]:
        """Lambda `Invoke` (RequestResponse) of `FunctionName` (name, ARN or qualified ARN) with `Payload`."""
        name = self._runtime.function_named(str(parameters.get("FunctionName", "")))
        if name is None:
            raise ClientError(
                {
                    "Error": {"Code": "ResourceNotFoundException", "Message": "Function not found"},
                    "ResponseMetadata": {"HTTPStatusCode": 404},
                },
                "Invoke",
            )
        payload = parameters.get("Payload") or b"{}"
        answer, errored, _ = self._runtime.invoke(name, payload if isinstance(payload, str) else payload.decode())
        response: dict[str, Any] = {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "Payload": io.BytesIO(answer.encode()),
        }
        if errored:
            response["FunctionError"] = "Unhandled"
        return response


def _import_with_environment(spec: FunctionSpec, module_name: str) -> ModuleType:
    """Import `<code_dir>/<module_name>.py` under a name unique to the function, its environment applied."""
    path = spec.code_dir / (module_name.replace(".", "/") + ".py")
    unique_name = f"_local_lambda_{spec.logical_id}_{module_name.replace('.', '_')}"
    import_spec = importlib.util.spec_from_file_location(unique_name, path)
    if import_spec is None or import_spec.loader is None:
        raise ImportError(f"cannot import handler module {path}")
    module = importlib.util.module_from_spec(import_spec)
    lambda_env = {
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout_s),
        "_HANDLER": spec.handler,
        **spec.environment,
    }
    # Only the function's own keys are set, then put back: other threads keep seeing the process's variables.
    # The runtime's own variables (AWS_LAMBDA_*, _HANDLER) are left set: a handler running in another thread may
    # read one at any moment, and removing it for an instant made that read fail.
    saved = {key: os.environ.get(key) for key in lambda_env if key in spec.environment}
    os.environ.update(lambda_env)
    sys.modules[unique_name] = module
    try:
        import_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(unique_name, None)
        raise
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return module


def _error_payload(exc: BaseException, request_id: str) -> dict[str, Any]:
    """The error document of Lambda's Python runtime for an exception raised by a handler."""
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }
