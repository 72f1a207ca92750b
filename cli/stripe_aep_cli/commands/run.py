"""``run``: an on-demand run per dataflow (lifecycle ``run_now``, Flow Service POST /runs), followed to its end."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError

from stripe_aep.errors import InputValidationError
from stripe_aep.runs import DEFAULT_WINDOW_S, check_window, default_window
from stripe_aep.tenants import LifecycleInput
from stripe_aep_cli.commands.operations import PathOpt, TenantArg, TimeoutOpt, epoch_seconds, report, validated
from stripe_aep_cli.common import EPILOG, ExitCode, backend, console, emit_json, fail, options
from stripe_aep_cli.executions import follow, start_or_attach

FromOpt = Annotated[str | None, typer.Option("--from", help="Window start: epoch seconds or ISO 8601 with offset.")]
ToOpt = Annotated[
    str | None, typer.Option("--to", help="Window end (not in the future) [default: the current minute].")
]


def _iso(epoch_s: int) -> str:
    """``epoch_s`` (epoch seconds) as ISO 8601 UTC: 2026-01-31T00:00:00Z."""
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(value: str | None, option: str) -> int | None:
    try:
        return epoch_seconds(value)
    except typer.BadParameter as exc:
        raise typer.BadParameter(exc.message, param_hint=option) from None


def run_now(
    ctx: typer.Context,
    tenant: TenantArg,
    path: PathOpt = None,
    window_from: FromOpt = None,
    window_to: ToOpt = None,
    timeout: TimeoutOpt = 900,
) -> None:
    """Ingest now (default: the last day) or backfill --from/--to (at most 30 days per run); prints each run's
    records read / written / failed once it has ended."""
    opts = options(ctx)
    end = _epoch(window_to, "--to")
    start = _epoch(window_from, "--from")
    if end is None:
        end = default_window()[1]  # named in the input, so the same command within a minute is one request
    if start is None:
        start = end - DEFAULT_WINDOW_S
    payload = {
        "operation": "run_now",
        "tenantId": tenant,
        "resourcePaths": path or None,
        "windowStartTime": start,
        "windowEndTime": end,
    }
    detail = validated(opts, LifecycleInput, payload)
    try:  # Adobe's window rules, before anything starts
        check_window(start, end)
    except InputValidationError as exc:
        raise typer.BadParameter(str(exc), param_hint="--from/--to") from None
    stack = backend(opts)
    sfn = stack.client("stepfunctions")
    out = console()
    try:
        execution = start_or_attach(sfn, stack.state_machine_arn("lifecycle"), "run-now", tenant, detail)
        follow(sfn, execution, lambda _line: None, poll_s=0.25 if stack.local else 1.0, timeout_s=timeout)
    except (ClientError, BotoCoreError, RuntimeError) as exc:
        fail(opts, f"cannot start run-now for {tenant}: {exc}")
    if execution.status != "SUCCEEDED":
        report(opts, "run-now", tenant, execution, None, waited=True)
    started = (execution.output or {}).get("runs") or []
    if not opts.json:
        window = f"[{_iso(start)}, {_iso(end)})"
        out.print(f"run-now {tenant}: {len(started)} run(s) over {window} ({execution.name})")
    # Follow each run to its end through the health check (GET /flows + GET /runs), which records the run's
    # state and counts on the dataflow item.
    deadline = time.monotonic() + timeout
    pending = {r["resourcePath"]: r["runId"] for r in started}
    results: dict[str, dict[str, Any]] = {}
    while pending and time.monotonic() < deadline:
        try:
            stack.client("lambda").invoke(
                FunctionName=stack.health_function, Payload=json.dumps({"tenantId": tenant}).encode()
            )
            items = {str(d.get("resource_path")): d for d in stack.store().tenant_items(tenant)[1]}
        except (ClientError, BotoCoreError) as exc:
            fail(opts, f"cannot follow the runs of {tenant}: {exc}")
        for resource_path, run_id in list(pending.items()):
            item = items.get(resource_path, {})
            if item.get("last_run_id") == run_id and item.get("last_run_completed_at_ms"):
                read = int(item.get("last_run_input_records") or 0)
                failed = int(item.get("last_run_failed_records") or 0)
                results[resource_path] = {
                    "runId": run_id,
                    "state": item.get("last_run_state"),
                    "recordsRead": read,
                    "recordsWritten": 0 if item.get("last_run_state") == "failed" else max(0, read - failed),
                    "recordsFailed": failed,
                }
                del pending[resource_path]
        if pending:
            time.sleep(0.5 if stack.local else 10)
    if opts.json:
        emit_json({"tenantId": tenant, "execution": execution.as_dict(), "runs": results, "pending": pending})
    else:
        for resource_path, r in sorted(results.items()):
            out.print(
                f"  {resource_path}: run {r['runId']} {r['state']}: {r['recordsRead']} read, "
                f"{r['recordsWritten']} written, {r['recordsFailed']} failed"
            )
        for resource_path, run_id in sorted(pending.items()):
            out.print(f"  {resource_path}: run {run_id} has not ended within {timeout:.0f} s")
    if pending or any(r["state"] not in ("success", "succeeded") for r in results.values()):
        raise typer.Exit(ExitCode.FAILED)


def register(app: typer.Typer) -> None:
    """Add this module's command to ``app``."""
    app.command("run", epilog=EPILOG)(run_now)
