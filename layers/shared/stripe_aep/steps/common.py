"""What the steps share: their input models and the explore check (per-kind operations: ``stripe_aep.catalogue``).

Step inputs are flat camelCase payloads built by the state machines (docs/architecture.md); unknown keys are
ignored so that a state machine can pass its whole item.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from stripe_aep.aep import (
    AepValidationError,
    AuthenticationError,
    NotFoundError,
    PlatformClient,
)
from stripe_aep.errors import StripeSourceRejectedError
from stripe_aep.tenants import ResourcePath, Sandbox, TenantId


class StepInput(BaseModel):
    """Base of every step's payload; ``executionName`` is ``$$.Execution.Name`` (``manual`` when invoked by hand)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    executionName: str = "manual"


class RawInput(StepInput):
    """A first step's payload: the execution input, still unvalidated."""

    input: Any = None


class TenantStep(StepInput):
    """A step that works on one tenant."""

    tenantId: TenantId


class SandboxStep(TenantStep):
    """A step that works on one tenant in one sandbox."""

    sandbox: Sandbox


class PathStep(SandboxStep):
    """A step that works on one (tenant, resource path) dataflow."""

    resourcePath: ResourcePath


def explore_or_reject(client: PlatformClient, base_connection_id: str, resource_path: str, what: str = "") -> int:
    """Explore ``resource_path`` through a base connection (``GET /connections/{id}/explore``, getByConnectionId,
    preview off); return how many Stripe fields Adobe sees under ``data.``.

    Raises ``StripeSourceRejectedError`` when Adobe answers 4xx (Stripe rejected the key, or the path cannot be
    read) or shows no field; throttling and 5xx propagate for the state machine's retry. The message holds
    Adobe's code and message (which masks the key), never the key; ``what`` prefixes it.
    """
    prefix = f"{what}: " if what else ""
    try:
        result = client.explore(base_connection_id, resource_path, preview=False)
    except (AepValidationError, AuthenticationError, NotFoundError) as exc:
        # Adobe's one-line message names the operation, status, error code and request id (and masks the key).
        raise StripeSourceRejectedError(f"{prefix}explore of {resource_path} failed: {exc}") from None
    fields = (result.schema_ or {}).get("properties", {}).get("data", {}).get("properties", {})
    if not fields:
        raise StripeSourceRejectedError(f"{prefix}explore of {resource_path} returned no fields under data.")
    return len(fields)
