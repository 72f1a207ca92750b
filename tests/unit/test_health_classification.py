"""The health classification (``stripe_aep.health.classify``): a pure function, tested on Adobe-shaped data.

Flows and runs are built from the shapes of EN monitor.md / flow-service.yaml (times in epoch milliseconds);
schedules carry ``startTime`` in epoch seconds.
"""

from __future__ import annotations

from typing import Any

import pytest

from stripe_aep.aep import Flow, FlowRun
from stripe_aep.health import UNHEALTHY, HealthPolicy, HealthStatus, classify, needs_runs, schedule_period_s
from stripe_aep.health.classify import redact

H = 3_600_000  # one hour in milliseconds
NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z, epoch ms
POLICY = HealthPolicy(grace_s=900, max_run_s=6 * 3600)
GRACE = 900_000


def item(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "tenant_id": "acme",
        "resource_path": "charges",
        "sandbox": "prod",
        "flow_id": "flow-1",
        "status": "ACTIVE",
        "schedule": {"frequency": "hour", "interval": 1, "startTime": (NOW - 48 * H) // 1000},
    }
    base.update(extra)
    return base


def flow(
    state: str = "enabled",
    created_ms: int = NOW - 48 * H,
    schedule: dict[str, Any] | None = None,
    last: dict[str, Any] | None = None,
) -> Flow:
    data: dict[str, Any] = {
        "id": "flow-1",
        "state": state,
        "createdAt": created_ms,
        "scheduleParams": schedule
        if schedule is not None
        else {"frequency": "hour", "interval": "1", "startTime": str(created_ms // 1000)},
    }
    if last is not None:
        data["lastRunDetails"] = last
    return Flow.model_validate(data)


def run(
    status: str,
    started_ms: int,
    completed_ms: int | None = None,
    *,
    run_id: str = "run-1",
    failed: int = 0,
    records: int = 100,
    errors: list[dict[str, str]] | None = None,
) -> FlowRun:
    duration: dict[str, int] = {"startedAtUTC": started_ms}
    if completed_ms is not None:
        duration["completedAtUTC"] = completed_ms
    return FlowRun.model_validate(
        {
            "id": run_id,
            "flowId": "flow-1",
            "createdAt": started_ms,
            "metrics": {
                "durationSummary": duration,
                "recordSummary": {
                    "inputRecordCount": records,
                    "outputRecordCount": records - failed,
                    "failedRecordCount": failed,
                },
                "statusSummary": {"status": status, "errors": errors or []},
            },
        }
    )


def last_run(state: str, started_ms: int, completed_ms: int | None = None, run_id: str = "run-1") -> dict[str, Any]:
    details: dict[str, Any] = {"id": run_id, "state": state, "startedAtUTC": started_ms}
    if completed_ms is not None:
        details["completedAtUTC"] = completed_ms
    return details


# ---- HEALTHY ----
def test_recent_success_from_last_run_details_is_healthy_without_runs() -> None:
    f = flow(last=last_run("success", NOW - H, NOW - H + 60_000))
    assert needs_runs(item(), f, NOW, POLICY) is False
    health = classify(item(), f, [], NOW, POLICY)
    assert health.status is HealthStatus.HEALTHY
    assert health.last_run_id == "run-1"
    assert health.last_run_started_at_ms == NOW - H
    assert health.last_run_completed_at_ms == NOW - H + 60_000
    assert "succeeded" in health.reason


def test_success_just_inside_the_window_is_healthy_and_just_outside_is_stale() -> None:
    # window = 2 * period + grace, measured from completion (epoch ms)
    window = 2 * H + GRACE
    inside = flow(last=last_run("success", NOW - window - 60_000, NOW - window))
    outside = flow(last=last_run("success", NOW - window - 60_001, NOW - window - 1))
    assert classify(item(), inside, [], NOW, POLICY).status is HealthStatus.HEALTHY
    stale = classify(item(), outside, [], NOW, POLICY)
    assert stale.status is HealthStatus.STALE
    assert "no successful run" in stale.reason


def test_schedule_units_start_time_seconds_interval_string() -> None:
    # A daily flow (interval as the string Adobe may send back): 30 h without a run is still healthy
    daily = {"frequency": "day", "interval": "1", "startTime": str((NOW - 72 * H) // 1000)}
    f = flow(schedule=daily, last=last_run("success", NOW - 30 * H, NOW - 30 * H + 60_000))
    assert schedule_period_s(daily) == 86_400
    assert classify(item(), f, [], NOW, POLICY).status is HealthStatus.HEALTHY
    # the same gap on an hourly flow is stale
    hourly = flow(last=last_run("success", NOW - 30 * H, NOW - 30 * H + 60_000))
    assert classify(item(), hourly, [], NOW, POLICY).status is HealthStatus.STALE


def test_schedule_period_of_each_frequency() -> None:
    assert schedule_period_s({"frequency": "minute", "interval": 15}) == 900
    assert schedule_period_s({"frequency": "hour", "interval": 3}) == 10_800
    assert schedule_period_s({"frequency": "week", "interval": 1}) == 604_800
    assert schedule_period_s({"frequency": "once"}) is None
    assert schedule_period_s({}) is None


def test_item_schedule_is_used_when_the_flow_has_none() -> None:
    f = flow(schedule={}, last=last_run("success", NOW - 30 * H, NOW - 30 * H))
    daily_item = item(schedule={"frequency": "day", "interval": 1, "startTime": (NOW - 72 * H) // 1000})
    assert classify(daily_item, f, [], NOW, POLICY).status is HealthStatus.HEALTHY
    assert classify(item(), f, [], NOW, POLICY).status is HealthStatus.STALE


# ---- FAILED / DEGRADED ----
def test_failed_run_keeps_adobe_errors_and_record_counts() -> None:
    f = flow(last=last_run("failed", NOW - H, NOW - H + 60_000))
    assert needs_runs(item(), f, NOW, POLICY) is True
    errors = [
        {"code": "CONNECTOR-2001-500", "message": "Stripe returned an error"},
        {"code": "CONNECTOR-1002-400", "message": "rate limited"},
    ]
    runs = [run("failed", NOW - H, NOW - H + 60_000, failed=100, errors=errors)]
    health = classify(item(), f, runs, NOW, POLICY)
    assert health.status is HealthStatus.FAILED
    assert health.errors == tuple(errors)
    assert health.failed_records == 100
    assert health.input_records == 100
    assert "CONNECTOR-2001-500" in health.reason
    assert "100 of 100 records failed" in health.reason


def test_failed_from_last_run_details_alone_is_failed() -> None:
    f = flow(last=last_run("failed", NOW - H, NOW - H + 60_000))
    health = classify(item(), f, [], NOW, POLICY)
    assert health.status is HealthStatus.FAILED
    assert health.failed_records is None


def test_errors_are_capped_and_secrets_masked() -> None:
    errors = [{"code": f"E-{i}", "message": f"bad key sk_live_abc{i}XYZ"} for i in range(12)]
    runs = [run("failed", NOW - H, NOW - H + 1, errors=errors)]
    health = classify(item(), flow(), runs, NOW, HealthPolicy(max_errors=3))
    assert [e["code"] for e in health.errors] == ["E-0", "E-1", "E-2"]
    assert all("sk_live" not in e["message"] for e in health.errors)
    assert redact("Authorization: Bearer eyJabc.def") == "Authorization: ****"


@pytest.mark.parametrize("status", ["partialSuccess", "PARTIAL_SUCCESS", "partial_failure"])
def test_partial_success_is_degraded_not_healthy(status: str) -> None:
    runs = [run(status, NOW - H, NOW - H + 60_000, failed=7, records=100)]
    health = classify(item(), flow(last=last_run(status, NOW - H, NOW - H + 60_000)), runs, NOW, POLICY)
    assert health.status is HealthStatus.DEGRADED
    assert health.failed_records == 7
    assert "7 of 100 records failed" in health.reason


def test_success_with_failed_records_is_degraded() -> None:
    runs = [run("success", NOW - H, NOW - H + 60_000, failed=3)]
    assert classify(item(), flow(), runs, NOW, POLICY).status is HealthStatus.DEGRADED


def test_the_latest_finished_run_decides_whatever_order_runs_come_in() -> None:
    runs = [
        run("failed", NOW - 3 * H, NOW - 3 * H + 1, run_id="old"),
        run("success", NOW - H, NOW - H + 1, run_id="new"),
    ]
    health = classify(item(), flow(), runs, NOW, POLICY)
    assert health.status is HealthStatus.HEALTHY
    assert health.last_run_id == "new"
    recovered_then_failed = [runs[1], run("failed", NOW - 10_000, NOW - 5_000, run_id="newest")]
    assert classify(item(), flow(), recovered_then_failed, NOW, POLICY).status is HealthStatus.FAILED


# ---- in progress and stuck ----
def test_run_in_progress_defers_to_the_latest_finished_run() -> None:
    f = flow(last=last_run("inProgress", NOW - 10 * 60_000))
    assert needs_runs(item(), f, NOW, POLICY) is True
    runs = [
        run("inProgress", NOW - 10 * 60_000, run_id="running"),
        run("success", NOW - H - 10 * 60_000, NOW - H, run_id="done"),
    ]
    health = classify(item(), f, runs, NOW, POLICY)
    assert health.status is HealthStatus.HEALTHY
    assert health.last_run_id == "running"  # the latest started run is recorded
    assert health.last_run_completed_at_ms is None


def test_run_in_progress_past_period_plus_grace_is_stuck() -> None:
    started = NOW - H - GRACE - 1  # hourly flow: limit = min(period, max_run) + grace
    runs = [run("inProgress", started, run_id="stuck")]
    health = classify(item(), flow(last=last_run("inProgress", started, run_id="stuck")), runs, NOW, POLICY)
    assert health.status is HealthStatus.STALE
    assert "stuck" in health.reason
    not_yet = [run("inProgress", started + 2, run_id="slow"), run("success", NOW - 2 * H, NOW - 2 * H + 1)]
    assert classify(item(), flow(), not_yet, NOW, POLICY).status is HealthStatus.HEALTHY


def test_weekly_flow_run_is_stuck_after_max_run_not_after_a_week() -> None:
    weekly = {"frequency": "week", "interval": 1, "startTime": (NOW - 30 * 24 * H) // 1000}
    runs = [
        run("inProgress", NOW - 7 * H),
        run("success", NOW - 3 * 24 * H, NOW - 3 * 24 * H + 1, run_id="ok"),
    ]
    health = classify(item(), flow(schedule=weekly), runs, NOW, POLICY)
    assert health.status is HealthStatus.STALE
    assert "stuck" in health.reason


def test_first_run_in_progress_is_pending() -> None:
    f = flow(created_ms=NOW - 20 * 60_000, last=last_run("inProgress", NOW - 5 * 60_000))
    health = classify(item(), f, [run("inProgress", NOW - 5 * 60_000)], NOW, POLICY)
    assert health.status is HealthStatus.PENDING


# ---- PENDING and never-ran ----
def test_no_run_yet_within_first_interval_plus_grace_is_pending_then_stale() -> None:
    created = NOW - H - GRACE  # exactly at the edge: still pending
    assert classify(item(), flow(created_ms=created), [], NOW, POLICY).status is HealthStatus.PENDING
    late = classify(item(), flow(created_ms=created - 1), [], NOW, POLICY)
    assert late.status is HealthStatus.STALE
    assert "no finished run" in late.reason
    assert needs_runs(item(), flow(created_ms=created), NOW, POLICY) is False


def test_start_time_in_the_future_is_pending() -> None:
    schedule = {"frequency": "day", "interval": 1, "startTime": (NOW + 5 * 24 * H) // 1000}  # epoch seconds
    health = classify(item(), flow(created_ms=NOW - 30 * 24 * H, schedule=schedule), [], NOW, POLICY)
    assert health.status is HealthStatus.PENDING
    assert "2026-01-06T00:00:00Z" in health.reason


def test_start_time_in_seconds_is_not_read_as_milliseconds() -> None:
    # startTime one hour ago in epoch seconds: the first run was due then, the window is period + grace
    schedule = {"frequency": "hour", "interval": 1, "startTime": (NOW - 3 * H) // 1000}
    health = classify(item(), flow(created_ms=NOW - 4 * H, schedule=schedule), [], NOW, POLICY)
    assert health.status is HealthStatus.STALE  # read as ms it would look like 1970, never as pending


# ---- once-only schedules ----
def test_once_only_flow_stays_healthy_after_its_single_run() -> None:
    once = {"frequency": "once", "startTime": (NOW - 90 * 24 * H) // 1000}
    f = flow(schedule=once, created_ms=NOW - 90 * 24 * H)
    runs = [run("success", NOW - 90 * 24 * H, NOW - 90 * 24 * H + 60_000)]
    health = classify(item(), f, runs, NOW, POLICY)
    assert health.status is HealthStatus.HEALTHY
    assert "once-only" in health.reason


def test_once_only_flow_stays_failed_by_its_single_run() -> None:
    once = {"frequency": "once", "startTime": (NOW - 90 * 24 * H) // 1000}
    runs = [run("failed", NOW - 90 * 24 * H, NOW - 90 * 24 * H + 60_000)]
    assert classify(item(), flow(schedule=once), runs, NOW, POLICY).status is HealthStatus.FAILED


def test_a_successful_on_demand_run_is_read_once_for_its_record_counts() -> None:
    """lastRunDetails has no counts: the run list is read for the item's on-demand run until they are recorded."""
    f = flow(last=last_run("success", NOW - 60_000, NOW - 30_000, run_id="run-9"))
    asked = item(last_on_demand_run_id="run-9")
    assert needs_runs(asked, f, NOW, POLICY) is True
    health = classify(asked, f, [run("success", NOW - 60_000, NOW - 30_000, run_id="run-9", records=3)], NOW, POLICY)
    assert (health.status, health.input_records, health.failed_records) == (HealthStatus.HEALTHY, 3, 0)
    recorded = item(last_on_demand_run_id="run-9", last_run_id="run-9", last_run_input_records=3)
    assert needs_runs(recorded, f, NOW, POLICY) is False, "once recorded, lastRunDetails suffices again"
    assert needs_runs(item(last_on_demand_run_id="run-8"), f, NOW, POLICY) is False, "a scheduled run after it"


def test_once_only_flow_without_its_run_is_pending_within_grace_then_stale() -> None:
    once = {"frequency": "once", "startTime": (NOW - 10 * 60_000) // 1000}
    f = flow(schedule=once, created_ms=NOW - 20 * 60_000)
    assert classify(item(), f, [], NOW, POLICY).status is HealthStatus.PENDING
    assert classify(item(), f, [], NOW + GRACE, POLICY).status is HealthStatus.STALE


# ---- DISABLED and MISSING ----
def test_flow_disabled_in_aep_is_disabled() -> None:
    f = flow(state="disabled", last=last_run("failed", NOW - 50 * H, NOW - 50 * H))
    assert needs_runs(item(), f, NOW, POLICY) is False
    health = classify(item(), f, [], NOW, POLICY)
    assert health.status is HealthStatus.DISABLED
    assert "in AEP" in health.reason


@pytest.mark.parametrize("marker", [{"enabled": False}, {"flow_state": "disabled"}])
def test_flow_disabled_by_the_tenant_in_dynamodb_is_disabled(marker: dict[str, Any]) -> None:
    f = flow(last=last_run("success", NOW - 50 * H, NOW - 50 * H))
    health = classify(item(**marker), f, [], NOW, POLICY)
    assert health.status is HealthStatus.DISABLED
    assert "tenant" in health.reason


def test_flow_gone_from_aep_is_missing() -> None:
    health = classify(item(), None, [], NOW, POLICY)
    assert health.status is HealthStatus.MISSING
    assert "flow-1" in health.reason
    assert needs_runs(item(), None, NOW, POLICY) is False


def test_item_without_flow_id_is_missing() -> None:
    assert classify(item(flow_id=None), flow(), [], NOW, POLICY).status is HealthStatus.MISSING


def test_unhealthy_set_is_the_alerting_statuses() -> None:
    assert {s.value for s in UNHEALTHY} == {"FAILED", "STALE", "MISSING", "DEGRADED"}


def test_unknown_run_state_counts_as_not_finished() -> None:
    runs = [run("queued", NOW - 5 * 60_000), run("success", NOW - H, NOW - H + 1, run_id="ok")]
    health = classify(item(), flow(), runs, NOW, POLICY)
    assert health.status is HealthStatus.HEALTHY
