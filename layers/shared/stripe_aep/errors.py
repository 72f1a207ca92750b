"""Errors raised by the provisioning steps themselves (Adobe's errors live in ``stripe_aep.aep.errors``).

The class name is what a Step Functions Retry/Catch matches (the Lambda runtime reports it as ``errorType``),
so these names are part of the state machines' contract: see docs/architecture.md.
"""

from __future__ import annotations

from typing import Any


class StepError(Exception):
    """Base of the errors a step raises on purpose. The message is one line a console user can act on."""


class InputValidationError(StepError):
    """A console input or event is malformed; the message names the offending field. Never retried."""


class TenantNotFoundError(StepError):
    """DynamoDB holds no item for the tenant id the input names. Never retried."""


class TenantSecretNotFoundError(StepError):
    """The tenant's Stripe key secret (``{TENANT_SECRET_PREFIX}{tenant id}``) does not exist or holds no key.

    Not a refused input: the provisioning had begun (the tenant is recorded FAILED with this cause). Never retried.
    """


#: Errors that refuse a request before it changes anything: nothing is written to DynamoDB (not even
#: ``last_error``); the execution's Error/Cause and the logs report them.
REFUSALS: tuple[type[StepError], ...] = (InputValidationError, TenantNotFoundError)


class StripeSourceRejectedError(StepError):
    """Explore failed: Stripe rejected the tenant's key, or the resource path cannot be read. Never retried."""


class MappingRejectedError(StepError):
    """Data Prep's preview of the mapping set on sample rows reported errors (previewMappingSet): the message
    names the resource path, each XDM field, its source attribute and Adobe's message. Never retried."""


class BreakingChangeError(StepError):
    """A table change AEP's additive rule forbids (Adobe's "Basics of schema composition", schema evolution):
    the message names each field and the rule it breaks (``stripe_aep.evolution.RULES``). Never retried."""


class ConcurrentModificationError(StepError):
    """A conditional DynamoDB write lost a race (another execution wrote the item first).

    Retried by the state machine (2 s, x2, 6 attempts): the next attempt reads the item again.
    """


class LeaseHeldError(ConcurrentModificationError):
    """Another execution (or Map iteration) holds the lease on the same object: its create intent
    (``Store.claim_intent``, ``INTENT_LEASE_S``) or the sandbox's first validation of a mapping body.

    Nothing was sent to Adobe. A wait, not a failure: the state machine retries it often and briefly (1 s, x1.5,
    at most 4 s, full jitter, 100 attempts: longer than a lease), so the step goes on soon after the holder
    stored its ID; the handler records no ``last_error`` for it.
    """


class CreateSettlingError(StepError):
    """This execution's earlier create of the object got no answer (timeout, reset) and may still commit: the
    step waits until the settle deadline recorded in DynamoDB (``<kind>_uncertain_at`` + ``create_settle_s``)
    before it looks the object up once and creates it only if it is not there.

    Nothing was sent to Adobe. Retried by the state machine like ``LeaseHeldError`` (a wait in Step Functions,
    not a Lambda sleeping); no ``last_error`` is recorded for it.
    """


#: Errors that only ask the state machine to wait and retry (nothing was sent, nothing failed); the rate budget's
#: ``BudgetExhaustedError`` (``stripe_aep.budget``) is the third.
WAITS: tuple[type[StepError], ...] = (LeaseHeldError, CreateSettlingError)


def error_details(exc: BaseException) -> dict[str, Any]:
    """What DynamoDB and the logs keep of a failure: type, one-line message, Adobe's code and request id."""
    from stripe_aep.aep.errors import AepError

    details: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)[:1000]}
    if isinstance(exc, AepError):
        details |= {
            "adobe_error_code": exc.error_code,
            "request_id": exc.request_id,
            "status": exc.status,
            "operation": exc.operation,
        }
    return {k: v for k, v in details.items() if v is not None}
