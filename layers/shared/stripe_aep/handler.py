"""The one wrapper that turns a step function of ``stripe_aep.steps`` into a Lambda handler.

``lambda_handler = step_handler(provision.create_dataset)`` gives a handler that:

- reads ``Settings`` from the environment at cold start (import time);
- validates the event against the step's input model (its first parameter's annotation), raising
  ``InputValidationError`` that names the field and never echoes the value;
- logs JSON with Powertools Logger, keyed by tenant id, resource path, execution name and (on failure) Adobe's
  request id and error code; the raw event is never logged;
- emits ``StepDuration`` (milliseconds) and ``StepFailed`` (count) metrics, dimension ``step``;
- on failure records ``last_error`` (step, error, Adobe error code, message, request id, epoch seconds) on the
  DynamoDB item the step works on, then re-raises: the exception's class name is the Step Functions ``Error``.
  A refusal (``stripe_aep.errors.REFUSALS``: bad input, unknown tenant) writes nothing: only logs and re-raises;
  so does a wait (``BudgetExhaustedError`` and ``stripe_aep.errors.WAITS``: the state machine retries it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar, get_type_hints

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from stripe_aep.aep import AepError
from stripe_aep.budget import BudgetExhaustedError, begin_step
from stripe_aep.errors import REFUSALS, WAITS, StepError, error_details
from stripe_aep.metrics import emit_metric
from stripe_aep.runtime import Runtime, Settings, runtime_for
from stripe_aep.store import dataflow_key, tenant_key
from stripe_aep.tenants import now_s, parse_input

logger = Logger()
_ModelT = TypeVar("_ModelT", bound=BaseModel)
Step = Callable[[_ModelT, Runtime], dict[str, Any]]


def step_handler(step: Step[Any]) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """Wrap ``step(request, runtime) -> dict`` as a Lambda handler (see the module docstring)."""
    hints = get_type_hints(step)
    model: type[BaseModel] = next(iter(hints.values()))
    settings = Settings.from_env()
    name = step.__name__

    @logger.inject_lambda_context(log_event=False, clear_state=True)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        request = parse_input(model, event)
        keys = {
            "step": name,
            "tenant_id": getattr(request, "tenantId", None),
            "resource_path": getattr(request, "resourcePath", None),
            "execution": getattr(request, "executionName", None),
        }
        # Thread-local keys: Lambda runs one invocation per process, the local stack runs Map branches in threads.
        logger.thread_safe_clear_keys()
        logger.thread_safe_append_keys(**{k: v for k, v in keys.items() if v})
        started = time.perf_counter()
        begin_step()  # the rate budget refuses a step only before its first Adobe call
        runtime = runtime_for(settings)
        try:
            result = step(request, runtime)
        except BudgetExhaustedError as exc:  # a wait, not a failure: the state machine retries, nothing recorded
            logger.info("Adobe rate budget exhausted", extra={"retry_after_s": exc.retry_after})
            raise
        except WAITS as exc:  # another execution's lease, or an uncertain create settling: likewise a wait
            logger.info("waiting", extra={"wait": type(exc).__name__, "reason": str(exc)})
            raise
        except (StepError, AepError) as exc:
            details = error_details(exc)
            logger.warning("step failed", extra={"failure": details})
            emit_metric("StepFailed", 1, step=name)
            if not isinstance(exc, REFUSALS):
                _record_failure(runtime, request, name, details)
            raise
        emit_metric("StepDuration", (time.perf_counter() - started) * 1000, MetricUnit.Milliseconds, step=name)
        logger.info("step done", extra={"result": result})
        return result

    return lambda_handler


def _record_failure(runtime: Runtime, request: BaseModel, step: str, details: dict[str, Any]) -> None:
    tenant_id = getattr(request, "tenantId", None)
    if not tenant_id:
        return
    path = getattr(request, "resourcePath", None)
    key = dataflow_key(tenant_id, path) if path else tenant_key(tenant_id)
    error = {**details, "step": step, "at": now_s(), "execution": getattr(request, "executionName", None)}
    try:
        runtime.store.update(key, {"last_error": {k: v for k, v in error.items() if v is not None}})
    except Exception:  # the original failure matters more than its bookkeeping
        logger.exception("could not record the failure in DynamoDB")
