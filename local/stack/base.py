"""What the parts of `local.stack.LocalStack` share: the errors, the fake Adobe credential, the state every part
reads (set by `LocalStack.__init__`) and boto3 clients on the stack's moto."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.client import BaseClient
from botocore.config import Config

from local.stack.lambda_hook import FunctionSpec, LambdaRuntime
from local.stack.template import REGION, Resolver

STACK_NAME = "stripe-aep-local"
EVENT_SOURCE = "saas.platform"


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


class StackBase:
    """The state of a LocalStack (assigned in `LocalStack.__init__`), and its AWS clients."""

    project_root: Path
    template_path: Path
    simulator: Any
    aws_endpoint: str
    resources: dict[str, Any]
    outputs: dict[str, Any]
    skipped: dict[str, str]
    functions: dict[str, FunctionSpec]
    state_machine_definitions: dict[str, str]
    adobe_credential: AdobeCredential
    _max_concurrency: int | None
    _parameter_overrides: dict[str, str]
    _attrs: dict[str, dict[str, Any]]
    _types: dict[str, str]
    _sqs_sources: list[tuple[str, str, int]]
    _function_urls: dict[str, Any]
    _runtime: LambdaRuntime
    _clients: dict[str, BaseClient]
    _exit: ExitStack
    _saved_environ: dict[str, str] | None
    _global_env: dict[str, str]
    _resolver: Resolver | None

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

    def function_url(self, function_logical_id: str) -> str:
        """The loopback URL of a function's Function URL (`StackOperations.function_url`)."""
        raise NotImplementedError
