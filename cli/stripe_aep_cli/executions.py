"""Start a state machine execution under its deterministic name, follow it, and explain its outcome.

Names come from ``stripe_aep.tenants.execution_name(operation, tenant, input)``: while an execution of the same
request is RUNNING, the same command follows it instead of starting a second one; once it ended (whatever its
outcome), the command is a new request and starts ``{name}-r1``, ``{name}-r2``... (Step Functions never reuses
a name within 90 days of an execution's end), so disable, enable, disable really disables.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from stripe_aep.store import Store
from stripe_aep.tenants import execution_name

#: An execution in one of these is attached to rather than started again.
ATTACH = frozenset({"RUNNING"})
MAX_RETRIES = 99


@dataclass
class Execution:
    """One execution the CLI started or attached to; ``status`` as DescribeExecution reports it."""

    name: str
    arn: str
    started: bool  # False: an execution of that name already existed
    status: str = "RUNNING"
    states: list[dict[str, Any]] = field(default_factory=list)  # StepTracker state lines, "outcome" if not plain
    error: str | None = None
    cause: str | None = None
    output: Any = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``--json`` output."""
        return {
            "name": self.name,
            "arn": self.arn,
            "started": self.started,
            "status": self.status,
            "states": self.states,
            "error": self.error,
            "cause": self.cause,
            "output": self.output,
        }


def execution_arn(state_machine_arn: str, name: str) -> str:
    """``arn:aws:states:{region}:{account}:execution:{state machine}:{name}`` (Step Functions' ARN format)."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def start_or_attach(
    sfn: Any,
    state_machine_arn: str,
    operation: str,
    tenant_id: str,
    payload: Mapping[str, Any],
) -> Execution:
    """StartExecution under the deterministic name, or attach to the execution that already holds it.

    Raises ``ValueError`` for an invalid tenant id (from ``execution_name``), ``RuntimeError`` after
    ``MAX_RETRIES`` failed attempts, and botocore ``ClientError`` for other Step Functions errors.
    """
    base = execution_name(operation, tenant_id, dict(payload))
    for attempt in range(MAX_RETRIES + 1):
        name = base if attempt == 0 else f"{base}-r{attempt}"
        arn = execution_arn(state_machine_arn, name)
        try:
            described = sfn.describe_execution(executionArn=arn)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExecutionDoesNotExist":
                raise
        else:
            status = str(described["status"])
            if status in ATTACH:
                return Execution(name=name, arn=arn, started=False, status=status)
            continue
        try:
            answer = sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return Execution(name=name, arn=arn, started=False)  # a concurrent start won the name
            raise
        return Execution(name=name, arn=str(answer["executionArn"]), started=True)
    raise RuntimeError(f"{base}: {MAX_RETRIES} retries already failed; look at the executions' errors")


def _json_object(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text or "null")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _resource_path(*documents: dict[str, Any]) -> str | None:
    """The ``resourcePath`` a state's output or input names (top level or under ``request``), if any."""
    for document in documents:
        for holder in (document, document.get("request")):
            if isinstance(holder, dict) and isinstance(holder.get("resourcePath"), str):
                return str(holder["resourcePath"])
    return None


def _failure(event: Mapping[str, Any]) -> tuple[str, str] | None:
    """(error, message) of a failure event (a task, Lambda, Map or Parallel state failing), else None.

    The message is the Lambda error document's ``errorMessage`` when the cause is one, else the cause.
    """
    kind = str(event["type"])
    if kind not in _TASK_FAILURES:
        return None
    details = next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})
    cause = str(details.get("cause") or "")
    message = str(_json_object(cause).get("errorMessage") or cause)
    return str(details.get("error") or kind), message


#: History events of a task attempt failing (Step Functions' HistoryEventType).
_TASK_FAILURES = frozenset(
    {"TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed", "LambdaFunctionFailed",
     "LambdaFunctionTimedOut", "LambdaFunctionStartFailed", "LambdaFunctionScheduleFailed"}
)  # fmt: skip


@dataclass
class _Step:
    name: str
    path: str | None
    retries: int = 0
    error: tuple[str, str] | None = None  # the last failure, while it has not been followed by a success


class StepTracker:
    """Turns history events (oldest first, fed once each) into the lines a person follows.

    Lines (dicts): ``{"kind": "state", "state", "resourcePath"?, "outcome", "retries"?, "error"?, "message"?}``
    when a state exits, ``outcome`` one of ``succeeded``, ``recovered`` (succeeded after ``retries``
    retries), ``failed`` (its error was caught: the execution goes on to a failure path) or ``found`` (set by
    the caller: the object existed, nothing was created); ``{"kind": "retry", "state", "resourcePath"?,
    "error", "message", "attempt"}`` when a task is scheduled again after a failure; ``{"kind": "end",
    "status"}``. A state whose failure ends the execution (uncaught) gets its ``failed`` line at the end.
    Events are tied to their state through ``previousEventId`` (Step Functions' history format).
    """

    def __init__(self) -> None:
        self._events: dict[int, Mapping[str, Any]] = {}
        self._steps: dict[int, _Step] = {}  # by the id of the state's StateEntered event
        self._open: dict[int, _Step] = {}

    def _entered(self, event_id: int, name: str | None = None) -> int | None:
        """The id of the StateEntered event of the state ``event_id`` belongs to (named ``name`` if given)."""
        seen = 0
        current = self._events.get(event_id)
        while current is not None and seen < 100_000:
            seen += 1
            if str(current["type"]).endswith("StateEntered"):
                details = current.get("stateEnteredEventDetails", {})
                if name is None or details.get("name") == name:
                    return int(current["id"])
            current = self._events.get(int(current.get("previousEventId") or 0))
        return None

    def feed(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The lines ``event`` completes (usually none or one)."""
        self._events[int(event["id"])] = event
        kind = str(event["type"])
        if kind.endswith("StateEntered"):
            details = event.get("stateEnteredEventDetails", {})
            new = _Step(str(details.get("name")), _resource_path(_json_object(details.get("input"))))
            self._steps[int(event["id"])] = self._open[int(event["id"])] = new
            return []
        if kind.endswith("StateExited"):
            details = event.get("stateExitedEventDetails", {})
            entered = self._entered(int(event.get("previousEventId") or 0), str(details.get("name")))
            exited = self._open.pop(entered, None) if entered is not None else None
            if exited is None:
                exited = _Step(str(details.get("name")), None)
            exited.path = _resource_path(_json_object(details.get("output"))) or exited.path
            return [self._state_line(exited)]
        if kind.startswith("Execution") and kind != "ExecutionStarted":
            status = kind.removeprefix("Execution").upper()
            lines = [self._state_line(s) for s in self._open.values() if s.error is not None]
            self._open.clear()
            return [*lines, {"kind": "end", "status": status}]
        entered = self._entered(int(event.get("previousEventId") or 0))
        step = self._steps.get(entered) if entered is not None else None
        if step is None:
            return []
        failure = _failure(event)
        if failure is not None:
            step.error = failure
        elif kind in ("TaskSucceeded", "LambdaFunctionSucceeded"):
            step.error = None
        elif kind in ("TaskScheduled", "LambdaFunctionScheduled") and step.error is not None:
            step.retries += 1
            line = {"kind": "retry", **self._where(step), "error": step.error[0], "message": step.error[1]}
            line["attempt"] = step.retries + 1
            step.error = None
            return [line]
        return []

    @staticmethod
    def _where(step: _Step) -> dict[str, Any]:
        return {"state": step.name, **({"resourcePath": step.path} if step.path else {})}

    def _state_line(self, step: _Step) -> dict[str, Any]:
        line: dict[str, Any] = {"kind": "state", **self._where(step)}
        if step.error is not None:
            line |= {"outcome": "failed", "error": step.error[0], "message": step.error[1]}
        elif step.retries:
            line |= {"outcome": "recovered", "retries": step.retries}
        else:
            line["outcome"] = "succeeded"
        return line


def history_line(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """A stateless view of one event (``{"kind": "state"|"end", ...}``), for callers without a StepTracker.

    Prefer ``StepTracker``: only it knows whether a state failed, was retried or recovered.
    """
    lines = StepTracker().feed(event)
    return lines[0] if lines else None


#: Create states and the DynamoDB attribute of the ID each ensures (on the tenant item for the base connection,
#: on the (tenant, resource path) item for the others).
CREATE_STATES = {
    "CreateBaseConnection": "base_connection_id",
    "CreateSourceConnection": "source_connection_id",
    "CreateDataset": "dataset_id",
    "CreateTargetConnection": "target_connection_id",
    "CreateMappingSet": "mapping_set_id",
    "CreateDataflow": "flow_id",
}
KnownIds = dict[tuple[str | None, str], str]


def known_ids(store: Store, tenant_id: str) -> KnownIds:
    """The Adobe IDs DynamoDB holds for the tenant: ``{(resource path or None, attribute): id}``."""
    tenant, dataflows = store.tenant_items(tenant_id)
    attrs = set(CREATE_STATES.values())
    ids: KnownIds = {(None, k): str(v) for k, v in (tenant or {}).items() if k in attrs}
    for item in dataflows:
        ids |= {(str(item.get("resource_path")), k): str(v) for k, v in item.items() if k in attrs}
    return ids


def mark_found(line: dict[str, Any], before: KnownIds) -> None:
    """Set ``outcome`` to ``found`` on a create state's line when its ID was stored before the execution began."""
    attr = CREATE_STATES.get(str(line.get("state")))
    if attr is None or line.get("outcome") != "succeeded":
        return
    path = None if attr == "base_connection_id" else line.get("resourcePath")
    if (path, attr) in before:
        line["outcome"] = "found"


def created_since(before: KnownIds, after: KnownIds) -> tuple[int, int]:
    """(IDs stored since ``before`` was read, IDs that were already there and still are)."""
    created = sum(1 for key, value in after.items() if before.get(key) != value)
    return created, sum(1 for key, value in after.items() if before.get(key) == value)


def history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    """GetExecutionHistory, every page, oldest first."""
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
    return [event for page in pages for event in page["events"]]


def follow(
    sfn: Any,
    execution: Execution,
    on_line: Callable[[dict[str, Any]], None],
    poll_s: float,
    timeout_s: float,
    before: KnownIds | None = None,
) -> Execution:
    """Poll GetExecutionHistory until the execution ends, calling ``on_line`` for each new history line.

    Fills ``status``, ``states``, ``output`` and, on failure, ``error``/``cause`` (DescribeExecution, else the
    ExecutionFailed event). ``before`` (``known_ids`` read before the start) marks create states that found
    their object. Returns with ``status == "RUNNING"`` when ``timeout_s`` seconds pass first.
    """
    seen = 0
    deadline = time.monotonic() + timeout_s
    tracker = StepTracker()
    while True:
        described = sfn.describe_execution(executionArn=execution.arn)  # before the history: no event missed
        events = history(sfn, execution.arn)
        for event in events[seen:]:
            if event["type"] == "ExecutionFailed":
                details = event.get("executionFailedEventDetails", {})
                execution.error = execution.error or details.get("error")
                execution.cause = execution.cause or details.get("cause")
            for line in tracker.feed(event):
                if line["kind"] == "state" and before is not None:
                    mark_found(line, before)
                if line["kind"] == "state":
                    execution.states.append(
                        {k: v for k, v in line.items() if k != "kind" and (k != "outcome" or v != "succeeded")}
                    )
                on_line(line)
        seen = len(events)
        execution.status = str(described["status"])
        if execution.status != "RUNNING":
            execution.error = described.get("error") or execution.error
            execution.cause = described.get("cause") or execution.cause
            try:
                execution.output = json.loads(described.get("output") or "null")
            except ValueError:
                execution.output = described.get("output")
            return execution
        if time.monotonic() > deadline:
            return execution
        time.sleep(poll_s)


def last_error(store: Store, tenant_id: str, execution_name_: str) -> dict[str, Any] | None:
    """The most specific ``last_error`` DynamoDB holds for this execution.

    A dataflow item's (step, Adobe error code, request id) comes before the tenant item's (written by
    RecordFailure). ``None`` when none matches.
    """
    tenant, dataflows = store.tenant_items(tenant_id)
    for item in [*dataflows, tenant or {}]:
        error = item.get("last_error")
        if isinstance(error, dict) and error.get("execution") == execution_name_:
            return {**error, "resource_path": item.get("resource_path")}
    return None
