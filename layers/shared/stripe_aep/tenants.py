"""Tenant ids, the state machines' inputs, secret and execution names (AEP object names: ``stripe_aep.names``).

A tenant id is validated (``TENANT_ID_PATTERN``) before it forms a secret name, an execution name or an AEP
name, so that ``../other``, ``*``, look-alike Unicode letters or over-long ids never reach any of them.
Inputs follow docs/architecture.md; their JSON Schemas are in ``schemas/``.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from stripe_aep.clock import now_s
from stripe_aep.errors import InputValidationError
from stripe_aep.names import (  # noqa: F401 (the name rules, re-exported for callers of this module)
    base_connection_name,
    dataflow_name,
    dataset_name,
    source_connection_name,
    target_connection_name,
)
from stripe_aep.resources import RESOURCE_PATHS
from stripe_aep.schedule import DEFAULT_START_DELAY_S, Frequency, Schedule

#: 3-40 characters: lowercase ASCII letters, digits, hyphens inside. 40 keeps
#: ``deprovision-{tenant}-{12 hex}`` within Step Functions' 80-character execution names.
TENANT_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{1,38}[a-z0-9]", re.ASCII)
#: AEP sandbox names: lowercase letters, digits and hyphens (Adobe's sandbox naming rules), at most 63 here.
SANDBOX_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}", re.ASCII)

_InputT = TypeVar("_InputT", bound=BaseModel)


def validate_tenant_id(value: str) -> str:
    """Return ``value`` when it is a valid tenant id; raise ``ValueError`` naming the rule otherwise."""
    if not isinstance(value, str) or not TENANT_ID_PATTERN.fullmatch(value):
        raise ValueError("tenant id must be 3-40 characters of lowercase ASCII letters, digits and inner hyphens")
    return value


def validate_sandbox(value: str) -> str:
    """Return ``value`` when it is a valid sandbox name; raise ``ValueError`` otherwise."""
    if not isinstance(value, str) or not SANDBOX_PATTERN.fullmatch(value):
        raise ValueError("sandbox must be 1-63 characters of lowercase ASCII letters, digits and hyphens")
    return value


def validate_resource_path(value: str) -> str:
    """Return ``value`` when it is one of the six Stripe resource paths; raise ``ValueError`` otherwise."""
    if value not in RESOURCE_PATHS:
        raise ValueError(f"resource path must be one of {', '.join(RESOURCE_PATHS)}")
    return value


TenantId = Annotated[str, AfterValidator(validate_tenant_id)]
Sandbox = Annotated[str, AfterValidator(validate_sandbox)]
ResourcePath = Annotated[str, AfterValidator(validate_resource_path)]


class _Input(BaseModel):
    """Base of console inputs: unknown keys are rejected, so a typo is an error, not a silent default; and types
    are strict, so ``"purge": "yes"`` or ``"interval": "1"`` is an error, not a guess."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True, strict=True, defer_build=True)


class ScheduleInput(_Input):
    """A dataflow schedule as the console input gives it.

    ``startTime`` is epoch **seconds** (UTC); ``interval`` counts ``frequency`` units. Adobe's rules
    (``stripe_aep.schedule.Schedule``) are checked here already, so a console user or the CLI learns of a
    broken rule before anything starts; ``schedule`` is the value built by that check (without a
    ``startTime``, it starts ``DEFAULT_START_DELAY_S`` after validation).
    """

    frequency: Frequency
    interval: int | None = None
    startTime: int | None = Field(default=None, ge=0)
    _schedule: Schedule = PrivateAttr()

    @model_validator(mode="after")
    def _adobe_rules(self) -> ScheduleInput:
        """Adobe's schedule rules, from the one place they are written (``stripe_aep.schedule``)."""
        start = self.startTime if self.startTime is not None else now_s() + DEFAULT_START_DELAY_S
        try:
            self._schedule = Schedule(start_time=start, frequency=self.frequency, interval=self.interval)
        except ValidationError as exc:
            raise ValueError("; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())) from None
        return self

    @property
    def schedule(self) -> Schedule:
        """The validated schedule (``startTime`` defaulted as the class docstring says)."""
        return self._schedule


class FieldSelectionInput(_Input):
    """A tenant's choice of one resource path's fields: ``include`` or ``exclude``, a list of Stripe field names
    (checked against the table by ``stripe_aep.selection.check_selection``)."""

    include: list[str] | None = Field(default=None, min_length=1, max_length=500)
    exclude: list[str] | None = Field(default=None, min_length=1, max_length=500)


class ProvisionInput(_Input):
    """Console input of the provision state machine (schemas/provision-input.schema.json)."""

    tenantId: TenantId
    sandbox: Sandbox | None = None
    resourcePaths: list[ResourcePath] | None = Field(default=None, min_length=1)
    schedule: ScheduleInput | None = None
    #: Per resource path, the fields the tenant wants (``stripe_aep.selection``); default: every field.
    fields: dict[ResourcePath, FieldSelectionInput] | None = None

    @field_validator("resourcePaths")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("resource paths must not repeat")
        return value


class DeprovisionInput(_Input):
    """Console input of the deprovision state machine (schemas/deprovision-input.schema.json)."""

    tenantId: TenantId
    purge: bool = False


class LifecycleInput(_Input):
    """Console input of the lifecycle state machine (schemas/lifecycle-input.schema.json)."""

    operation: Literal["update_schedule", "rotate_key", "enable", "disable", "run_now", "upgrade", "update_fields"]
    tenantId: TenantId
    resourcePaths: list[ResourcePath] | None = Field(default=None, min_length=1)
    schedule: ScheduleInput | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    #: run_now only: the on-demand window, epoch seconds (``stripe_aep.runs.check_window``).
    windowStartTime: int | None = Field(default=None, ge=0)
    windowEndTime: int | None = Field(default=None, ge=0)
    #: upgrade / update_fields: report what would be written, write nothing.
    dryRun: bool = False
    #: update_fields: per resource path ``{"include": [...]}`` or ``{"exclude": [...]}`` (``stripe_aep.selection``).
    fields: dict[ResourcePath, FieldSelectionInput] | None = None


def parse_input(model: type[_InputT], data: Any) -> _InputT:
    """Validate ``data`` as ``model``; raise ``InputValidationError`` naming every offending field.

    Pydantic's messages are reduced to ``field: reason`` so that a rejected value (which may be anything a
    caller typed) is never echoed back into logs or a state machine's Cause.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'input'}: {str(err['msg']).removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise InputValidationError(f"invalid {model.__name__}: {problems}") from None


def tenant_secret_name(prefix: str, tenant_id: str) -> str:
    """Secrets Manager name of the tenant's Stripe key; the tenant id is validated first."""
    return f"{prefix}{validate_tenant_id(tenant_id)}"


def tenant_from_secret_name(prefix: str, secret_name: str) -> str | None:
    """The tenant id a secret name belongs to, or ``None`` when it is not a valid tenant secret name."""
    if not secret_name.startswith(prefix):
        return None
    candidate = secret_name[len(prefix) :]
    return candidate if TENANT_ID_PATTERN.fullmatch(candidate) else None


def execution_name(operation: str, tenant_id: str, detail: Any) -> str:
    """Deterministic Step Functions execution name: ``{operation}-{tenant}-{sha256(detail)[:12]}``.

    The same request (same canonical JSON ``detail``) always gives the same name, so a duplicate event starts
    nothing new (StartExecution answers ExecutionAlreadyExists). At most 80 characters, ``[A-Za-z0-9-]``.
    """
    digest = hashlib.sha256(json.dumps(detail, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return f"{operation}-{validate_tenant_id(tenant_id)}-{digest[:12]}"
