"""The commands that read state: ``status`` (DynamoDB) and ``health`` (runs the health-check function now)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.markup import escape

from stripe_aep_cli.backend import Backend
from stripe_aep_cli.commands.evolve import table_versions, version_text
from stripe_aep_cli.commands.operations import tenant_callback
from stripe_aep_cli.common import (
    EPILOG,
    ExitCode,
    backend,
    console,
    emit_json,
    fail,
    is_terminal,
    options,
    plural,
    short_id,
    table,
)

#: ``health_status`` values (dataflow items, written by the health check) that make ``health`` exit 3.
UNHEALTHY = frozenset({"FAILED", "STALE", "MISSING", "DEGRADED"})
_HIDDEN = ("pk", "sk", "gsi1pk", "gsi1sk")
#: (heading, attribute) of the ID columns: the base connection on the tenant row, the rest on dataflow rows.
_ID_COLUMNS = (
    ("base / flow id", "flow_id"),
    ("source conn", "source_connection_id"),
    ("target conn", "target_connection_id"),
    ("dataset", "dataset_id"),
    ("mapping set", "mapping_set_id"),
)
WideOpt = Annotated[bool, typer.Option("--wide", help="Every Adobe ID in full, and the health reason.")]


def _public(item: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if item is None else {k: v for k, v in item.items() if k not in _HIDDEN}


def _error_text(item: dict[str, Any]) -> str:
    error = item.get("last_error")
    if not isinstance(error, dict):
        return ""
    code = f"{error['adobe_error_code']}: " if error.get("adobe_error_code") else ""
    step = f"{error['step']}: " if error.get("step") else ""
    return f"{step}{code}{error.get('message', error.get('error', ''))}"


def rows_of(stack: Backend, tenant_id: str | None) -> list[dict[str, Any]]:
    """``[{tenantId, tenant, dataflows, tableVersions}]`` from DynamoDB, one per tenant (one tenant when
    ``tenant_id``); ``tableVersions`` is ``commands.evolve.table_versions``."""
    store = stack.store()
    tenant_ids = [tenant_id] if tenant_id else sorted(str(t["tenant_id"]) for t in store.tenants())
    rows = []
    for tid in tenant_ids:
        tenant, dataflows = store.tenant_items(tid)
        if tenant is None and not dataflows:
            continue
        rows.append(
            {
                "tenantId": tid,
                "tenant": _public(tenant),
                "dataflows": [_public(d) for d in dataflows],
                "tableVersions": table_versions(dataflows),
            }
        )
    return rows


def status_table(rows: list[dict[str, Any]], title: str, wide: bool) -> Any:
    """Tenant and dataflow rows; ``wide`` adds every Adobe ID and the health reason. IDs are full on a pipe."""
    ids = _ID_COLUMNS if wide else _ID_COLUMNS[:1]
    full = wide or not is_terminal()

    def shown(value: Any) -> str:
        return str(value or "") if full else short_id(value)

    lines = []
    for row in rows:
        tenant = row["tenant"] or {}
        blanks = [""] * (len(ids) - 1)
        lines.append(
            [row["tenantId"], "(tenant)", str(tenant.get("status", "-")), "",
             shown(tenant.get("base_connection_id")), *blanks, _error_text(tenant), ""]
        )  # fmt: skip
        for item in row["dataflows"]:
            health = str(item.get("health_status", "-"))
            if item.get("flow_state") == "disabled":
                health += " (disabled)"
            if wide and item.get("health_reason"):
                health += f": {item['health_reason']}"
            lines.append(
                ["", str(item.get("resource_path")), str(item.get("status", "-")), health,
                 *(shown(item.get(attr)) for _, attr in ids), _error_text(item),
                 version_text(row.get("tableVersions", {}).get(str(item.get("resource_path"))))]
            )  # fmt: skip
    columns = ["tenant", "resource path", "status", "health", *(h for h, _ in ids), "last error", "table"]
    return table(title, columns, lines)


def status(
    ctx: typer.Context,
    tenant: Annotated[
        str | None,
        typer.Argument(help="Tenant id (all tenants when omitted).", callback=tenant_callback, metavar="[TENANT]"),
    ] = None,
    wide: WideOpt = False,
) -> None:
    """Tenants x resource paths: Adobe IDs, provisioning status, health status and last error (DynamoDB)."""
    opts = options(ctx)
    stack = backend(opts)
    try:
        rows = rows_of(stack, tenant)
    except (ClientError, BotoCoreError) as exc:
        fail(opts, f"cannot read {stack.outputs['TableName']}: {exc}")
    if opts.json:
        emit_json({"tenants": rows})
    elif rows:
        console().print(status_table(rows, f"{stack.outputs['TableName']}: tenant x resource path", wide))
    else:
        console().print(f"No tenant {tenant} in {stack.outputs['TableName']}." if tenant else "No tenants yet.")
    if tenant and not rows:
        raise typer.Exit(ExitCode.FAILED)


def sweep_sentence(result: Any) -> str:
    """The health check's answer (``{checked, byStatus, complete, cursor, alerts}``) as a sentence."""
    if not isinstance(result, dict):
        return f"The health check answered {json.dumps(result, default=str)}."
    counts = ", ".join(f"{n} {s}" for s, n in sorted((result.get("byStatus") or {}).items()))
    text = f"Health check: {plural(int(result.get('checked', 0)), 'dataflow')} checked" + (
        f" ({counts})." if counts else "."
    )
    if result.get("complete") is False:
        text += " The sweep stopped before the end (time limit); the next run resumes from its cursor."
    alerts = int(result.get("alerts", 0))
    text += (
        f" {plural(alerts, 'alert')} sent to the alert topic (a dataflow moved into or out of an unhealthy status)."
        if alerts
        else " No alert sent (alerts go to the alert topic when a dataflow moves into or out of an unhealthy status)."
    )
    return text


def health(
    ctx: typer.Context,
    tenant: Annotated[
        str | None,
        typer.Argument(
            help="Tenant id (every ACTIVE dataflow when omitted).", callback=tenant_callback, metavar="[TENANT]"
        ),
    ] = None,
    wide: WideOpt = False,
) -> None:
    """Run a health check now (invokes the health-check function) and show each dataflow's health.

    Exits 3 when a dataflow is FAILED, STALE, MISSING or DEGRADED.
    """
    opts = options(ctx)
    stack = backend(opts)
    payload = {"tenantId": tenant} if tenant else {}
    try:
        answer = stack.client("lambda").invoke(FunctionName=stack.health_function, Payload=json.dumps(payload).encode())
        result = json.loads(answer["Payload"].read() or b"null")
        rows = rows_of(stack, tenant)
    except (ClientError, BotoCoreError, ValueError) as exc:
        fail(opts, f"the health check failed: {exc}")
    if answer.get("FunctionError"):
        message = result.get("errorMessage") if isinstance(result, dict) else result
        error_type = result.get("errorType") if isinstance(result, dict) else "error"
        fail(opts, f"the health check failed: {error_type}: {message}")
    unhealthy = [
        {
            "tenantId": row["tenantId"],
            "resourcePath": d.get("resource_path"),
            "health": d.get("health_status"),
            "reason": d.get("health_reason"),
        }
        for row in rows
        for d in row["dataflows"]
        if d.get("health_status") in UNHEALTHY
    ]
    if opts.json:
        emit_json({"result": result, "unhealthy": unhealthy, "tenants": rows})
    else:
        out = console()
        out.print(escape(sweep_sentence(result)))
        if rows:
            out.print(status_table(rows, "Health of tenant x resource path", wide))
        if unhealthy:
            out.print(f"[red]{plural(len(unhealthy), 'unhealthy dataflow')}:[/]")
            for bad in unhealthy:
                reason = f": {bad['reason']}" if bad.get("reason") else ""
                out.print(f"  {escape(str(bad['tenantId']))} / {escape(str(bad['resourcePath']))}: "
                          f"{escape(str(bad['health']))}{escape(reason)}")  # fmt: skip
        else:
            out.print("[green]No unhealthy dataflow.[/]")
    if unhealthy:
        raise typer.Exit(ExitCode.UNHEALTHY)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command(epilog=EPILOG)(status)
    app.command(epilog=EPILOG)(health)
