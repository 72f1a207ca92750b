"""``stripe-aep``: the operator's command line over the provisioner's state machines, table and health check.

Thin by design: inputs are validated with the layer's own models (``stripe_aep.tenants``), executions are
named with its ``execution_name``, DynamoDB is read through its ``Store``; the rest is boto3 and rich.

Exit codes: 0 success, 1 failed operation (execution FAILED/TIMED_OUT/ABORTED, or an AWS error), 2 usage error
(bad tenant id or option, no stack to talk to), 3 unhealthy result (``health`` found an unhealthy dataflow).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from local.cli import evolve, local_stack
from local.cli.backend import DEFAULT_STACK_FILE, Backend, BackendError, aws_backend, local_backend
from local.cli.executions import Execution, follow, last_error, start_or_attach
from stripe_aep.errors import InputValidationError
from stripe_aep.tenants import (
    DeprovisionInput,
    LifecycleInput,
    ProvisionInput,
    parse_input,
    validate_tenant_id,
)


class ExitCode(IntEnum):
    """The CLI's exit codes (documented in ``--help``)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    UNHEALTHY = 3


#: ``health_status`` values (dataflow items, written by the health check) that make ``health`` exit 3.
UNHEALTHY = frozenset({"FAILED", "STALE", "MISSING", "DEGRADED"})

EPILOG = (
    "Exit codes: 0 success; 1 failed operation (execution FAILED, TIMED_OUT or ABORTED, or an AWS error); "
    "2 usage error (bad tenant id or option, no stack found); 3 unhealthy result (health)."
)

app = typer.Typer(
    name="stripe-aep",
    help="Provision and operate Stripe -> Adobe Experience Platform dataflows per tenant.",
    epilog=EPILOG,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
local_app = typer.Typer(
    help="The one-machine stack (moto + AEP simulator) that --local commands talk to.", epilog=EPILOG
)
app.add_typer(local_app, name="local")


# ---- global options: `stripe-aep [OPTIONS] COMMAND ...`, given before the command name --------------------
@dataclass(frozen=True)
class Options:
    """Where to send calls and how to print: the global options, stored in ``ctx.obj`` by the app callback."""

    local: bool = False
    stack_file: Path = DEFAULT_STACK_FILE
    stack_name: str | None = None
    region: str | None = None
    json: bool = False


@app.callback()
def _global_options(
    ctx: typer.Context,
    local: Annotated[
        bool, typer.Option("--local", help="Use the local stack (`stripe-aep local up`).", show_default=False)
    ] = False,
    stack_file: Annotated[
        Path, typer.Option("--stack-file", help="Stack file that `local up` writes and --local reads.")
    ] = DEFAULT_STACK_FILE,
    stack_name: Annotated[
        str | None, typer.Option("--stack-name", help="Deployed stack [default: samconfig.toml's stack_name].")
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="AWS region [default: samconfig.toml's].")] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Machine-readable JSON on stdout.", show_default=False)
    ] = False,
) -> None:
    """The global options, given before the command name."""
    ctx.obj = Options(local, stack_file, stack_name, region, json_output)


def _tenant(value: str | None) -> str | None:
    """The TENANT argument's callback: the layer's tenant id rule, a usage error (exit 2) otherwise."""
    if value is None:
        return None
    try:
        return validate_tenant_id(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="TENANT") from None


# ---- the commands' own options -----------------------------------------------------------------------------
TenantArg = Annotated[
    str, typer.Argument(help="Tenant id: 3-40 lowercase letters, digits, inner hyphens.", callback=_tenant)
]
PathOpt = Annotated[
    list[str] | None,
    typer.Option("--path", help="Stripe resource path (repeatable): charges, refunds, subscriptions, ..."),
]
FREQUENCY_HELP = "once, minute, hour, day or week."
IntervalOpt = Annotated[int | None, typer.Option(help="Frequency units between runs.")]
WaitOpt = Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the execution until it ends.")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds to follow before giving up.", min=1)]
WideOpt = Annotated[bool, typer.Option("--wide", help="Every Adobe ID and the health reason.")]


def _backend(options: Options) -> Backend:
    try:
        if options.local:
            return local_backend(options.stack_file)
        return aws_backend(options.stack_name, options.region)
    except BackendError as exc:
        hint = "--stack-file" if options.local else "--stack-name"
        raise typer.BadParameter(str(exc), param_hint=hint) from None


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _emit_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, default=str, sort_keys=True) + "\n")
    sys.stdout.flush()


def _fail(options: Options, message: str) -> NoReturn:
    if options.json:
        _emit_json({"error": message})
    else:
        Console(stderr=True, highlight=False).print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(ExitCode.FAILED)


def _validated(model: type[BaseModel], payload: dict[str, Any]) -> dict[str, Any]:
    """The console input, validated by the state machine's own model; a usage error (exit 2) otherwise."""
    try:
        return parse_input(model, payload).model_dump(exclude_none=True)
    except InputValidationError as exc:
        raise typer.BadParameter(str(exc), param_hint="input") from None


def _epoch_seconds(value: str | None) -> int | None:
    """``--start-time``: epoch seconds, or an ISO 8601 time with its offset (e.g. 2026-01-01T00:00:00Z)."""
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("epoch seconds or ISO 8601 with offset", param_hint="--start-time") from None
    if moment.tzinfo is None:
        raise typer.BadParameter("an ISO 8601 time needs its UTC offset", param_hint="--start-time")
    return int(moment.timestamp())


def _schedule(frequency: str | None, interval: int | None, start_time: int | None = None) -> dict[str, Any] | None:
    """The input's ``schedule`` from the options given (None when none is)."""
    given = {"frequency": frequency, "interval": interval, "startTime": start_time}
    return {key: value for key, value in given.items() if value is not None} or None


# ---- the operations ----------------------------------------------------------------------------------------
def _run(
    ctx: typer.Context,
    kind: str,
    model: type[BaseModel],
    payload: dict[str, Any],
    wait: bool,
    timeout: float,
) -> None:
    """Validate the input, start (or attach to) the execution, follow it, print the outcome; exits with the ExitCode.

    ``kind`` is the state machine (provision, deprovision, lifecycle); the execution name starts with the
    lifecycle input's ``operation`` (``update_schedule`` as ``update-schedule``), otherwise with ``kind``.
    """
    options = ctx.ensure_object(Options)
    detail = _validated(model, payload)
    tenant_id = str(detail["tenantId"])
    operation = str(detail.get("operation", kind)).replace("_", "-")
    backend = _backend(options)
    sfn = backend.client("stepfunctions")
    console = _console()
    try:
        execution = start_or_attach(sfn, backend.state_machine_arn(kind), operation, tenant_id, detail)
    except (ClientError, BotoCoreError, RuntimeError) as exc:
        _fail(options, f"cannot start {operation} for {tenant_id}: {exc}")
    if not options.json:
        verb = "started" if execution.started else f"already {execution.status.lower()}:"
        console.print(f"{operation} {tenant_id}: {verb} execution [bold]{execution.name}[/]")
    if wait:

        def show(line: dict[str, Any]) -> None:
            if options.json:
                return
            if line["kind"] == "state":
                path = f" ({line['resourcePath']})" if "resourcePath" in line else ""
                console.print(f"  [green]✓[/] {escape(str(line['state']))}{escape(path)}")
            elif line["kind"] == "failed":
                console.print(f"  [red]✗[/] task failed: {escape(str(line['error']))}")

        try:
            with console.status(f"{operation} {tenant_id}: running", spinner="dots"):
                follow(sfn, execution, show, poll_s=0.25 if backend.local else 1.0, timeout_s=timeout)
        except (ClientError, BotoCoreError) as exc:
            _fail(options, f"cannot follow {execution.name}: {exc}")
    error = None
    if execution.status not in ("SUCCEEDED", "RUNNING"):
        try:
            error = last_error(backend.store(), tenant_id, execution.name)
        except (ClientError, BotoCoreError):
            error = None
    _report(options, console, operation, tenant_id, execution, error, waited=wait)


def _report(
    options: Options,
    console: Console,
    operation: str,
    tenant_id: str,
    execution: Execution,
    error: dict[str, Any] | None,
    waited: bool,
) -> None:
    failed = execution.status not in ("SUCCEEDED", "RUNNING")
    still_running = waited and execution.status == "RUNNING"
    if options.json:
        _emit_json(
            {
                "operation": operation,
                "tenantId": tenant_id,
                "execution": execution.as_dict(),
                "lastError": error,
            }
        )
    elif execution.status == "SUCCEEDED":
        console.print(f"[green]{operation} {tenant_id}: SUCCEEDED[/] ({execution.name})")
    elif execution.status == "RUNNING":
        note = "still running; follow it again with the same command" if still_running else "running"
        console.print(f"{operation} {tenant_id}: {note} ({execution.arn})")
    else:
        console.print(f"[red]{operation} {tenant_id}: {execution.status}[/] ({execution.name})")
        if error:
            where = f" ({error['resource_path']})" if error.get("resource_path") else ""
            if error.get("step"):
                console.print(f"  step: {escape(str(error['step']))}{escape(where)}")
            if error.get("adobe_error_code"):
                console.print(f"  Adobe error code: {escape(str(error['adobe_error_code']))}")
            console.print(f"  message: {escape(str(error.get('message', '')))}")
            if error.get("request_id"):
                console.print(f"  request id: {escape(str(error['request_id']))}")
        console.print(f"  error: {escape(str(execution.error))}")
        console.print(f"  cause: {escape(str(execution.cause))}")
    if failed or still_running:
        raise typer.Exit(ExitCode.FAILED)


@app.command(epilog=EPILOG)
def provision(
    ctx: typer.Context,
    tenant: TenantArg,
    sandbox: Annotated[str | None, typer.Option(help="AEP sandbox [default: the stack's DefaultSandbox].")] = None,
    path: PathOpt = None,
    frequency: Annotated[str | None, typer.Option(help=FREQUENCY_HELP)] = None,
    interval: IntervalOpt = None,
    start_time: Annotated[
        str | None, typer.Option("--start-time", help="First run: epoch seconds or ISO 8601 with offset.")
    ] = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = 900,
) -> None:
    """Provision a tenant: base connection, then per resource path the source, target and dataflow."""
    schedule = _schedule(frequency, interval, _epoch_seconds(start_time))
    payload = {"tenantId": tenant, "sandbox": sandbox, "resourcePaths": path or None, "schedule": schedule}
    _run(ctx, "provision", ProvisionInput, payload, wait, timeout)


@app.command(epilog=EPILOG)
def deprovision(
    ctx: typer.Context,
    tenant: TenantArg,
    purge: Annotated[bool, typer.Option("--purge", help="Also delete the tenant's datasets.")] = False,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = 900,
) -> None:
    """Deprovision a tenant: delete its dataflows, connections and base connection (datasets with --purge)."""
    _run(ctx, "deprovision", DeprovisionInput, {"tenantId": tenant, "purge": purge}, wait, timeout)


@app.command("update-schedule", epilog=EPILOG)
def update_schedule(
    ctx: typer.Context,
    tenant: TenantArg,
    frequency: Annotated[str, typer.Option(help=FREQUENCY_HELP)],
    interval: IntervalOpt = None,
    path: PathOpt = None,
    name: Annotated[str | None, typer.Option(help="New dataflow name.")] = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = 900,
) -> None:
    """Change the schedule of a tenant's dataflows (all, or the --path ones)."""
    payload = {
        "operation": "update_schedule",
        "tenantId": tenant,
        "schedule": _schedule(frequency, interval),
        "resourcePaths": path or None,
        "name": name,
    }
    _run(ctx, "lifecycle", LifecycleInput, payload, wait, timeout)


@app.command("rotate-key", epilog=EPILOG)
def rotate_key(
    ctx: typer.Context,
    tenant: TenantArg,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = 900,
) -> None:
    """Point the tenant's base connection at the Stripe key now in its secret (verified by explore)."""
    _run(ctx, "lifecycle", LifecycleInput, {"operation": "rotate_key", "tenantId": tenant}, wait, timeout)


def _flow_state_command(operation: str, help_text: str) -> None:
    """``disable`` and ``enable``: the lifecycle operation on the tenant's dataflows (all, or the --path ones)."""

    @app.command(operation, help=help_text, epilog=EPILOG)
    def command(
        ctx: typer.Context,
        tenant: TenantArg,
        path: PathOpt = None,
        wait: WaitOpt = True,
        timeout: TimeoutOpt = 900,
    ) -> None:
        payload = {"operation": operation, "tenantId": tenant, "resourcePaths": path or None}
        _run(ctx, "lifecycle", LifecycleInput, payload, wait, timeout)


_flow_state_command(
    "disable", "Disable a tenant's dataflows (e.g. a suspended tenant); health checks then report DISABLED."
)
_flow_state_command("enable", "Enable a tenant's dataflows again.")


# ---- reading state -----------------------------------------------------------------------------------------
_HIDDEN = ("pk", "sk", "gsi1pk", "gsi1sk")


def _public(item: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if item is None else {k: v for k, v in item.items() if k not in _HIDDEN}


def _error_text(item: dict[str, Any]) -> str:
    error = item.get("last_error")
    if not isinstance(error, dict):
        return ""
    code = f"{error['adobe_error_code']}: " if error.get("adobe_error_code") else ""
    step = f"{error['step']}: " if error.get("step") else ""
    return f"{step}{code}{error.get('message', error.get('error', ''))}"


def _rows(backend: Backend, tenant_id: str | None) -> list[dict[str, Any]]:
    store = backend.store()
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
                "tableVersions": evolve.table_versions(dataflows),
            }
        )
    return rows


#: (heading, attribute) of the ID columns: the base connection on the tenant row, the rest on dataflow rows.
_ID_COLUMNS = (
    ("base / flow id", "flow_id"),
    ("source conn", "source_connection_id"),
    ("target conn", "target_connection_id"),
    ("dataset", "dataset_id"),
    ("mapping set", "mapping_set_id"),
)


def _status_table(rows: list[dict[str, Any]], title: str, wide: bool) -> Table:
    """Tenant and dataflow rows; ``wide`` adds every Adobe ID and the health reason."""
    ids = _ID_COLUMNS if wide else _ID_COLUMNS[:1]
    table = Table(title=title)
    for column in ("tenant", "resource path", "status", "health", *(h for h, _ in ids), "last error", "table"):
        table.add_column(column, overflow="fold")
    for row in rows:
        tenant = row["tenant"] or {}
        blanks = [""] * (len(ids) - 1)
        table.add_row(
            row["tenantId"], "(tenant)", str(tenant.get("status", "-")), "",
            str(tenant.get("base_connection_id", "")), *blanks, escape(_error_text(tenant)), "",
        )  # fmt: skip
        for item in row["dataflows"]:
            health = str(item.get("health_status", "-"))
            if wide and item.get("health_reason"):
                health += f": {item['health_reason']}"
            if item.get("flow_state") == "disabled":
                health += " (disabled)"
            table.add_row(
                "", str(item.get("resource_path")), str(item.get("status", "-")), escape(health),
                *(str(item.get(attr, "")) for _, attr in ids), escape(_error_text(item)),
                evolve.version_text(row.get("tableVersions", {}).get(str(item.get("resource_path")))),
            )  # fmt: skip
    return table


@app.command(epilog=EPILOG)
def status(
    ctx: typer.Context,
    tenant: Annotated[
        str | None, typer.Argument(help="Tenant id (all tenants when omitted).", callback=_tenant)
    ] = None,
    wide: WideOpt = False,
) -> None:
    """Tenants x resource paths: Adobe IDs, provisioning status, health status and last error (DynamoDB)."""
    options = ctx.ensure_object(Options)
    backend = _backend(options)
    try:
        rows = _rows(backend, tenant)
    except (ClientError, BotoCoreError) as exc:
        _fail(options, f"cannot read {backend.outputs['TableName']}: {exc}")
    if options.json:
        _emit_json({"tenants": rows})
    elif rows:
        _console().print(_status_table(rows, f"{backend.outputs['TableName']}: tenant x resource path", wide))
    else:
        _console().print(f"no tenant {tenant}" if tenant else "no tenants")
    if tenant and not rows:
        raise typer.Exit(ExitCode.FAILED)


@app.command(epilog=EPILOG)
def health(
    ctx: typer.Context,
    tenant: Annotated[
        str | None, typer.Argument(help="Tenant id (every ACTIVE dataflow when omitted).", callback=_tenant)
    ] = None,
    wide: WideOpt = False,
) -> None:
    """Run a health check now (invokes the health-check function) and show each dataflow's health.

    Exits 3 when a dataflow is FAILED, STALE, MISSING or DEGRADED.
    """
    options = ctx.ensure_object(Options)
    backend = _backend(options)
    payload = {"tenantId": tenant} if tenant else {}
    try:
        answer = backend.client("lambda").invoke(
            FunctionName=backend.health_function, Payload=json.dumps(payload).encode()
        )
        result = json.loads(answer["Payload"].read() or b"null")
        rows = _rows(backend, tenant)
    except (ClientError, BotoCoreError, ValueError) as exc:
        _fail(options, f"health check failed: {exc}")
    if answer.get("FunctionError"):
        message = result.get("errorMessage") if isinstance(result, dict) else result
        error_type = result.get("errorType") if isinstance(result, dict) else "error"
        _fail(options, f"health check failed: {error_type}: {message}")
    unhealthy = [
        {
            "tenantId": row["tenantId"],
            "resourcePath": d.get("resource_path"),
            "health": d.get("health_status"),
        }
        for row in rows
        for d in row["dataflows"]
        if d.get("health_status") in UNHEALTHY
    ]
    if options.json:
        _emit_json({"result": result, "unhealthy": unhealthy, "tenants": rows})
    else:
        console = _console()
        console.print(f"health check: {escape(json.dumps(result, default=str))}")
        if rows:
            console.print(_status_table(rows, "health of tenant x resource path", wide))
        console.print(
            f"[red]{len(unhealthy)} unhealthy dataflow(s)[/]" if unhealthy else "[green]no unhealthy dataflow[/]"
        )
    if unhealthy:
        raise typer.Exit(ExitCode.UNHEALTHY)


@app.command(epilog=EPILOG)
def data(
    ctx: typer.Context,
    tenant: TenantArg,
    path: Annotated[str, typer.Argument(help="Stripe resource path: charges, refunds, subscriptions, ...")],
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows to show at most.")] = 5,
    json_output: Annotated[bool, typer.Option("--json", help="Rows as JSON on stdout.", show_default=False)] = False,
) -> None:
    """Rows of a tenant's dataset for a resource path, as the flow runs wrote them (--local only: read from the
    AEP simulator's Parquet batches; in AEP, query the dataset with Query Service)."""
    from local.cli.backend import read_stack_file
    from local.cli.data import dataset_rows
    from stripe_aep.resources import get_resource

    options = ctx.ensure_object(Options)
    if not options.local:
        raise typer.BadParameter("reading dataset rows needs --local (in AEP use Query Service)", param_hint="--local")
    try:
        resource = get_resource(path)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="PATH") from None
    backend = _backend(options)
    item = next((d for d in backend.store().tenant_items(tenant)[1] if d.get("resource_path") == path), None)
    if item is None or not item.get("dataset_id"):
        _fail(options, f"tenant {tenant} has no dataset for {path}")
    state_dir = read_stack_file(options.stack_file).get("stateDir")
    if not state_dir:
        _fail(options, f"{options.stack_file} names no simulator state folder (restart `stripe-aep local up`)")
    rows = dataset_rows(Path(state_dir), str(item["dataset_id"]), limit)
    if options.json or json_output:
        _emit_json({"tenantId": tenant, "resourcePath": path, "datasetId": item["dataset_id"], "rows": rows})
        return
    console = _console()
    console.print(f"dataset {item['dataset_id']} ({tenant} / {path}): {len(rows)} row(s) shown")
    for row in rows:
        namespaces = [v for k, v in row.items() if k.startswith("_") and k != "_id" and isinstance(v, dict)]
        fields: dict[str, Any] = next((n[resource.group] for n in namespaces if resource.group in n), {})
        console.print_json(
            data={**{k: v for k, v in row.items() if k not in fields and not isinstance(v, dict)}, **fields}
        )


# ---- local up / down ---------------------------------------------------------------------------------------
@local_app.command("up", epilog=EPILOG)
def local_up(
    ctx: typer.Context,
    background: Annotated[
        bool, typer.Option("--background", "-d", help="Run detached; logs in .local/stack.log.")
    ] = False,
    seed_demo: Annotated[
        bool, typer.Option("--seed-demo", help="Store the demo tenants' (acme, globex) Stripe keys.")
    ] = False,
) -> None:
    """Start moto + the AEP simulator with the template's resources; write the endpoints to the stack file."""
    stack_file = ctx.ensure_object(Options).stack_file
    console = _console()

    def announce(document: dict[str, Any]) -> None:
        console.print(
            f"local stack up (pid {document['pid']}): moto {document['awsEndpoint']}, "
            f"AEP simulator {document['simulatorUrl']}; endpoints in {stack_file}"
        )
        if document["seededTenants"]:
            console.print(f"demo tenants with Stripe keys: {', '.join(document['seededTenants'])}")
        if not background:
            console.print("Ctrl-C (or `stripe-aep local down`) stops it")

    try:
        if background:
            announce(local_stack.start_background(stack_file, seed_demo, stack_file.parent / "stack.log"))
        else:
            local_stack.run_foreground(stack_file, seed_demo, announce)
    except BackendError as exc:
        raise typer.BadParameter(str(exc), param_hint="--stack-file") from None


@local_app.command("down", epilog=EPILOG)
def local_down(ctx: typer.Context) -> None:
    """Stop the local stack that serves the stack file."""
    options = ctx.ensure_object(Options)
    try:
        pid = local_stack.stop(options.stack_file)
    except BackendError as exc:
        _fail(options, str(exc))
    _console().print(f"local stack (pid {pid}) stopped" if pid else "no local stack was running")


# ---- table versions: upgrade and field selection (local/cli/evolve.py) ------------------------------------
@app.command(epilog=EPILOG)
def upgrade(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Argument(help="Tenant id (or --all).", callback=_tenant)] = None,
    all_tenants: Annotated[bool, typer.Option("--all", help="Every ACTIVE tenant.", show_default=False)] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report the Adobe writes, make none.", show_default=False)
    ] = False,
    batch: Annotated[int, typer.Option("--batch", help="Tenants upgraded at once (--all).", min=1)] = 10,
    timeout: TimeoutOpt = 900,
) -> None:
    """Bring tenants' field groups, mapping sets and flows to the current table version (lifecycle upgrade)."""
    options = ctx.ensure_object(Options)
    if bool(tenant) == all_tenants:
        _fail(options, "give a TENANT or --all")
    backend = _backend(options)
    console = _console()

    def show(report: dict[str, Any]) -> None:
        if not options.json:
            colour = "green" if report["status"] == "SUCCEEDED" else "red"
            console.print(f"[{colour}]{escape(evolve.upgrade_line(report))}[/]")

    try:
        tenants = evolve.upgrade_targets(backend, tenant)
        payloads = evolve.upgrade_payloads(tenants, dry_run)
        reports = evolve.run_lifecycle_batches(backend, payloads, batch, timeout, show)
    except (ClientError, BotoCoreError, InputValidationError) as exc:
        _fail(options, f"cannot upgrade: {exc}")
    if options.json:
        _emit_json({"tenants": reports})
    if any(r["status"] != "SUCCEEDED" for r in reports):
        raise typer.Exit(ExitCode.FAILED)


@app.command(epilog=EPILOG)
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
        payload = evolve.fields_payload(tenant, path, include or [], exclude or [])
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    _run(ctx, "lifecycle", LifecycleInput, payload, wait, timeout)


def main() -> None:
    """Console script entry point (``stripe-aep``)."""
    app()


__all__ = ["ExitCode", "app", "main"]
