"""Where the CLI's AWS calls go: the local stack (``.local/stack.json``) or a deployed CloudFormation stack.

Both give the same ``Backend``: boto3 clients plus the stack's Outputs (TableName, ProvisionStateMachineArn,
DeprovisionStateMachineArn, LifecycleStateMachineArn, HealthCheckFunctionName...: template.yaml ``Outputs``).
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from stripe_aep.store import Store

#: Environment variable naming the stack file (overrides the default place; ``--stack-file`` overrides both).
STACK_FILE_ENV = "STRIPE_AEP_STACK_FILE"


def default_stack_file() -> Path:
    """Where ``local up`` writes and ``--local`` reads the stack file, the same from any folder.

    ``$STRIPE_AEP_STACK_FILE`` when set, else ``$XDG_STATE_HOME/stripe-aep/local-stack.json``
    (``~/.local/state/stripe-aep/local-stack.json`` when XDG_STATE_HOME is unset).
    """
    if os.environ.get(STACK_FILE_ENV):
        return Path(os.environ[STACK_FILE_ENV]).expanduser()
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "stripe-aep" / "local-stack.json"


#: The state machine each console operation starts (template Outputs keys).
STATE_MACHINE_OUTPUTS = {
    "provision": "ProvisionStateMachineArn",
    "deprovision": "DeprovisionStateMachineArn",
    "lifecycle": "LifecycleStateMachineArn",
    "upgrade_all": "UpgradeAllStateMachineArn",
}
REQUIRED_OUTPUTS = ("TableName", *STATE_MACHINE_OUTPUTS.values(), "HealthCheckFunctionName")


class BackendError(Exception):
    """The stack cannot be found or read (no ``local up`` running, no such CloudFormation stack...)."""


@dataclass
class Backend:
    """boto3 clients bound to one stack, and that stack's Outputs.

    ``endpoint_url`` is moto's URL for a local stack, ``None`` for AWS (the standard credential chain).
    """

    outputs: dict[str, str]
    region: str | None
    endpoint_url: str | None = None
    local: bool = False
    _session: Any = field(default=None, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        missing = [key for key in REQUIRED_OUTPUTS if not self.outputs.get(key)]
        if missing:
            raise BackendError(f"the stack's Outputs lack {', '.join(missing)}")
        if self._session is None:
            if self.local:
                # moto accepts any credentials; never the operator's real ones against a local endpoint.
                self._session = boto3.Session(
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",  # noqa: S106 - moto's placeholder credentials
                    region_name=self.region or "us-east-1",
                )
            else:
                self._session = boto3.Session(region_name=self.region)

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` (cached); read timeout 900 s: an invocation may take minutes."""
        if service not in self._clients:
            self._clients[service] = self._session.client(
                service,
                endpoint_url=self.endpoint_url,
                config=Config(retries={"mode": "standard", "max_attempts": 5}, read_timeout=900),
            )
        return self._clients[service]

    def store(self) -> Store:
        """The provisioner's DynamoDB table (``stripe_aep.store.Store``) through this backend."""
        resource = self._session.resource("dynamodb", endpoint_url=self.endpoint_url)
        return Store(self.outputs["TableName"], table=resource.Table(self.outputs["TableName"]))

    def state_machine_arn(self, kind: str) -> str:
        """ARN of the ``provision``, ``deprovision``, ``lifecycle`` or ``upgrade_all`` state machine."""
        return self.outputs[STATE_MACHINE_OUTPUTS[kind]]

    @property
    def health_function(self) -> str:
        """Name of the health-check Lambda function."""
        return self.outputs["HealthCheckFunctionName"]


def read_stack_file(path: Path) -> dict[str, Any]:
    """The JSON ``stripe-aep local up`` wrote: ``{awsEndpoint, region, simulatorUrl, outputs, pid, ...}``.

    Raises ``BackendError`` when the file is missing or unreadable.
    """
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackendError(f"{path} does not exist: start the local stack with `stripe-aep local up`") from None
    except (OSError, ValueError) as exc:
        raise BackendError(f"{path} cannot be read: {type(exc).__name__}") from None
    return data


def local_backend(stack_file: Path) -> Backend:
    """A backend over the local stack described by ``stack_file``; raises ``BackendError``."""
    data = read_stack_file(stack_file)
    pid = data.get("pid")
    if isinstance(pid, int) and not process_alive(pid):
        raise BackendError(f"the local stack of {stack_file} (pid {pid}) is not running: `stripe-aep local up`")
    return Backend(
        outputs={k: str(v) for k, v in data["outputs"].items()},
        region=str(data.get("region") or "us-east-1"),
        endpoint_url=str(data["awsEndpoint"]),
        local=True,
    )


def samconfig_defaults(path: Path = Path("samconfig.toml")) -> dict[str, str]:
    """``stack_name`` and ``region`` of samconfig.toml's ``default`` environment (deploy over global)."""
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    found: dict[str, str] = {}
    environment = config.get("default", {})
    for command in ("global", "deploy"):  # deploy's values win
        parameters = environment.get(command, {}).get("parameters", {})
        found.update({k: str(parameters[k]) for k in ("stack_name", "region") if k in parameters})
    return found


def aws_backend(stack_name: str | None, region: str | None, samconfig: Path = Path("samconfig.toml")) -> Backend:
    """A backend over a deployed stack (CloudFormation DescribeStacks Outputs), standard credential chain.

    ``stack_name``/``region`` default to samconfig.toml's. Raises ``BackendError``.
    """
    defaults = samconfig_defaults(samconfig)
    stack_name = stack_name or defaults.get("stack_name")
    region = region or defaults.get("region") or os.environ.get("AWS_REGION")
    if not stack_name:
        raise BackendError(f"no --stack-name given and no stack_name in {samconfig}")
    session = boto3.Session(region_name=region)
    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except (ClientError, BotoCoreError) as exc:
        raise BackendError(
            f"cannot describe stack {stack_name}: {exc} (for the local stack of `stripe-aep local up`, pass --local)"
        ) from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    return Backend(outputs=outputs, region=session.region_name, _session=session)


def process_alive(pid: int) -> bool:
    """Whether a process of id ``pid`` exists (signal 0)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
