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
    states: list[dict[str, Any]] = field(default_factory=list)  # {"state", "resourcePath"?} as they exited
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


def _output(details: Mapping[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(details.get("output") or "null")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def history_line(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """What a person follows in an execution's history: a state exiting, a task failing, the end.

    Returns ``{"kind": "state"|"failed"|"end", ...}`` or ``None`` for events not worth a line.
    """
    kind = str(event["type"])
    if kind.endswith("StateExited"):
        details = event.get("stateExitedEventDetails", {})
        line: dict[str, Any] = {"kind": "state", "state": details.get("name")}
        path = _output(details).get("resourcePath")
        if isinstance(path, str):
            line["resourcePath"] = path
        return line
    if kind in ("TaskFailed", "LambdaFunctionFailed"):
        details = event.get("taskFailedEventDetails") or event.get("lambdaFunctionFailedEventDetails") or {}
        return {"kind": "failed", "error": details.get("error")}
    if kind in ("ExecutionFailed", "ExecutionSucceeded", "ExecutionAborted", "ExecutionTimedOut"):
        return {"kind": "end", "status": kind.removeprefix("Execution").upper()}
    return None


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
) -> Execution:
    """Poll GetExecutionHistory until the execution ends, calling ``on_line`` for each new history line.

    Fills ``status``, ``states``, ``output`` and, on failure, ``error``/``cause`` (DescribeExecution, else the
    ExecutionFailed event). Returns with ``status == "RUNNING"`` when ``timeout_s`` seconds pass first.
    """
    seen = 0
    deadline = time.monotonic() + timeout_s
    while True:
        described = sfn.describe_execution(executionArn=execution.arn)  # before the history: no event missed
        events = history(sfn, execution.arn)
        for event in events[seen:]:
            line = history_line(event)
            if line is None:
                continue
            if line["kind"] == "state":
                execution.states.append({k: v for k, v in line.items() if k != "kind"})
            if event["type"] == "ExecutionFailed":
                details = event.get("executionFailedEventDetails", {})
                execution.error = execution.error or details.get("error")
                execution.cause = execution.cause or details.get("cause")
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
