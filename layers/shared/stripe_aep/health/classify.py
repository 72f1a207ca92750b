"""Health of one dataflow: a pure function of its DynamoDB item, its Flow Service flow and its latest runs.

Sources: EN help/sources/tutorials/api/monitor.md (``GET /flows/{id}`` carries ``lastRunDetails{id, state,
startedAtUTC, completedAtUTC}``; ``GET /runs?property=flowId==X`` items carry ``metrics.durationSummary``,
``recordSummary``, ``statusSummary{status, errors[{code, message}]}``), flow-service.yaml (``StatusDTO``
values SUCCESS, PARTIAL_SUCCESS, FAILED, IN_PROGRESS...) and ScheduleSpecDTO
(``scheduleParams{startTime, frequency, interval}``).

Units, explicitly: Adobe's run and flow times are epoch **milliseconds**; a schedule's ``startTime`` is epoch
**seconds**; ``now_ms`` is epoch milliseconds; every duration in ``HealthPolicy`` is seconds.

Rules, first match wins:

1. MISSING: the item has no ``flow_id``, or Flow Service has no such flow (``flow is None``).
2. DISABLED: the flow's ``state`` is ``disabled`` in AEP, or DynamoDB says the tenant disabled it
   (``enabled`` false or ``flow_state`` ``disabled`` on the item).
3. STALE: the latest run is still in progress after ``min(period, max_run_s) + grace_s`` (stuck).
4. By the latest *finished* run: FAILED (failed: Adobe's error codes and messages kept, record counts);
   DEGRADED (partial success, or success with failed records); HEALTHY (success, recent); STALE (success, but
   completed longer than ``2 * period + grace_s`` ago). Once-only schedules never go stale after their run.
5. No finished run yet: PENDING until ``reference + period + grace_s`` (reference: the later of the flow's
   creation and the schedule's first start; once-only: ``reference + grace_s``), STALE after.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stripe_aep.aep import Flow, FlowRun

__all__ = [
    "DEFAULT_POLICY",
    "UNHEALTHY",
    "Health",
    "HealthPolicy",
    "HealthStatus",
    "classify",
    "needs_runs",
    "redact",
    "schedule_period_s",
]


class HealthStatus(StrEnum):
    """Health of one dataflow, as written to ``health_status`` and counted in ``Dataflows<Status>``."""

    HEALTHY = "HEALTHY"
    DEGRADED = "DEGRADED"
    FAILED = "FAILED"
    STALE = "STALE"
    MISSING = "MISSING"
    DISABLED = "DISABLED"
    PENDING = "PENDING"


#: Statuses that alert when a dataflow moves into or out of them.
UNHEALTHY: frozenset[HealthStatus] = frozenset(
    {HealthStatus.FAILED, HealthStatus.STALE, HealthStatus.MISSING, HealthStatus.DEGRADED}
)

_PERIOD_S = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800}

# Adobe spells run statuses several ways (monitor.md "success"; StatusDTO "PARTIAL_SUCCESS"...): normalised by
# lowercasing and dropping "_" and "-".
_SUCCESS = frozenset({"success", "succeeded", "completed"})
_PARTIAL = frozenset({"partialsuccess", "partialfailure"})
_FAILED = frozenset({"failed", "failure", "error", "cancelled", "canceled"})

# Stripe keys and bearer tokens must never reach DynamoDB or an alert, even inside Adobe's error messages.
_SECRET_PATTERN = re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]+|\bBearer\s+\S+", re.IGNORECASE)


def redact(text: str, limit: int = 500) -> str:
    """``text`` with Stripe secret/restricted keys and bearer tokens masked, cut to ``limit`` characters."""
    return _SECRET_PATTERN.sub("****", text)[:limit]


@dataclass(frozen=True)
class HealthPolicy:
    """Tolerances of the classification, in seconds (``max_errors``: error entries kept per dataflow)."""

    grace_s: int = 900
    max_run_s: int = 6 * 3600
    max_errors: int = 5


DEFAULT_POLICY = HealthPolicy()


@dataclass(frozen=True)
class Health:
    """The verdict on one dataflow. Times are epoch milliseconds (Adobe's); ``errors`` is
    ``[{code, message}]`` (capped by ``HealthPolicy.max_errors``, secrets masked)."""

    status: HealthStatus
    reason: str
    last_run_id: str | None = None
    last_run_state: str | None = None
    last_run_started_at_ms: int | None = None
    last_run_completed_at_ms: int | None = None
    errors: tuple[dict[str, str], ...] = field(default_factory=tuple)
    input_records: int | None = None
    failed_records: int | None = None


@dataclass(frozen=True)
class _Run:
    """A run reduced to what the rules read (from a ``FlowRun`` or a flow's ``lastRunDetails``)."""

    id: str | None
    state: str  # Adobe's status as sent
    kind: str  # success | partial | failed | running
    started_ms: int | None
    completed_ms: int | None
    input_records: int | None = None
    failed_records: int | None = None
    errors: tuple[dict[str, str], ...] = ()


def _kind(state: str | None) -> str:
    norm = (state or "").lower().replace("_", "").replace("-", "")
    if norm in _SUCCESS:
        return "success"
    if norm in _PARTIAL:
        return "partial"
    if norm in _FAILED:
        return "failed"
    return "running"  # inProgress, queued, scheduled, or a state we do not know: not finished


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _errors(raw: Any, limit: int) -> tuple[dict[str, str], ...]:
    out: list[dict[str, str]] = []
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, Mapping):
            continue
        out.append(
            {
                "code": redact(str(entry.get("code") or ""), 100),
                "message": redact(str(entry.get("message") or "")),
            }
        )
        if len(out) >= limit:
            break
    return tuple(out)


def _from_flow_run(run: FlowRun, limit: int) -> _Run:
    duration = run.metrics.get("durationSummary") or {}
    records = run.metrics.get("recordSummary") or {}
    status = run.status or ""
    failed = _int(records.get("failedRecordCount"))
    kind = _kind(status)
    if kind == "success" and failed:
        kind = "partial"  # records failed although the run reports success
    return _Run(
        id=run.id,
        state=status,
        kind=kind,
        started_ms=_int(duration.get("startedAtUTC")) or run.created_at,
        completed_ms=_int(duration.get("completedAtUTC")),
        input_records=_int(records.get("inputRecordCount")),
        failed_records=failed,
        errors=_errors(run.errors, limit),
    )


def _from_last_run(flow: Flow) -> _Run | None:
    details = flow.last_run_details
    if details is None or (details.id is None and details.started_at_utc is None):
        return None
    return _Run(
        id=details.id,
        state=details.state or "",
        kind=_kind(details.state),
        started_ms=details.started_at_utc,
        completed_ms=details.completed_at_utc,
    )


def _schedule(item: Mapping[str, Any], flow: Flow | None) -> Mapping[str, Any]:
    """Adobe's ``scheduleParams`` when the flow has them (the truth about when it runs), else the item's."""
    if flow is not None and flow.schedule_params.get("frequency"):
        return flow.schedule_params
    schedule = item.get("schedule")
    return schedule if isinstance(schedule, Mapping) else {}


def schedule_period_s(schedule: Mapping[str, Any]) -> int | None:
    """Seconds between two runs of a schedule ``{frequency, interval}``; ``None`` for ``once`` or no schedule.

    ``interval`` may be an integer or a numeric string (the spec types it as a string); missing means 1.
    """
    frequency = str(schedule.get("frequency") or "").lower()
    if frequency not in _PERIOD_S:
        return None
    interval = _int(schedule.get("interval")) or 1
    return _PERIOD_S[frequency] * max(1, interval)


def _disabled_by_tenant(item: Mapping[str, Any]) -> bool:
    return item.get("enabled") is False or str(item.get("flow_state") or "").lower() == "disabled"


def _latest(runs: Sequence[_Run]) -> _Run | None:
    return max(runs, key=lambda r: r.started_ms or 0) if runs else None


def _ago(now_ms: int, then_ms: int) -> str:
    seconds = max(0, (now_ms - then_ms) // 1000)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _runs_of(flow: Flow, runs: Sequence[FlowRun], policy: HealthPolicy) -> list[_Run]:
    reduced = [_from_flow_run(r, policy.max_errors) for r in runs]
    if not reduced:
        last = _from_last_run(flow)
        if last is not None:
            reduced = [last]
    return reduced


def needs_runs(item: Mapping[str, Any], flow: Flow | None, now_ms: int, policy: HealthPolicy = DEFAULT_POLICY) -> bool:
    """Whether the flow's ``lastRunDetails`` leave a question only ``GET /runs`` answers.

    True when the last run failed or partly succeeded (error codes, failed record counts) or is still running
    (the latest *finished* run decides then, and the run list shows it), and once for the item's on-demand run
    (``last_on_demand_run_id``, run now / backfill) that succeeded: ``lastRunDetails`` carries no record counts
    and whoever asked for the run (``stripe-aep run``) reads them from the item. False for a missing or
    disabled flow, a flow without runs and a flow whose last scheduled run succeeded: ``lastRunDetails``
    suffices.
    """
    if flow is None or not item.get("flow_id") or _disabled_by_tenant(item):
        return False
    if (flow.state or "").lower() == "disabled":
        return False
    last = _from_last_run(flow)
    if last is None:
        return False
    if last.kind == "success" and last.id is not None and last.id == item.get("last_on_demand_run_id"):
        return item.get("last_run_id") != last.id or item.get("last_run_input_records") is None
    return last.kind != "success"


def _pending_or_stale(
    flow: Flow,
    schedule: Mapping[str, Any],
    period_s: int | None,
    now_ms: int,
    policy: HealthPolicy,
    note: str,
) -> tuple[HealthStatus, str]:
    start_s = _int(schedule.get("startTime"))
    start_ms = start_s * 1000 if start_s is not None else None
    reference = max(x for x in (flow.created_at, start_ms, 0) if x is not None)
    window_ms = ((period_s or 0) + policy.grace_s) * 1000
    if start_ms is not None and start_ms > now_ms:
        return HealthStatus.PENDING, f"no run yet{note}; first run scheduled at {_iso(start_ms)}"
    if now_ms <= reference + window_ms:
        return HealthStatus.PENDING, f"no run yet{note}; first run expected by {_iso(reference + window_ms)}"
    return (
        HealthStatus.STALE,
        f"no finished run{note} {_ago(now_ms, reference)} after the first expected start "
        f"({_iso(reference)}); expected within {(window_ms // 1000) // 60} min",
    )


def classify(
    item: Mapping[str, Any],
    flow: Flow | None,
    runs: Sequence[FlowRun],
    now_ms: int,
    policy: HealthPolicy = DEFAULT_POLICY,
) -> Health:
    """Classify one dataflow (see the module docstring for the rules).

    ``item``: the DynamoDB dataflow item (``flow_id``, ``sandbox``, ``schedule{frequency, interval, startTime
    (epoch s)}``, optional ``enabled``/``flow_state``). ``flow``: the flow from Flow Service (``listFlows`` /
    ``retrieveFlow``), ``None`` when AEP does not have it. ``runs``: its latest runs from ``listFlowRuns``,
    any order (may be empty: ``lastRunDetails`` is used then). ``now_ms``: epoch milliseconds.
    Pure: no I/O, no clock. Never raises on odd Adobe data (unknown states count as "not finished").
    """
    flow_id = item.get("flow_id")
    if not flow_id:
        return Health(HealthStatus.MISSING, "DynamoDB holds no flow id for this ACTIVE dataflow")
    if flow is None:
        return Health(
            HealthStatus.MISSING,
            f"flow {flow_id} is not in AEP (sandbox {item.get('sandbox', '?')}) although DynamoDB says it exists",
        )
    reduced = _runs_of(flow, runs, policy)
    latest = _latest(reduced)
    run_fields: dict[str, Any] = {}
    if latest is not None:
        run_fields = {
            "last_run_id": latest.id,
            "last_run_state": latest.state,
            "last_run_started_at_ms": latest.started_ms,
            "last_run_completed_at_ms": latest.completed_ms,
        }
    if (flow.state or "").lower() == "disabled":
        who = "by the tenant" if _disabled_by_tenant(item) else "in AEP (DynamoDB expects it enabled)"
        return Health(HealthStatus.DISABLED, f"flow {flow_id} is disabled {who}", **run_fields)
    if _disabled_by_tenant(item):
        return Health(HealthStatus.DISABLED, f"the tenant disabled flow {flow_id} (DynamoDB)", **run_fields)

    schedule = _schedule(item, flow)
    period_s = schedule_period_s(schedule)
    once = period_s is None

    if latest is not None and latest.kind == "running" and latest.started_ms is not None:
        limit_s = min(period_s, policy.max_run_s) if period_s else policy.max_run_s
        if now_ms - latest.started_ms > (limit_s + policy.grace_s) * 1000:
            return Health(
                HealthStatus.STALE,
                f"run {latest.id} stuck: {latest.state or 'running'} since {_iso(latest.started_ms)} "
                f"({_ago(now_ms, latest.started_ms)}; limit {(limit_s + policy.grace_s) // 60} min)",
                **run_fields,
            )

    finished = [r for r in reduced if r.kind != "running"]
    last_done = _latest(finished)
    note = " finished" if latest is not None else ""
    if last_done is None:
        status, reason = _pending_or_stale(flow, schedule, period_s, now_ms, policy, note)
        if latest is not None:
            reason += f" (run {latest.id} {latest.state or 'running'})"
        return Health(status, reason, **run_fields)

    done_fields = {
        **run_fields,
        "errors": last_done.errors,
        "input_records": last_done.input_records,
        "failed_records": last_done.failed_records,
    }
    counts = (
        f"{last_done.failed_records} of {last_done.input_records} records failed"
        if last_done.failed_records is not None
        else "record counts unknown"
    )
    codes = ", ".join(e["code"] for e in last_done.errors if e["code"])
    when = last_done.completed_ms or last_done.started_ms or 0
    if last_done.kind == "failed":
        return Health(
            HealthStatus.FAILED,
            f"run {last_done.id} failed at {_iso(when)} ({counts}{'; ' + codes if codes else ''})",
            **done_fields,
        )
    if last_done.kind == "partial":
        return Health(
            HealthStatus.DEGRADED,
            f"run {last_done.id} partly succeeded at {_iso(when)} ({counts}{'; ' + codes if codes else ''})",
            **done_fields,
        )
    if once:
        return Health(HealthStatus.HEALTHY, f"once-only flow: its run {last_done.id} succeeded", **done_fields)
    window_ms = (2 * (period_s or 0) + policy.grace_s) * 1000
    if now_ms - when > window_ms:
        return Health(
            HealthStatus.STALE,
            f"no successful run for {_ago(now_ms, when)} (last {last_done.id} at {_iso(when)}); "
            f"expected every {(period_s or 0) // 60} min, tolerated {window_ms // 60000} min",
            **done_fields,
        )
    return Health(
        HealthStatus.HEALTHY,
        f"run {last_done.id} succeeded {_ago(now_ms, when)} ago",
        **done_fields,
    )
