"""``stripe-aep upgrade`` and ``stripe-aep fields``, and the table versions ``status`` shows.

Registered by ``register(app)`` (``stripe_aep_cli.app``); ``status`` shows ``table_versions``
(``stripe_aep_cli.commands.state``).

- ``upgrade TENANT`` [--dry-run]: the lifecycle ``upgrade`` operation of one tenant;
- ``upgrade --all [--batch N]`` [--dry-run]: one execution of the UpgradeAll state machine
  (``statemachine/upgrade_all.asl.json``): every tenant of the tenant index (DynamoDB ``gsi1``) in pages of N,
  each page a Map of tenants bounded by the template's ``MaxConcurrency``; prints its per-tenant report;
- ``fields TENANT PATH --include F ... | --exclude F ...``: the lifecycle ``update_fields`` operation;
- ``table_versions(dataflows)``: each dataflow's table version against the current one (``outdated``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.markup import escape

from stripe_aep.errors import InputValidationError
from stripe_aep.resources import RESOURCE_PATHS, get_resource
from stripe_aep.selection import check_selection
from stripe_aep.tenants import LifecycleInput, parse_input
from stripe_aep_cli.backend import Backend
from stripe_aep_cli.commands.operations import TenantArg, TimeoutOpt, WaitOpt, run, tenant_callback
from stripe_aep_cli.common import EPILOG, ExitCode, backend, console, emit_json, fail, options, usage_error
from stripe_aep_cli.executions import Execution, follow, start_or_attach

#: The table version of a dataflow provisioned before versions were recorded (``stripe_aep.steps.upgrade``).
FIRST_VERSION = 1


def table_versions(dataflows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{path: {version, current, outdated}}`` of a tenant's dataflow items (DynamoDB ``table_version``)."""
    out = {}
    for item in dataflows:
        path = str(item.get("resource_path"))
        if path not in RESOURCE_PATHS:
            continue
        version = int(item.get("table_version", FIRST_VERSION))
        current = get_resource(path).table_version
        out[path] = {"version": version, "current": current, "outdated": version < current}
    return out


def version_text(versions: Mapping[str, Any] | None) -> str:
    """``v1`` or ``v1 -> v2 (outdated)`` for the status table."""
    if not versions:
        return ""
    text = f"v{versions['version']}"
    return f"{text} -> v{versions['current']} (outdated)" if versions["outdated"] else text


def upgrade_all_payload(batch: int, dry_run: bool, start_after: str | None = None) -> dict[str, Any]:
    """The UpgradeAll execution input (``stripe_aep.steps.upgrade_all.UpgradeAllInput``)."""
    payload: dict[str, Any] = {"pageSize": batch, "dryRun": dry_run}
    if start_after:
        payload["startAfter"] = start_after
    return payload


def run_upgrade_all(
    backend: Backend,
    batch: int,
    dry_run: bool,
    timeout_s: float,
    on_done: Callable[[dict[str, Any]], None] = lambda report: None,
) -> tuple[list[Execution], dict[str, Any]]:
    """Start (or attach to) the UpgradeAll execution, pages of ``batch`` tenants, wait for it and return it
    with its report (``steps.upgrade_all.fold_report``; ``on_done`` gets each tenant's entry). An execution
    that stops with ``resumeAfter`` (its history bound) is followed by the next, ``startAfter`` that tenant;
    the reports are merged. The execution is named ``upgrade-all-{sha256(input)[:12]}`` (``-rN`` once ended):
    the same command while a run is going attaches to it. Raises ``ClientError`` and ``RuntimeError`` from
    Step Functions; a run that ends FAILED is returned as it is (``status``, ``error``, ``cause``)."""
    sfn = backend.client("stepfunctions")
    arn = backend.state_machine_arn("upgrade_all")
    executions: list[Execution] = []
    merged: dict[str, Any] = {"dryRun": dry_run, "counts": {}, "tenants": [], "truncated": 0, "resumeAfter": None}
    start_after: str | None = None
    while True:
        payload = upgrade_all_payload(batch, dry_run, start_after)
        execution = start_or_attach(sfn, arn, "upgrade", "all", payload)
        poll_s = 0.25 if backend.local else 1.0
        follow(sfn, execution, lambda line: None, poll_s=poll_s, timeout_s=timeout_s)
        executions.append(execution)
        report = execution.output if isinstance(execution.output, dict) else {}
        for entry in report.get("tenants") or []:
            merged["tenants"].append(entry)
            on_done(entry)
        for result, count in (report.get("counts") or {}).items():
            merged["counts"][result] = int(merged["counts"].get(result, 0)) + int(count)
        merged["truncated"] += int(report.get("truncated") or 0)
        start_after = report.get("resumeAfter")
        if execution.status != "SUCCEEDED" or not start_after:
            return executions, merged


def run_lifecycle_batches(
    backend: Backend,
    payloads: Sequence[dict[str, Any]],
    batch: int,
    timeout_s: float,
    on_done: Callable[[dict[str, Any]], None] = lambda report: None,
) -> list[dict[str, Any]]:
    """Start lifecycle executions for ``payloads`` (each validated as ``LifecycleInput``), at most ``batch`` at
    a time, wait for each batch, and return one report per payload: ``{tenantId, status, execution,
    upgrades (the Map's per-path results), error, cause}``. An execution that cannot be started is reported
    ``FAILED`` with the error; the others go on."""
    sfn = backend.client("stepfunctions")
    arn = backend.state_machine_arn("lifecycle")
    reports: list[dict[str, Any]] = []
    for start in range(0, len(payloads), max(1, batch)):
        started: list[tuple[dict[str, Any], Execution | None, str]] = []
        for payload in payloads[start : start + batch]:
            parse_input(LifecycleInput, payload)  # InputValidationError before anything starts
            detail = dict(payload)
            operation = str(payload["operation"]).replace("_", "-")
            try:
                started.append((payload, start_or_attach(sfn, arn, operation, str(payload["tenantId"]), detail), ""))
            except (ClientError, BotoCoreError, RuntimeError) as exc:
                started.append((payload, None, str(exc)))
        for payload, execution, problem in started:
            report: dict[str, Any] = {"tenantId": payload["tenantId"], "status": "FAILED", "error": problem}
            if execution is not None:
                follow(sfn, execution, lambda line: None, poll_s=0.25 if backend.local else 1.0, timeout_s=timeout_s)
                output = execution.output if isinstance(execution.output, dict) else {}
                report = {
                    "tenantId": payload["tenantId"],
                    "status": execution.status,
                    "execution": execution.name,
                    "upgrades": output.get("upgrades", []),
                    "error": execution.error,
                    "cause": execution.cause,
                }
            reports.append(report)
            on_done(report)
    return reports


def upgrade_payloads(tenants: Sequence[str], dry_run: bool) -> list[dict[str, Any]]:
    return [{"operation": "upgrade", "tenantId": t, **({"dryRun": True} if dry_run else {})} for t in tenants]


def fields_payload(tenant_id: str, path: str, include: Sequence[str], exclude: Sequence[str]) -> dict[str, Any]:
    """The ``update_fields`` lifecycle input of ``stripe-aep fields``; ``ValueError`` unless exactly one of
    ``include`` / ``exclude`` is given."""
    if bool(include) == bool(exclude):
        raise ValueError("give --include or --exclude (one of them)")
    chosen = {"include": list(include)} if include else {"exclude": list(exclude)}
    return {"operation": "update_fields", "tenantId": tenant_id, "fields": {path: chosen}}


def upgrade_line(report: Mapping[str, Any]) -> str:
    """One line per tenant: status (and the run's ``result``: upgraded, current, planned, failed), then per
    path ``path vA->vB: writes`` (or what a dry run would write)."""
    parts = []
    for item in report.get("upgrades") or []:
        did = ", ".join(item.get("writes") or []) or "no write"
        planned = "; ".join(item.get("planned") or [])
        parts.append(f"{item['resourcePath']} v{item['fromVersion']}->v{item['toVersion']}: {planned or did}")
    error = f" {report.get('error')}: {report.get('cause')}" if report.get("status") != "SUCCEEDED" else ""
    result = f" {report['result']}" if report.get("result") else ""
    return f"{report['tenantId']}: {report['status']}{result}{error}" + (f" ({'; '.join(parts)})" if parts else "")


def upgrade(
    ctx: typer.Context,
    tenant: Annotated[
        str | None, typer.Argument(help="Tenant id (or --all).", callback=tenant_callback, metavar="[TENANT]")
    ] = None,
    all_tenants: Annotated[
        bool,
        typer.Option("--all", help="Every tenant with an ACTIVE dataflow (the tenant index).", show_default=False),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report the Adobe writes, make none.", show_default=False)
    ] = False,
    batch: Annotated[
        int, typer.Option("--batch", help="Tenants per page of the upgrade-all run (--all).", min=1, max=40)
    ] = 10,
    timeout: TimeoutOpt = 900,
) -> None:
    """Bring tenants' field groups, mapping sets and flows to the current table version (upgrade, upgrade-all).

    TENANT: its lifecycle upgrade execution. --all: one execution of the upgrade-all state machine, which
    reports per tenant (upgraded, current, planned, failed)."""
    opts = options(ctx)
    if bool(tenant) == all_tenants:
        usage_error(opts, "give a TENANT or --all, not both" if tenant else "give a TENANT or --all")
    stack = backend(opts)
    out = console()

    def show(report: dict[str, Any]) -> None:
        if not opts.json:
            colour = "green" if report["status"] == "SUCCEEDED" else "red"
            out.print(f"[{colour}]{escape(upgrade_line(report))}[/]")

    try:
        if tenant:
            reports = run_lifecycle_batches(stack, upgrade_payloads([tenant], dry_run), 1, timeout, show)
            if opts.json:
                emit_json({"tenants": reports})
            failed = any(r["status"] != "SUCCEEDED" for r in reports)
        else:
            executions, report = run_upgrade_all(stack, batch, dry_run, timeout, show)
            last = executions[-1]
            if opts.json:
                emit_json({"executions": [e.as_dict() for e in executions], "report": report})
            else:
                counts = ", ".join(f"{n} {k}" for k, n in sorted(report["counts"].items()) if n)
                out.print(escape(f"{last.name}: {last.status} ({counts or 'no tenant'})"))
                if last.status != "SUCCEEDED":
                    out.print(f"[red]{escape(f'{last.error}: {last.cause}')}[/]")
            failed = last.status != "SUCCEEDED" or bool(report["counts"].get("failed"))
    except (ClientError, BotoCoreError, InputValidationError, RuntimeError) as exc:
        fail(opts, f"cannot upgrade: {exc}")
    if failed:
        raise typer.Exit(ExitCode.FAILED)


def fields(
    ctx: typer.Context,
    tenant: TenantArg,
    path: Annotated[str, typer.Argument(help="Stripe resource path.")],
    include: Annotated[list[str] | None, typer.Option("--include", help="Stripe field to keep (repeatable).")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Stripe field to drop (repeatable).")] = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = 900,
) -> None:
    """Choose the fields of one path the tenant's mapping set writes (lifecycle update_fields)."""
    try:
        payload = fields_payload(tenant, path, include or [], exclude or [])
        # The selection against the field table and Stripe's field summary, before anything starts.
        check_selection(path, payload["fields"][path])
    except (ValueError, InputValidationError) as exc:
        raise typer.BadParameter(str(exc)) from None
    run(ctx, "lifecycle", LifecycleInput, payload, wait, timeout)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command(epilog=EPILOG)(upgrade)
    app.command(epilog=EPILOG)(fields)
