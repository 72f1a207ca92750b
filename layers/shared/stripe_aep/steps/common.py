"""What the steps share: their input and output bases, the tenant lookups, the explore check and the
rotation-check clean-up (per-kind operations: ``stripe_aep.catalogue``).

Step inputs are flat camelCase payloads built by the state machines (docs/architecture.md); unknown keys are
ignored so that a state machine can pass its whole item. Step outputs are ``StepOutput`` models, declared next
to their step; ``stripe_aep.handler.step_handler`` turns them into the Lambda's JSON payload, whose keys the
ASL's ``ResultSelector`` reads (tests/unit/test_step_contracts.py checks every path against the models).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from stripe_aep.aep import (
    AepValidationError,
    AuthenticationError,
    NotFoundError,
)
from stripe_aep.catalogue import ROTATION_CHECK, Ref
from stripe_aep.errors import StripeSourceRejectedError, TenantNotFoundError
from stripe_aep.runtime import Runtime
from stripe_aep.store import has_intent, tenant_key
from stripe_aep.tenants import ResourcePath, Sandbox, TenantId

if TYPE_CHECKING:
    from stripe_aep.aep import PlatformClient


class StepInput(BaseModel):
    """Base of every step's payload; ``executionName`` is ``$$.Execution.Name`` (``manual`` when invoked by hand)."""

    # defer_build: a handler builds the validator of the one input model it reads, on its first event.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    executionName: str = "manual"


class StepOutput(BaseModel):
    """Base of every step's answer: camelCase fields, exactly the keys of the Lambda's payload.

    ``step_handler`` answers ``payload()``: a field with a default that the step leaves unset is absent from the
    payload (the ASL gives it its default), one set to ``None`` is ``null``.
    """

    # defer_build: a handler builds the one output model it returns, on its first event.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    def payload(self) -> dict[str, Any]:
        """The JSON object the Lambda answers: ``model_dump(mode="json", by_alias=True, exclude_unset=True)``."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


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


def load_tenant(runtime: Runtime, tenant_id: str) -> dict[str, Any]:
    """The tenant item; raises ``TenantNotFoundError`` when DynamoDB holds none."""
    item = runtime.store.get(tenant_key(tenant_id))
    if item is None:
        raise TenantNotFoundError(f"tenant {tenant_id} is unknown: no tenant item in DynamoDB")
    return item


def sandbox_of(runtime: Runtime, tenant_id: str, item: Mapping[str, Any] | None = None) -> str:
    """The sandbox the tenant was provisioned in (from ``item`` when it holds it, else the tenant item)."""
    if item and item.get("sandbox"):
        return str(item["sandbox"])
    tenant = load_tenant(runtime, tenant_id)
    return str(tenant.get("sandbox") or runtime.settings.default_sandbox)


def remove_rotation_check(runtime: Runtime, client: PlatformClient, tenant_id: str) -> bool:
    """Delete a temporary rotation-check base connection (``catalogue.ROTATION_CHECK``) a crashed rotation left
    behind; True if one was.

    Known by ID, or (intent recorded, ID not) found once by its deterministic name. 404 counts as deleted.
    """
    kind, ref = ROTATION_CHECK, Ref("", tenant_id)
    key = kind.key(ref)
    item = runtime.store.get(key) or {}
    ids: list[str] = []
    if item.get(f"{kind.attribute}_id"):
        ids.append(str(item[f"{kind.attribute}_id"]))
    elif has_intent(item, kind.attribute):
        found = kind.find(client, kind.name(ref))
        if found is not None:
            ids.append(found.id)
    else:
        return False
    for connection_id in ids:
        with contextlib.suppress(NotFoundError):
            client.delete_base_connection(connection_id)
    runtime.store.forget_object(key, kind.attribute)
    return bool(ids)
