"""The one wrapper that turns a step function of ``stripe_aep.steps`` into a Lambda handler, and the deferred
build that the other handlers use.

``lambda_handler = step_handler("provision.create_dataset")`` (the step as ``<module>.<function>`` of
``stripe_aep.steps``) gives a handler that:

- reads the environment at cold start (import time) and, on the first event, imports the step's module and
  validates that environment as ``Settings``: the import itself loads boto3 and Powertools, not pydantic and the
  step's models (cold start, issue 15). A missing or malformed variable fails the first event, and every later
  one, with pydantic's ``ValidationError`` naming the variable (never its value);
- validates the event against the step's input model (its first parameter's annotation), raising
  ``InputValidationError`` that names the field and never echoes the value;
- answers the step's output model (its return annotation, a ``stripe_aep.steps.common.StepOutput``) as JSON
  (``StepOutput.payload()``), the keys the ASL's ``ResultSelector`` reads
  as ``$.Payload.<key>`` (tests/unit/test_step_contracts.py checks them against the models);
- logs JSON with Powertools Logger, keyed by tenant id, resource path, execution name and (on failure) Adobe's
  request id and error code; the raw event is never logged;
- emits ``StepDuration`` (milliseconds) and ``StepFailed`` (count) metrics, dimension ``step``;
- on failure records ``last_error`` (step, error, Adobe error code, message, request id, epoch seconds) on the
  DynamoDB item the step works on, then re-raises: the exception's class name is the Step Functions ``Error``.
  A refusal (``stripe_aep.errors.REFUSALS``: bad input, unknown tenant) writes nothing: only logs and re-raises;
  so does a wait (``BudgetExhaustedError`` and ``stripe_aep.errors.WAITS``: the state machine retries it).

``deferred_handler("stripe_aep.steps.health:health_handler")`` does the same for a handler factory: the
environment is read at cold start, the factory's module is imported and ``factory(env)`` is called on the first
event (a factory that raises, a misconfigured function, fails that event and is called again on the next).
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, get_type_hints

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from stripe_aep.aep import AepError
from stripe_aep.budget import BudgetExhaustedError, begin_step
from stripe_aep.clock import now_s
from stripe_aep.errors import REFUSALS, WAITS, StepError, error_details
from stripe_aep.metrics import emit_metric
from stripe_aep.store import dataflow_key, tenant_key

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from pydantic import BaseModel

    from stripe_aep.runtime import Runtime
    from stripe_aep.steps.common import StepOutput

logger = Logger()
_ModelT = TypeVar("_ModelT", bound="BaseModel")
Step = Callable[[_ModelT, "Runtime"], "StepOutput"]
Handler = Callable[[Any, "LambdaContext"], Any]


def resolve_step(step: str) -> tuple[Step[Any], type[BaseModel]]:
    """The step function ``step`` names (``"<module>.<function>"`` of ``stripe_aep.steps``) and its input model
    (its first parameter's annotation). Raises ``ModuleNotFoundError`` or ``AttributeError`` for a step that
    does not exist."""
    module_name, _, name = step.rpartition(".")
    function: Step[Any] = getattr(importlib.import_module(f"stripe_aep.steps.{module_name}"), name)
    model: type[BaseModel] = next(iter(v for k, v in get_type_hints(function).items() if k != "return"))
    return function, model


def deferred_handler(factory: str, env: Mapping[str, str] | None = None) -> Handler:
    """A handler whose real handler ``factory(env)`` (``factory``: ``"<module>:<function>"``) is built on the
    first event, from ``env`` (default: ``os.environ`` as it is now, at cold start); see the module docstring."""
    environment = dict(os.environ if env is None else env)
    module_name, _, name = factory.partition(":")
    return _on_first_event(lambda: getattr(importlib.import_module(module_name), name)(environment))


def step_handler(step: str, env: Mapping[str, str] | None = None) -> Handler:
    """Wrap the step ``step`` names (``"<module>.<function>"`` of ``stripe_aep.steps``; the function takes
    ``(request, runtime)`` and returns a ``StepOutput``) as a Lambda handler configured from ``env`` (default
    ``os.environ`` as it is now, at cold start); see the module docstring."""
    environment = dict(os.environ if env is None else env)
    return _on_first_event(lambda: _bind_step(step, environment))


def _on_first_event(build: Callable[[], Handler]) -> Handler:
    """A handler that calls ``build()`` on its first event (again on the next while it raises) and then passes
    every event to what it built."""
    built = cache(build)

    def lambda_handler(event: Any, context: LambdaContext) -> Any:
        return built()(event, context)

    return lambda_handler


def _bind_step(step_name: str, env: Mapping[str, str]) -> Handler:
    """The handler of the step ``step_name``: ``Settings`` validated from ``env``, the step's module imported."""
    from stripe_aep.runtime import Settings, runtime_for
    from stripe_aep.tenants import parse_input

    settings = Settings.from_env(env)
    step, model = resolve_step(step_name)
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
            output = step(request, runtime)
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
        result = output.payload()
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
