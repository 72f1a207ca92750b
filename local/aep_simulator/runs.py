"""Flow runs: their shape (EN help/sources/tutorials/api/monitor.md) and runs generated from a flow's
schedule.

A run: `{id, flowId, flowSpec, createdAt, updatedAt, etag, metrics{durationSummary{startedAtUTC,
completedAtUTC},
recordSummary{inputRecordCount, outputRecordCount, failedRecordCount}, statusSummary{status, errors[{code,
message}]}}, activities[]}`; times in epoch milliseconds. An "inProgress" run has no `completedAtUTC`.
A flow's `lastRunDetails{id, state, startedAtUTC, completedAtUTC}` describes its most recently started run.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .state import new_etag, new_uuid

if TYPE_CHECKING:
    from .state import State

RUN_STATUSES: frozenset[str] = frozenset({"success", "failed", "inProgress", "partialSuccess"})

_PERIOD_S = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800}


def make_run(
    flow: dict[str, Any],
    status: str,
    *,
    started_at_ms: int,
    completed_at_ms: int | None,
    input_records: int,
    failed_records: int,
    errors: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """A flow run object. Raises ValueError for an unknown status."""
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}; expected one of {sorted(RUN_STATUSES)}")
    if errors is None and status in ("failed", "partialSuccess"):
        errors = [{"code": "CONNECTOR-2001-500", "message": "Stripe returned an error while reading the resource"}]
    duration: dict[str, int] = {"startedAtUTC": started_at_ms}
    if status != "inProgress" and completed_at_ms is not None:
        duration["completedAtUTC"] = completed_at_ms
    output = 0 if status == "failed" else max(0, input_records - failed_records)
    return {
        "id": new_uuid(),
        "flowId": flow["id"],
        "flowSpec": dict(flow.get("flowSpec", {})),
        "createdAt": started_at_ms,
        "updatedAt": completed_at_ms or started_at_ms,
        "etag": new_etag(),
        "metrics": {
            "durationSummary": duration,
            "recordSummary": {
                "inputRecordCount": input_records,
                "outputRecordCount": output,
                "failedRecordCount": failed_records,
            },
            "statusSummary": {"status": status, "errors": list(errors or [])},
        },
        "activities": [],
    }


def last_run_details(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """`lastRunDetails` of a flow from its runs (the latest started), or None without runs."""
    if not runs:
        return None
    run = max(runs, key=lambda r: (r["metrics"]["durationSummary"]["startedAtUTC"], r["createdAt"]))
    details = {
        "id": run["id"],
        "state": run["metrics"]["statusSummary"]["status"],
        "startedAtUTC": run["metrics"]["durationSummary"]["startedAtUTC"],
    }
    if "completedAtUTC" in run["metrics"]["durationSummary"]:
        details["completedAtUTC"] = run["metrics"]["durationSummary"]["completedAtUTC"]
    return details


def scheduled_times_ms(schedule: dict[str, Any], after_ms: int | None, until_ms: int) -> list[int]:
    """Run start times (epoch ms) of a schedule in (after_ms, until_ms]; `once` runs once at startTime."""
    start_ms = int(schedule["startTime"]) * 1000
    frequency = schedule["frequency"]
    if frequency == "once":
        times = [start_ms]
    else:
        step_ms = _PERIOD_S[frequency] * int(schedule.get("interval") or 1) * 1000
        times = []
        t = start_ms
        if after_ms is not None and after_ms >= start_ms:
            t = start_ms + ((after_ms - start_ms) // step_ms + 1) * step_ms
        while t <= until_ms:
            times.append(t)
            t += step_ms
    return [t for t in times if (after_ms is None or t > after_ms) and t <= until_ms]


#: How an on-demand run reads its window: ``(state, flow, window_start_s, window_end_s, started_at_ms) -> run``,
#: the run recorded (``AepSimulator`` sets ``State.ingest`` to its Data Prep engine's ingestion).
Ingestor = Callable[["State", dict[str, Any], int, int, int], dict[str, Any]]


def start_flow_run(
    state: State,
    flow: dict[str, Any],
    *,
    window_start_s: int,
    window_end_s: int,
    start_time_s: int,
) -> dict[str, Any]:
    """The one place an on-demand run (POST /runs, createFlowRun) is made and carried out.

    Ingests the window through ``state.ingest`` (the Stripe records created in ``[window_start_s,
    window_end_s)``, mapped and written to the flow's dataset), records the run's ``params{startTime,
    windowStartTime, windowEndTime}`` (epoch s, as sent) and, when it has finished, tells
    ``state.run_listeners`` (I/O Events plays Adobe's flow run notifications from there). Call with
    ``state.lock`` held; returns the stored run. Raises RuntimeError when the state has no ingestion.
    """
    ingest: Ingestor | None = state.ingest
    if ingest is None:
        raise RuntimeError("the simulator state has no ingestion (AepSimulator sets State.ingest)")
    run = ingest(state, flow, window_start_s, window_end_s, state.now_ms())
    run["params"] = {
        "startTime": start_time_s,
        "windowStartTime": window_start_s,
        "windowEndTime": window_end_s,
    }
    if "completedAtUTC" in run["metrics"]["durationSummary"]:
        run_ended(state, run)
    return run


def run_ended(state: State, run: dict[str, Any]) -> None:
    """A run finished: every listener hears of it (a copy each; listeners must not block)."""
    for listener in list(state.run_listeners):
        listener(copy.deepcopy(run))
