"""The one-machine stack: the real application on moto and the AEP simulator, in this process.

`LocalStack` starts moto's `ThreadedMotoServer` on 127.0.0.1 with Step Functions execution turned on
and its DynamoDB calls passed through to Amazon's DynamoDB Local (`local.stack.dynamodb_local`)
(`POST /moto-api/config {"stepfunctions": {"execute_state_machine": true}}`), reads `template.yaml` (SAM),
creates on moto what it declares, and replaces moto's Lambda invoke with an in-process call of the real
handlers (`local.stack.lambda_hook`). What moto need not have (alarms, dashboards, schedules, log groups,
layers, event source mappings) is listed in `LocalStack.skipped`.

This module starts and stops the stack (moto, DynamoDB Local, the simulator, and the process state it changes:
os.environ, sys.path, sys.modules, caches); `local.stack.resources` creates the template's resources on moto,
`local.stack.operations` is what a started stack does (executions, invocations, events, queues, faults), and
`local.stack.base` holds what they share (the stack's state, its boto3 clients, `StackError`).

    with LocalStack(project_root=Path(".")) as stack:
        arn = stack.start_execution("ProvisionStateMachine", {"tenantId": "acme"}, name="provision-acme-1")
        stack.wait(arn)["status"]   # "SUCCEEDED"
"""

from __future__ import annotations

import copy
import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any

import requests
from aws_lambda_powertools.utilities import parameters
from botocore.client import BaseClient
from moto.core.config import default_user_config
from moto.events.utils import EventTemplateParser

from local.stack import dynamodb_local, moto_patches
from local.stack.base import AdobeCredential, Simulator, StackError
from local.stack.dynamodb_local import DynamoDBLocal, MotoWithDynamoDBLocal
from local.stack.lambda_hook import FunctionSpec, LambdaContext, LambdaFault, LambdaRuntime
from local.stack.operations import StackOperations
from local.stack.resources import TemplateResources
from local.stack.template import (
    ACCOUNT_ID,
    REGION,
    Resolver,
    TemplateError,
    load_template,
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
_active: LocalStack | None = None


class LocalStack(TemplateResources, StackOperations):
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
            # moto's caches first: the runtime's in-process Lambda client wraps the cached client of other services.
            self._exit.enter_context(moto_patches.installed())
            self._exit.enter_context(self._runtime.patched())
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
