"""What the steps share: their input models and the idempotent ``ensure`` of an Adobe object.

Step inputs are flat camelCase payloads built by the state machines (docs/architecture.md); unknown keys are
ignored so that a state machine can pass its whole item.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from stripe_aep.aep import (
    AepValidationError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PlatformClient,
)
from stripe_aep.errors import StripeSourceRejectedError
from stripe_aep.runtime import Runtime
from stripe_aep.store import ItemKey, has_intent
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


@dataclass(frozen=True)
class AepObject:
    """An object known to exist in AEP: its ID, its etag (when Adobe gives one) and extra attributes to store."""

    id: str
    etag: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def ensure(
    runtime: Runtime,
    key: ItemKey,
    kind: str,
    owner: str,
    find: Callable[[], AepObject | None],
    create: Callable[[], AepObject],
) -> dict[str, Any]:
    """Make sure exactly one ``kind`` object exists for the item at ``key``; return the item afterwards.

    1. The item already holds ``<kind>_id``: nothing is called.
    2. An intent is recorded (an earlier attempt may have created the object and crashed before storing its
       ID): ``find()`` looks it up by its deterministic name; found -> its ID is stored.
    3. Otherwise the intent is claimed (``Store.claim_intent``; ``ConcurrentModificationError`` while another
       execution holds it), ``create()`` is called and the ID stored with a conditional write.
       A ``ConflictError`` from create (the name was taken meanwhile) falls back to ``find()``.
    On the happy path this costs no lookup call. Adobe errors propagate unchanged.
    """
    item = runtime.store.get(key) or {}
    if item.get(f"{kind}_id"):
        return item
    if has_intent(item, kind):
        found = find()
        if found is not None:
            return runtime.store.record_object(key, kind, found.id, found.etag, found.extra)
    runtime.store.claim_intent(key, kind, owner)
    try:
        created = create()
    except ConflictError:
        found = find()
        if found is None:
            raise
        created = found
    return runtime.store.record_object(key, kind, created.id, created.etag, created.extra)


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
